package dupefilters

import (
	"context"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// BenchmarkBloomRequestSeen measures RequestSeen on a Bloom filter sized for
// 10M fingerprints at 1% (the fingerprinter hashes the URL), and on the
// exact RFP filter for comparison, and reports the filter's bytes per
// fingerprint at capacity.
//
//	go test ./builtin/dupefilters -run '^$' -bench RequestSeen -benchtime 2000000x
func BenchmarkBloomRequestSeen(b *testing.B) {
	const capacity = 10_000_000
	reqs := make([]*framework.Request, 1<<16)
	for i := range reqs {
		reqs[i] = framework.MustRequest(page(i))
	}
	b.Run("bloom", func(b *testing.B) {
		f, err := NewBloomDupeFilter(BloomConfig{Fingerprinter: urlFP{}, Capacity: capacity, ErrorRate: 0.01})
		if err != nil {
			b.Fatal(err)
		}
		_ = f.Open(context.Background())
		b.ResetTimer()
		for i := range b.N {
			if _, err := f.RequestSeen(reqs[i%len(reqs)]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		m, _ := f.Bits()
		b.ReportMetric(float64(m)/8/capacity, "bytes/fp")
	})
	b.Run("rfp", func(b *testing.B) {
		f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}})
		_ = f.Open(context.Background())
		b.ResetTimer()
		for i := range b.N {
			if _, err := f.RequestSeen(reqs[i%len(reqs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBloomAdd measures adding fingerprints to a Bloom filter of 100M
// capacity at 1% (the default settings, 114 MiB), fingerprints already
// computed, and its bytes per fingerprint.
func BenchmarkBloomAdd(b *testing.B) {
	const capacity = 100_000_000
	f, err := NewBloomDupeFilter(BloomConfig{Fingerprinter: urlFP{}, Capacity: capacity, ErrorRate: 0.01})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		fp := testFP(i)
		f.filter.TestOrAdd(fp[:])
	}
	b.StopTimer()
	m, _ := f.Bits()
	b.ReportMetric(float64(m)/8/capacity, "bytes/fp")
}
