package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/cmd/frontier/internal/jobtools"
)

func newJobdirVerifyCommand(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "verify DIR",
		Short: "Read every file of a job; report what a resume would drop or refuse",
		Long: `Verify reads every file and every record of a job directory, without changing
it, and reports what a resume would drop (torn tails, corrupt records, stale
files) or refuse (a newer format, a corrupt manifest, state or queue store).
The exit status is 1 when a resume would drop or refuse anything. On a
terminal, a progress line counts the records read.`,
		Example: `  frontier jobdir verify /tmp/job
  frontier jobdir verify /tmp/job --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			p := e.progress("verify: records")
			v, err := jobtools.Verify(args[0], p.update)
			p.done()
			if err != nil {
				return err
			}
			if asJSON {
				err = printJSON(e.stdout, v)
			} else {
				printVerify(e.stdout, v)
			}
			if err == nil && !v.OK() {
				err = errReported
			}
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
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
