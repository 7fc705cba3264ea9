package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/cmd/frontier/internal/jobtools"
)

func newJobdirInspectCommand(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "inspect DIR",
		Short: "What a job holds: pending by slot and priority, in flight, fingerprints",
		Long: `Inspect prints what a job directory holds without changing it: its format,
whether it is running, the pending requests by download slot and priority, the
requests in flight (handed out again first on resume), the fingerprints, the
spider state's keys and the bytes on disk. With --json, one JSON object, which
leaves out what the job does not have (no manifest, no lock, no buckets).`,
		Example: `  frontier jobdir inspect /tmp/job
  frontier jobdir inspect /tmp/job --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			rep, err := jobtools.Inspect(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, rep)
			}
			printInspect(e.stdout, rep)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}

func printInspect(w io.Writer, r *jobtools.Report) {
	fmt.Fprintf(w, "job directory  %s\n", r.Dir)
	if r.Manifest != nil {
		fmt.Fprintf(w, "format         %d (created %s by %s)\n", r.Manifest.Format, r.Manifest.Created.Format("2006-01-02 15:04:05Z07:00"), r.Manifest.CreatedBy)
		fmt.Fprintf(w, "priority queue %s\n", r.Manifest.PriorityQueue)
	} else {
		fmt.Fprintf(w, "format         none yet (Scrapy's files only)\n")
	}
	switch {
	case r.Running && r.Lock != nil:
		fmt.Fprintf(w, "status         running: PID %d on %s since %s (figures are a snapshot)\n", r.Lock.PID, r.Lock.Host, r.Lock.Started.Format("2006-01-02 15:04:05Z07:00"))
	case r.Running:
		fmt.Fprintf(w, "status         running (figures are a snapshot)\n")
	case r.Lock != nil:
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
	printQueueStore(w, r)
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

// printQueueStore prints what Inspect found of the queue store, or the
// queue layout when the buckets are files.
func printQueueStore(w io.Writer, r *jobtools.Report) {
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
}
