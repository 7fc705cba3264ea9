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
it, and reports what a resume would drop (torn tails, corrupt records, lost
files, stale files), rebuild (indexes) or refuse (a newer format, a corrupt
manifest, state or queue store), naming each file and offset: the queues,
the in-flight journal, the fingerprints (or the Bloom filter's files) and the
feed commit log. It says OK only when a resume takes every request,
fingerprint and committed item the files hold. On a terminal, a progress
line counts the records read.

Exit status:
  0  OK: a resume takes everything
  1  a resume would lose requests, fingerprints or committed items, or
     refuse the job (LOSS and REFUSE lines)
  2  usage error
  3  nothing lost, but a resume cuts torn tails of writes a crash
     interrupted (never acknowledged), rebuilds an index, or tidies files

'frontier jobdir repair' writes what a resume would make of the job now,
keeping every damaged file aside.`,
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
			if err == nil {
				err = verdictError(v)
			}
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}

// verdictError is the error giving jobdir verify's exit status for v: nil
// when OK, errLossless when nothing is lost, errReported otherwise.
func verdictError(v *jobtools.Verification) error {
	switch v.Verdict {
	case jobtools.VerdictOK:
		return nil
	case jobtools.VerdictLossless:
		return errLossless
	}
	return errReported
}

// findingLabel is the first word of a finding's line.
func findingLabel(f jobtools.Finding) string {
	switch {
	case f.Fatal:
		return "REFUSE"
	case f.Lost():
		return "LOSS"
	case f.Kind == jobtools.KindRebuilt:
		return "rebuild"
	case f.Kind == jobtools.KindCleanup:
		return "tidy"
	}
	return "drop"
}

func printVerify(w io.Writer, v *jobtools.Verification) {
	for _, f := range v.Findings {
		fmt.Fprintf(w, "%-7s %s", findingLabel(f), f.File)
		if f.Offset >= 0 {
			fmt.Fprintf(w, " at offset %d", f.Offset)
		}
		fmt.Fprintf(w, ": %s", f.What)
		if f.DropBytes > 0 || f.DropRecords > 0 {
			fmt.Fprintf(w, " (%d bytes, %d records)", f.DropBytes, f.DropRecords)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d files, %d records read: ", v.Files, v.Records)
	switch v.Verdict {
	case jobtools.VerdictRefused:
		fmt.Fprintln(w, "a resume would refuse this job")
	case jobtools.VerdictLoss:
		fmt.Fprintf(w, "a resume would LOSE data: it would drop %d bytes and %d request records, and what the LOSS lines say\n", v.DropBytes, v.DropRecords)
	case jobtools.VerdictLossless:
		fmt.Fprintf(w, "nothing lost: a resume would drop %d bytes of writes never acknowledged and rebuild or tidy what is listed\n", v.DropBytes)
	default:
		fmt.Fprintln(w, "OK, a resume takes everything")
	}
}
