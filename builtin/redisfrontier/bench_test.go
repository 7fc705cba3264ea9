package redisfrontier_test

import (
	"context"
	"crypto/sha1"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/internal/redistest"
)

// BenchmarkStoreServerTime pushes, pops and acknowledges b.N requests over
// 1000 hosts in batches of 100 with one connection, and reports the CPU
// time Redis used per request in each step (scripts, and reading requests
// and writing replies): the share of a shared Redis one request costs,
// whatever the workers' machines. Measure it on an idle machine: CPU time
// grows too when other processes share the cores and caches.
func BenchmarkStoreServerTime(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer client.Close()
	store, err := redisfrontier.OpenStore(ctx, client, redisfrontier.StoreConfig{
		QueueKey: "{b}:requests", DupeKey: "{b}:dupefilter", Capacity: b.N,
	}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	const batch = 100
	items := make([]redisfrontier.Item, b.N)
	for i := range items {
		url := "https://host" + strconv.Itoa(i%1000) + ".example/page/" + strconv.Itoa(i)
		fp := sha1.Sum([]byte(url))
		items[i] = redisfrontier.Item{FP: fp[:], Host: "host" + strconv.Itoa(i%1000) + ".example", Priority: i % 10, Record: []byte(url + strings.Repeat("x", 20))}
	}
	b.ResetTimer()
	push := scriptTime(b, client, func() {
		for lo := 0; lo < len(items); lo += batch {
			if _, err := store.Push(ctx, items[lo:min(lo+batch, len(items))]); err != nil {
				b.Fatal(err)
			}
		}
	})
	var ids [][]string
	pop := scriptTime(b, client, func() {
		for {
			ls, err := store.Pop(ctx, "bench", batch, redisfrontier.PopOptions{Lease: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			if len(ls) == 0 {
				return
			}
			batchIDs := make([]string, len(ls))
			for i, l := range ls {
				batchIDs[i] = l.ID
			}
			ids = append(ids, batchIDs)
		}
	})
	ack := scriptTime(b, client, func() {
		for _, batchIDs := range ids {
			if _, err := store.Ack(ctx, batchIDs); err != nil {
				b.Fatal(err)
			}
		}
	})
	n := float64(b.N)
	b.ReportMetric(push/n, "push-µs/op")
	b.ReportMetric(pop/n, "pop-µs/op")
	b.ReportMetric(ack/n, "ack-µs/op")
}

// scriptTime runs f and returns the microseconds of CPU Redis used
// meanwhile (INFO cpu: its process's user and system time), which, unlike
// the time in commands, does not count the time the system gave to other
// processes.
func scriptTime(b *testing.B, client *redis.Client, f func()) float64 {
	before := redisCPU(b, client)
	f()
	return redisCPU(b, client) - before
}

// redisCPU returns the CPU time Redis's process has used, in microseconds.
func redisCPU(b *testing.B, client *redis.Client) float64 {
	d, err := redisfrontier.ServerCPU(context.Background(), client)
	if err != nil {
		b.Fatal(err)
	}
	return float64(d) / float64(time.Microsecond)
}
