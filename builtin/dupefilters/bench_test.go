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
// fingerprint file holds 1M fingerprints (written in 1000 flushes), and
// reports the load time and the memory the set takes per fingerprint.
//
//	go test ./builtin/dupefilters -run '^$' -bench LoadFingerprints -benchtime 5x
func BenchmarkLoadFingerprints(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	fps := make([]framework.Fingerprint, n)
	for i := range fps {
		fps[i] = testFP(i)
	}
	data := []byte(seenMagic)
	var seq uint32
	for i := 0; i < n; i += n / 1000 {
		data, seq = appendSeenFrames(data, fps[i:i+n/1000], seq)
	}
	if err := os.WriteFile(filepath.Join(dir, jobdir.FingerprintsFile), data, 0o644); err != nil {
		b.Fatal(err)
	}
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
		f.Close("")
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/load")
	b.ReportMetric(float64(len(data))/n, "disk-bytes/fp")
}
