package queues

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// rssMiB and peakRSSMiB read the process's resident set (Linux; 0 elsewhere).
func rssMiB() int     { return procStatusMiB("VmRSS:") }
func peakRSSMiB() int { return procStatusMiB("VmHWM:") }

func procStatusMiB(field string) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb >> 10
		}
	}
	return 0
}

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// drainAndClose pops from each queue in turn until total requests have come
// out, then closes them.
func drainAndClose[Q framework.Queue](b *testing.B, qs []Q, total int) {
	popped := 0
	for popped < total {
		for _, q := range qs {
			r, err := q.Pop()
			if err != nil {
				b.Fatal(err)
			}
			if r != nil {
				popped++
			}
		}
	}
	for _, q := range qs {
		if err := q.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRequest returns a request whose record is recordBytes long, with its
// URL ending in i.
func benchRequest(r *framework.Request, buf []byte, host, i int) []byte {
	buf = append(buf[:0], "https://host"...)
	buf = strconv.AppendInt(buf, int64(host), 10)
	buf = append(buf, ".example.com/some/path/"...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, "?q="...)
	for len(buf) < benchURLBytes {
		buf = append(buf, 'x')
	}
	r.URL = string(buf)
	return buf
}

// benchURLBytes makes each record 100 bytes: the version byte, the URL
// field's tag and length, and the callback field.
const benchURLBytes = 100 - 1 - 2 - 2 - len("parse")

// BenchmarkDiskQueueRoundTrip pushes 1,000,000 requests of 100 bytes into
// disk queues (round robin over 1 or 10,000 queues), flushes, pops them all
// (round robin again) and closes the queues, with the default fsync policy.
// FRONTIER_BENCH_REQUESTS changes the number of requests, FRONTIER_BENCH_DIR
// the directory the queues live in (a tmpfs separates the code's cost from
// the disk's).
func BenchmarkDiskQueueRoundTrip(b *testing.B) {
	runRoundTrips(b, "queues", benchRoundTrip)
}

// runRoundTrips runs round trip for FIFO and LIFO over 1 and 10,000 queues,
// of FRONTIER_BENCH_REQUESTS (default 1,000,000) requests.
func runRoundTrips(b *testing.B, queues string, roundTrip func(b *testing.B, lifo bool, nq, total int)) {
	total := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("FRONTIER_BENCH_REQUESTS")); err == nil && n > 0 {
		total = n
	}
	for _, k := range diskKinds {
		for _, nq := range []int{1, 10_000} {
			b.Run(fmt.Sprintf("%s/%s=%d", k.name, queues, nq), func(b *testing.B) {
				for range b.N {
					roundTrip(b, k.lifo, nq, total)
				}
			})
		}
	}
}

// benchDir returns the directory a benchmark's queues live in: under
// FRONTIER_BENCH_DIR when set (a tmpfs separates the code's cost from the
// disk's), removed when the benchmark ends.
func benchDir(b *testing.B) string {
	base := os.Getenv("FRONTIER_BENCH_DIR")
	if base == "" {
		return b.TempDir()
	}
	d, err := os.MkdirTemp(base, "diskbench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func benchRoundTrip(b *testing.B, lifo bool, nq, total int) {
	b.StopTimer()
	dir := benchDir(b)
	cfg := DiskConfig{Pool: NewDiskPool(DiskPoolConfig{})}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	qs := make([]*DiskQueue, nq)
	for i := range qs {
		q, err := newDiskQueueShared(filepath.Join(dir, "host"+strconv.Itoa(i%1000), strconv.Itoa(i/1000)), lifo, &cfg)
		if err != nil {
			b.Fatal(err)
		}
		qs[i] = q
	}
	r := &framework.Request{Method: "GET", Callback: "parse"}
	var buf []byte
	b.StartTimer()
	t0, c0 := time.Now(), cpuTime()
	for i := range total {
		buf = benchRequest(r, buf, i%nq, i)
		if err := qs[i%nq].Push(r); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range qs {
		if err := q.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	tPush, cPush := time.Since(t0), cpuTime()-c0
	stPush := cfg.Pool.Stats()
	rssPush := rssMiB()
	b.StopTimer()
	var onDisk int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				onDisk += fi.Size()
			}
		}
		return nil
	})
	// Reopen: new queue objects over the same files.
	for i, q := range qs {
		if err := q.Close(); err != nil {
			b.Fatal(err)
		}
		qs[i], _ = newDiskQueueShared(q.path, lifo, &cfg)
	}
	b.StartTimer()
	t1, c1 := time.Now(), cpuTime()
	drainAndClose(b, qs, total)
	tPop, cPop := time.Since(t1), cpuTime()-c1
	st := cfg.Pool.Stats()
	b.StopTimer()
	rt := tPush + tPop
	b.ReportMetric(float64(total)/rt.Seconds(), "req/s")
	b.ReportMetric(float64(total)/tPush.Seconds(), "push/s")
	b.ReportMetric(float64(total)/tPop.Seconds(), "pop/s")
	b.ReportMetric(float64(onDisk)/float64(total), "disk-B/req")
	b.ReportMetric(float64(total)/(cPush+cPop).Seconds(), "req/cpu-s")
	b.Logf("%d requests over %d queues: push+flush %v (cpu %v), pop+close %v (cpu %v), round trip %v (%.0f req/s, %.0f req per cpu-second), %.1f bytes on disk per request",
		total, nq, tPush.Round(time.Millisecond), cPush.Round(time.Millisecond), tPop.Round(time.Millisecond), cPop.Round(time.Millisecond),
		rt.Round(time.Millisecond), float64(total)/rt.Seconds(), float64(total)/(cPush+cPop).Seconds(), float64(onDisk)/float64(total))
	b.Logf("file system calls: push %d opens, %d writes; pop %d opens, %d reads, %d writes; %d syncs; RSS %d MiB after the pushes, peak %d MiB",
		stPush.Opens, stPush.Writes, st.Opens-stPush.Opens, st.Reads-stPush.Reads, st.Writes-stPush.Writes, st.Syncs, rssPush, peakRSSMiB())
	b.StartTimer()
}

// BenchmarkDiskQueueReopen measures reopening a job of 1,000,000 pending
// requests in 10,000 queues (1000 slots × 10 priorities): building every
// queue (no I/O), and building every queue and reading its length (what
// finding the non-empty buckets costs), with the pages in the page cache.
func BenchmarkDiskQueueReopen(b *testing.B) {
	total, nq := 1_000_000, 10_000
	if n, err := strconv.Atoi(os.Getenv("FRONTIER_BENCH_REQUESTS")); err == nil && n > 0 {
		total = n
	}
	for _, k := range diskKinds {
		dir := benchDir(b)
		cfg := DiskConfig{Pool: NewDiskPool(DiskPoolConfig{})}
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
		paths := make([]string, nq)
		for i := range paths {
			paths[i] = filepath.Join(dir, "host"+strconv.Itoa(i%1000), strconv.Itoa(i/1000))
		}
		r := &framework.Request{Method: "GET", Callback: "parse"}
		var buf []byte
		qs := make([]*DiskQueue, nq)
		for i := range qs {
			qs[i], _ = newDiskQueueShared(paths[i], k.lifo, &cfg)
		}
		for i := range total {
			buf = benchRequest(r, buf, i%nq, i)
			if err := qs[i%nq].Push(r); err != nil {
				b.Fatal(err)
			}
		}
		for _, q := range qs {
			if err := q.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(k.name+"/build", func(b *testing.B) {
			for range b.N {
				for i := range qs {
					qs[i], _ = newDiskQueueShared(paths[i], k.lifo, &cfg)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/reopen")
		})
		b.Run(k.name+"/build+len", func(b *testing.B) {
			for range b.N {
				n := 0
				for i := range qs {
					q, _ := newDiskQueueShared(paths[i], k.lifo, &cfg)
					n += q.Len()
					_ = q.Close()
				}
				if n != total {
					b.Fatalf("%d pending after reopen, want %d", n, total)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/reopen")
		})
	}
}
