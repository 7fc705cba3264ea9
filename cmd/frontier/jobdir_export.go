package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/cmd/frontier/internal/jobtools"
)

func newJobdirExportCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "export DIR",
		Short: "Print every pending and in-flight request as a JSON line",
		Long: `Export prints every request of a job directory, pending or in flight, as one
JSON object a line on stdout, without changing the job; a summary goes to
stderr.`,
		Example: `  frontier jobdir export /tmp/job > requests.jsonl`,
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			sum, err := jobtools.Export(args[0], e.stdout)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "exported %d pending and %d in-flight requests", sum.Pending, sum.InFlight)
			if sum.Unreadable > 0 {
				fmt.Fprintf(e.stderr, "; %d records could not be read", sum.Unreadable)
			}
			fmt.Fprintln(e.stderr)
			return nil
		},
	}
}
