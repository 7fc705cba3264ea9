package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/cmd/frontier/internal/jobtools"
	"github.com/frontier-go/frontier/jobdir"
)

const jobdirUsage = `usage: frontier jobdir COMMAND [--json] DIR

commands:
  inspect DIR               what the job holds: pending by slot and priority, in flight,
                            fingerprints, spider state keys, format version, bytes on disk
  export DIR                every pending and in-flight request as a JSON line
  verify DIR                read every file; report what a resume would drop or refuse
                            (exit status 1 when it would drop or refuse anything)
  import-seen DIR [FILE]    import Scrapy's requests.seen (FILE, default DIR/requests.seen)
                            into DIR's fingerprint file

The job directory is never changed, except by import-seen.
`

// runJobdir adapts jobdirCommand to the command table.
func runJobdir(_ context.Context, e *env, args []string) error {
	switch jobdirCommand(args, e.stdout, e.stderr) {
	case 0:
		return nil
	case 2:
		return errUsage
	default:
		return errJobdirFailed
	}
}

// errJobdirFailed marks a jobdir command that failed and said why.
var errJobdirFailed = fmt.Errorf("%w: jobdir", errUsage)

// jobdirCommand runs "frontier jobdir ..." and returns the exit status: 0
// done, 1 failed (or verify found problems), 2 usage.
func jobdirCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, jobdirUsage)
		return 2
	}
	fs := flag.NewFlagSet("jobdir "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, jobdirUsage) }
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	rest := fs.Args()
	want := 1
	if args[0] == "import-seen" {
		want = 2
	}
	if len(rest) < 1 || len(rest) > want {
		fmt.Fprint(stderr, jobdirUsage)
		return 2
	}
	dir := rest[0]
	fail := func(err error) int {
		fmt.Fprintln(stderr, "frontier jobdir "+args[0]+":", err)
		return 1
	}
	switch args[0] {
	case "inspect":
		rep, err := jobtools.Inspect(dir)
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			return encodeJSON(stdout, rep, fail)
		}
		printInspect(stdout, rep)
	case "export":
		sum, err := jobtools.Export(dir, stdout)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "exported %d pending and %d in-flight requests", sum.Pending, sum.InFlight)
		if sum.Unreadable > 0 {
			fmt.Fprintf(stderr, "; %d records could not be read", sum.Unreadable)
		}
		fmt.Fprintln(stderr)
	case "verify":
		v, err := jobtools.Verify(dir)
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			if code := encodeJSON(stdout, v, fail); code != 0 {
				return code
			}
		} else {
			printVerify(stdout, v)
		}
		if !v.OK() {
			return 1
		}
	case "import-seen":
		src := filepath.Join(dir, jobdir.ScrapySeenFile)
		if len(rest) == 2 {
			src = rest[1]
		}
		imp, err := dupefilters.ImportScrapySeen(dir, src)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "imported %d fingerprints from %s (%d lines, %d salvaged, %d invalid, torn last line: %t) into %s\n",
			imp.Fingerprints, src, imp.Lines, imp.Salvaged, imp.Invalid, imp.TornLastLine, filepath.Join(dir, jobdir.FingerprintsFile))
	default:
		fmt.Fprintf(stderr, "frontier jobdir: unknown command %q\n", args[0])
		fmt.Fprint(stderr, jobdirUsage)
		return 2
	}
	return 0
}

func encodeJSON(w io.Writer, v any, fail func(error) int) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(err)
	}
	return 0
}

func printInspect(w io.Writer, r *jobtools.Report) {
	fmt.Fprintf(w, "job directory  %s\n", r.Dir)
	if r.HasManifest {
		fmt.Fprintf(w, "format         %d (created %s by %s)\n", r.Manifest.Format, r.Manifest.Created.Format("2006-01-02 15:04:05Z07:00"), r.Manifest.CreatedBy)
		fmt.Fprintf(w, "priority queue %s\n", r.Manifest.PriorityQueue)
	} else {
		fmt.Fprintf(w, "format         none yet (Scrapy's files only)\n")
	}
	switch {
	case r.Running:
		fmt.Fprintf(w, "status         running: PID %d on %s since %s (figures are a snapshot)\n", r.Lock.PID, r.Lock.Host, r.Lock.Started.Format("2006-01-02 15:04:05Z07:00"))
	case r.Lock.PID != 0:
		fmt.Fprintf(w, "status         stopped without a clean close (PID %d on %s)\n", r.Lock.PID, r.Lock.Host)
	default:
		fmt.Fprintf(w, "status         stopped\n")
	}
	fmt.Fprintf(w, "pending        %d requests in %d buckets\n", r.Pending, len(r.Buckets))
	fmt.Fprintf(w, "in flight      %d (handed out again first on resume)", r.InFlight)
	if r.Ghosts > 0 {
		fmt.Fprintf(w, "; %d stale copies in the queues are dropped on resume", r.Ghosts)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "fingerprints   %d", r.Fingerprints)
	if r.FingerprintsFrom != "" {
		fmt.Fprintf(w, " (%s)", r.FingerprintsFrom)
	}
	fmt.Fprintln(w)
	if r.StateErr != "" {
		fmt.Fprintf(w, "spider state   unreadable: %s\n", r.StateErr)
	} else {
		keys := "keys"
		if len(r.StateKeys) == 1 {
			keys = "key"
		}
		fmt.Fprintf(w, "spider state   %d %s", len(r.StateKeys), keys)
		if len(r.StateKeys) > 0 {
			fmt.Fprintf(w, ": %s", strings.Join(r.StateKeys, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "on disk        %d bytes in %d files\n", r.Bytes, r.Files)
	switch {
	case r.Store != nil && r.Store.Err != "":
		fmt.Fprintf(w, "queue store    unreadable (a resume would refuse the job): %s\n", r.Store.Err)
	case r.Store != nil:
		segments := "segments"
		if r.Store.Segments == 1 {
			segments = "segment"
		}
		fmt.Fprintf(w, "queue store    %d %s\n", r.Store.Segments, segments)
		if n := len(r.Store.Unclaimed); n > 0 {
			pending := 0
			for _, u := range r.Store.Unclaimed {
				pending += u.Pending
			}
			fmt.Fprintf(w, "               %d buckets (%d requests) not in the bucket journal: a resume drops them\n", n, pending)
		}
		for _, d := range r.Store.Drops {
			fmt.Fprintf(w, "               a resume drops %s\n", d)
		}
	case r.QueueLayout == jobtools.LayoutFiles:
		fmt.Fprintf(w, "queue layout   a file or directory per bucket\n")
	}
	if len(r.Buckets) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pending\tpriority\tstart\tqueue\t slot\t")
	for _, b := range r.Buckets {
		start := ""
		if b.Start {
			start = "yes"
		}
		slot := b.Slot
		if b.Err != "" {
			slot += " (unreadable: " + b.Err + ")"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t %s\t\n", b.Pending, b.Priority, start, b.Kind, slot)
	}
	tw.Flush()
}

func printVerify(w io.Writer, v *jobtools.Verification) {
	for _, f := range v.Findings {
		kind := "drop"
		if f.Fatal {
			kind = "REFUSE"
		}
		fmt.Fprintf(w, "%-6s %s", kind, f.File)
		if f.Offset >= 0 {
			fmt.Fprintf(w, " at offset %d", f.Offset)
		}
		fmt.Fprintf(w, ": %s", f.What)
		if f.DropBytes > 0 || f.DropRecords > 0 {
			fmt.Fprintf(w, " (%d bytes, %d records)", f.DropBytes, f.DropRecords)
		}
		fmt.Fprintln(w)
	}
	switch {
	case v.Fatal:
		fmt.Fprintf(w, "%d files, %d records read: a resume would refuse this job\n", v.Files, v.Records)
	case !v.OK():
		fmt.Fprintf(w, "%d files, %d records read: a resume would drop %d bytes and %d records\n", v.Files, v.Records, v.DropBytes, v.DropRecords)
	default:
		fmt.Fprintf(w, "%d files, %d records read: OK, a resume takes everything\n", v.Files, v.Records)
	}
}
