package host

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/filequeue"
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

// benchBatch is the plugin's batch_size; FRONTIER_BENCH_BATCH overrides it.
func benchBatch() int {
	if n, err := strconv.Atoi(os.Getenv("FRONTIER_BENCH_BATCH")); err == nil && n > 0 {
		return n
	}
	return DefaultBatchSize
}

// benchRequests returns n requests whose records are about 100 bytes.
func benchRequests(b *testing.B, n int) []*framework.Request {
	rs := make([]*framework.Request, n)
	size := 0
	for i := range rs {
		r := framework.MustRequest(fmt.Sprintf("https://shop%d.example.com/catalog/category-%d/item/%d?page=%d&sort=price", i%1000, i%37, i, i%10))
		r.Priority = i % 10
		r.Meta = map[string]any{"depth": 2}
		r.Callback = ""
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

// BenchmarkRoundTrip measures the round trip (push N requests, then pop and
// acknowledge N) of the built-in FIFO disk queue and of the example plugin's
// SQLite FIFO queue through the host (with batching), in one run, and prints
// both and their ratio. Each iteration runs every queue once, one after the
// other, so that the load of the machine weighs on both alike; the figures
// are medians over the iterations. The test plugin's memory queue shows what
// the protocol alone costs.
//
//	go test ./plugins/host -run '^$' -bench RoundTrip -benchtime 5x
//
// FRONTIER_BENCH_N sets the number of requests, FRONTIER_BENCH_BATCH the
// plugins' batch_size.
func BenchmarkRoundTrip(b *testing.B) {
	n := benchN()
	rs := benchRequests(b, n)
	d := sqliteDecl(b)
	d.BatchSize = benchBatch()
	es := newEnv(b, zerolog.Nop(), d)
	td := testDecl(b)
	td.BatchSize = d.BatchSize
	em := newEnv(b, zerolog.Nop(), td)
	queuesUnderTest := []struct {
		name string
		open func(key string) framework.Queue
	}{
		{"builtin-disk-fifo", func(key string) framework.Queue {
			q, err := filequeue.NewFifo(key, disk.Config{})
			if err != nil {
				b.Fatal(err)
			}
			return q
		}},
		{"plugin-sqlite-fifo", func(key string) framework.Queue { return es.mustQueue(b, "sqlitequeue.FifoDiskQueue", key) }},
		{"plugin-memory-fifo", func(key string) framework.Queue { return em.mustQueue(b, "test.MemoryFifo", key) }},
	}
	rates := map[string][]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, qt := range queuesUnderTest {
			b.StopTimer()
			q := qt.open(filepath.Join(b.TempDir(), "q"))
			b.StartTimer()
			start := time.Now()
			roundTrip(b, q, rs)
			rates[qt.name] = append(rates[qt.name], float64(n)/time.Since(start).Seconds())
		}
	}
	b.StopTimer()
	med := map[string]float64{}
	for _, qt := range queuesUnderTest {
		r := slices.Clone(rates[qt.name])
		slices.Sort(r)
		med[qt.name] = r[len(r)/2]
		b.ReportMetric(med[qt.name], qt.name+"-req/s")
	}
	var ratios []string
	for i := range rates["builtin-disk-fifo"] {
		ratios = append(ratios, fmt.Sprintf("%.0f%%", 100*rates["plugin-sqlite-fifo"][i]/rates["builtin-disk-fifo"][i]))
	}
	fmt.Printf("round trip of %d requests, median of %d runs: built-in disk FIFO %.0f req/s, plugin SQLite FIFO %.0f req/s (batch_size %d), plugin memory FIFO %.0f req/s; plugin SQLite = %.0f%% of built-in (per run: %s)\n",
		n, b.N, med["builtin-disk-fifo"], med["plugin-sqlite-fifo"], d.BatchSize, med["plugin-memory-fifo"],
		100*med["plugin-sqlite-fifo"]/med["builtin-disk-fifo"], strings.Join(ratios, " "))
}
