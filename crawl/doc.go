// Package crawl is frontier's front door for Go programs: [Open] builds a
// crawl from a settings file and overrides (the registry with the built-ins
// and the plugins PLUGINS declares, a logger, the spider) and opens the
// scheduler SCHEDULER names, with its job directory when JOBDIR is set; the
// returned [Frontier] takes requests in ([Frontier.Enqueue]), hands them out
// ([Frontier.Next]) and is told when they are done ([Frontier.Finish]).
//
//	f, err := crawl.Open(ctx, crawl.Options{SettingsFile: "settings.yaml", Set: []string{"JOBDIR=crawls/books-1"}})
//	if err != nil {
//		return err
//	}
//	defer f.Close()
//	f.Enqueue(framework.MustRequest("https://example.com/"))
//	for {
//		r, err := f.Next()
//		if r == nil || err != nil {
//			break
//		}
//		// fetch r, enqueue what it links to, then:
//		f.Finish(r, nil)
//	}
//
// # Durability
//
// With a job directory, a request Enqueue accepted is handed to the
// operating system within JOBDIR_FLUSH_INTERVAL (200 ms by default) whatever
// the caller does next: a Frontier flushes in the background. From then on
// it survives the death of the process (SIGKILL, a crash; a power cut
// depends on JOBDIR_FSYNC, see docs/jobdir.md). [Frontier.Flush] and
// [Frontier.Close] make everything accepted so far durable at once: call
// Close before the program exits. A request handed out by Next and not
// finished is handed out again, marked Redelivered, when the job resumes.
//
// The crawl engine, which downloads and runs the spider's callbacks, will
// join this package.
package crawl
