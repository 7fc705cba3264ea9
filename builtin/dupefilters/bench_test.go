package dupefilters

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// BenchmarkLoadFingerprints measures a resume: opening a job directory whose
// fingerprint file holds 1M fingerprints, written in flush order (1000
// flushes, as after a crash) or in set order (as a clean close leaves it),
// and reports the load time and the memory the set takes per fingerprint.
//
//	go test ./builtin/dupefilters -run '^$' -bench LoadFingerprints -benchtime 5x
func BenchmarkLoadFingerprints(b *testing.B) {
	const n = 1_000_000
	fps := make([]framework.Fingerprint, n)
	for i := range fps {
		fps[i] = testFP(i)
	}
	for _, order := range []string{"flush-order", "set-order"} {
		b.Run(order, func(b *testing.B) {
			dir := b.TempDir()
			path := filepath.Join(dir, jobdir.FingerprintsFile)
			if order == "flush-order" {
				data := []byte(seenMagic)
				var seq uint32
				for i := 0; i < n; i += n / 1000 {
					data, seq = appendSeenFrames(data, fps[i:i+n/1000], seq, false)
				}
				if err := os.WriteFile(path, data, 0o644); err != nil {
					b.Fatal(err)
				}
			} else {
				set := newFPSet(n)
				for i := range fps {
					set.Add(&fps[i])
				}
				if err := writeOrdered(path, set); err != nil {
					b.Fatal(err)
				}
			}
			st, _ := os.Stat(path)
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				runtime.GC()
				var m0 runtime.MemStats
				runtime.ReadMemStats(&m0)
				start := time.Now()
				f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}, JobDir: dir})
				if err := f.Open(context.Background()); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				if f.Len() != n {
					b.Fatalf("loaded %d", f.Len())
				}
				runtime.GC()
				var m1 runtime.MemStats
				runtime.ReadMemStats(&m1)
				b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "heap-bytes/fp")
				b.ReportMetric(float64(f.seen.Bytes())/n, "set-bytes/fp")
				f.disk.unordered = 0 // keep the file as it is
				f.Close("")
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/load")
			b.ReportMetric(float64(st.Size())/n, "disk-bytes/fp")
		})
	}
}
