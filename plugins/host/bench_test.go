package host

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/framework"
)

// benchN is the number of requests of a round trip; FRONTIER_BENCH_N
// overrides it.
func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("FRONTIER_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// benchRequests returns n requests whose records are about 100 bytes.
func benchRequests(b *testing.B, n int) []*framework.Request {
	rs := make([]*framework.Request, n)
	size := 0
	for i := range rs {
		r := framework.MustRequest(fmt.Sprintf("https://shop%d.example.com/catalog/item/%d?page=%d", i%1000, i, i%10))
		r.Priority = i % 10
		r.Meta = map[string]any{"depth": 2}
		rs[i] = r
		if i < 100 {
			rec, err := framework.EncodeRequest(r, nil)
			if err != nil {
				b.Fatal(err)
			}
			size += len(rec)
		}
	}
	b.Logf("records of about %d bytes", size/min(n, 100))
	return rs
}

// roundTrip pushes rs, flushes, then pops them all, acknowledging each when
// the queue is an Acker, and closes the queue.
func roundTrip(b *testing.B, q framework.Queue, rs []*framework.Request) {
	for _, r := range rs {
		if err := q.Push(r); err != nil {
			b.Fatal(err)
		}
	}
	if f, ok := q.(framework.Flusher); ok {
		if err := f.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	a, _ := q.(framework.Acker)
	for range rs {
		r, err := q.Pop()
		if err != nil || r == nil {
			b.Fatalf("Pop = %v, %v", r, err)
		}
		if a != nil {
			if err := a.Ack(r); err != nil {
				b.Fatal(err)
			}
		}
	}
	if q.Len() != 0 {
		b.Fatalf("Len = %d after the round trip", q.Len())
	}
	if err := q.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRoundTrip measures, in one run, the round trip (push N, then pop
// N) of the example plugin's SQLite FIFO queue through the host, with
// batching, beside the built-in FIFO disk queue, and prints the ratio.
//
//	go test ./plugins/host -run '^$' -bench RoundTrip -benchtime 3x
func BenchmarkRoundTrip(b *testing.B) {
	n := benchN()
	rs := benchRequests(b, n)
	rates := map[string]float64{}
	run := func(name string, open func(b *testing.B, key string) framework.Queue) {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				key := filepath.Join(b.TempDir(), "q")
				q := open(b, key)
				b.StartTimer()
				start := time.Now()
				roundTrip(b, q, rs)
				total += time.Since(start)
			}
			rate := float64(n) * float64(b.N) / total.Seconds()
			b.ReportMetric(rate, "req/s")
			rates[name] = rate
		})
	}
	run("builtin-disk-fifo", func(b *testing.B, key string) framework.Queue {
		q, err := queues.NewFifoDiskQueue(key, queues.DiskConfig{})
		if err != nil {
			b.Fatal(err)
		}
		return q
	})
	d := sqliteDecl(b)
	e := newEnv(b, zerolog.Nop(), d)
	run("plugin-sqlite-fifo", func(b *testing.B, key string) framework.Queue {
		return e.mustQueue(b, "sqlitequeue.FifoDiskQueue", key)
	})
	// The protocol's own cost: the test plugin's memory FIFO.
	em := newEnv(b, zerolog.Nop(), testDecl(b))
	run("plugin-memory-fifo", func(b *testing.B, key string) framework.Queue {
		return em.mustQueue(b, "test.MemoryFifo", key)
	})
	if bi, pl := rates["builtin-disk-fifo"], rates["plugin-sqlite-fifo"]; bi > 0 && pl > 0 {
		fmt.Printf("round trip of %d requests: built-in disk FIFO %.0f req/s, plugin SQLite FIFO %.0f req/s (batch %d): plugin = %.0f%% of built-in\n",
			n, bi, pl, d.BatchSize, 100*pl/bi)
	}
}
