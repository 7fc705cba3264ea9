package redisbloom

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/frontier-go/frontier/internal/redistest"
)

// BenchmarkAdd adds fingerprints in batches of 1000 to a filter on a real
// redis-server on loopback and reports the bytes of bitmap per fingerprint.
func BenchmarkAdd(b *testing.B) {
	srv := redistest.Start(b)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer c.Close()
	ctx := context.Background()
	f, err := New(c, "{bench}:bloom", 10_000_000, 0.01)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	all := fps(9, 1<<20)
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		start := i % len(all)
		if _, err := f.Add(ctx, all[start:min(start+batch, len(all))]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st, err := f.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Bits)/8/float64(f.Params().Capacity), "bytes/fp-at-capacity")
}
