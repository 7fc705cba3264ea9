package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/internal/demosite"
	"github.com/frontier-go/frontier/spiders"
)

// The demo's job directory and item file, unless -s JOBDIR or -o/-O say
// otherwise.
const (
	demoJobDir = "crawls/demo"
	demoItems  = "crawls/demo.jsonl"
)

func newDemoCommand(e *env) *cobra.Command {
	var (
		addr  string
		fresh bool
		f     crawlFlags
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Crawl the built-in demo site, with pause and resume",
		Long: `Demo serves a synthetic site of 3,000 pages on a fixed loopback address (some
pages slow, some failing, some redirecting, a robots.txt that disallows a
part) and crawls it with the links spider as a job: JOBDIR=` + demoJobDir + `,
items in ` + demoItems + `.

Press Ctrl-C: the requests in flight finish, everything is written, and the
command tells you how to resume. Run it again: the crawl goes on where it
stopped. Kill it with kill -9 instead: the next run fetches again only what
was in flight, and the item file still holds every page once. The site is
served on the same address each time, so the job's URLs still resolve.

--fresh removes the demo's job directory and item file first.`,
		Example: `  frontier demo
  frontier demo --fresh -s CONCURRENT_REQUESTS=64
  frontier demo --addr 127.0.0.1:9000 -O /tmp/demo.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			specs, err := f.feeds()
			if err != nil {
				return err
			}
			set := map[string]any{}
			jobdir, err := e.settings.GetString("JOBDIR")
			if err != nil {
				return err
			}
			if jobdir == "" {
				jobdir = demoJobDir
				set["JOBDIR"] = jobdir
				if len(specs) == 0 {
					specs = []feed.Spec{{Path: demoItems, Format: feed.JSONLines}}
				}
				if fresh {
					if err := os.RemoveAll(jobdir); err != nil {
						return err
					}
					if err := os.Remove(demoItems); err != nil && !os.IsNotExist(err) {
						return err
					}
				}
			} else if fresh {
				return usageErrorf("--fresh removes only the demo's own job directory (%s); remove %s yourself", demoJobDir, jobdir)
			}
			for _, s := range specs {
				if s.Path != "-" {
					if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
						return err
					}
				}
			}
			site := demosite.New(demosite.Demo())
			srv, err := site.Serve(context.WithoutCancel(cmd.Context()), addr) // served until the crawl has finished its requests in flight
			if err != nil {
				return err
			}
			defer srv.Close()
			sp, err := spiders.New("links", map[string]string{"start_urls": srv.URL() + "/"})
			if err != nil {
				return err
			}
			e.log.Info().Msgf("Demo site on %s (%d pages); crawling with JOBDIR=%s", srv.URL(), site.Config().Pages, jobdir)
			if err := runCrawl(cmd.Context(), e, sp, specs, set); err != nil {
				return err
			}
			if len(specs) > 0 {
				e.log.Info().Msgf("Items in %s; run with --fresh to start over", specs[0].Path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8118", "loopback `HOST:PORT` the demo site is served on (keep it the same to resume)")
	cmd.Flags().BoolVar(&fresh, "fresh", false, "remove the demo's job directory and item file first")
	cmd.Flags().StringArrayVarP(&f.appends, "output", "o", nil, "append items to `FILE` instead of "+demoItems)
	cmd.Flags().StringArrayVarP(&f.overwrite, "overwrite-output", "O", nil, "write items to `FILE` instead of "+demoItems)
	return cmd
}
