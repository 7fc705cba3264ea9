package feed

import (
	"path/filepath"
	"testing"

	"github.com/frontier-go/frontier/internal/recordio"
)

// BenchmarkCommit measures a JSON lines feed with a job directory: batches
// of 64 items of about 200 bytes, one Commit per batch, under each fsync
// policy. It reports items/s.
func BenchmarkCommit(b *testing.B) {
	type page struct {
		URL   string   `json:"url"`
		Title string   `json:"title"`
		Price float64  `json:"price"`
		Tags  []string `json:"tags"`
	}
	const batch = 64
	for _, mode := range []recordio.FsyncMode{recordio.FsyncNever, recordio.FsyncInterval, recordio.FsyncAlways} {
		b.Run(mode.String(), func(b *testing.B) {
			dir := b.TempDir()
			s := mustOpen(b, []Spec{{Path: filepath.Join(dir, "items.jsonl"), Format: JSONLines}},
				Options{Job: job(filepath.Join(dir, "job"), mode)})
			item := page{URL: "https://books.toscrape.com/catalogue/a-light-in-the-attic_1000/index.html",
				Title: "A Light in the Attic", Price: 51.77, Tags: []string{"poetry", "classics", "in stock"}}
			id := uint64(0)
			for b.Loop() {
				for range batch {
					if err := s.Add(item); err != nil {
						b.Fatal(err)
					}
				}
				id++
				if err := s.Commit([]uint64{id}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(id*batch)/b.Elapsed().Seconds(), "items/s")
			mustClose(b, s)
		})
	}
}
