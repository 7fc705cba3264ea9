package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/jobdir"
)

func newJobdirImportSeenCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "import-seen DIR [FILE]",
		Short: "Import Scrapy's requests.seen into a job's fingerprint file (writes to DIR)",
		Long: `Import-seen reads Scrapy's requests.seen (FILE, default DIR/requests.seen) and
adds its fingerprints to the fingerprint file of job directory DIR, replacing
that file atomically; the fingerprints it already holds are kept. Unlike the
other jobdir commands, it changes the job. Invalid lines are skipped and
counted; a torn last line is dropped. On a terminal, a progress line counts
the bytes read.`,
		Example: `  frontier jobdir import-seen /tmp/job
  frontier jobdir import-seen /tmp/job scrapy-job/requests.seen`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := args[0]
			src := filepath.Join(dir, jobdir.ScrapySeenFile)
			if len(args) == 2 {
				src = args[1]
			}
			p := e.progress("import-seen: bytes")
			imp, err := dupefilters.ImportScrapySeenProgress(dir, src, p.update)
			p.done()
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "imported %d new fingerprints from %s (%d lines, %d salvaged, %d invalid, torn last line: %t); %s now holds %d\n",
				imp.Fingerprints, src, imp.Lines, imp.Salvaged, imp.Invalid, imp.TornLastLine, filepath.Join(dir, jobdir.FingerprintsFile), imp.Total)
			return nil
		},
	}
}
