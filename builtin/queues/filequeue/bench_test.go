package filequeue

import (
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
)

// BenchmarkDiskQueueRoundTrip pushes 1,000,000 requests of 100 bytes into
// disk queues (round robin over 1 or 10,000 queues), flushes, pops them all
// (round robin again) and closes the queues, with the default fsync policy.
// FRONTIER_BENCH_REQUESTS changes the number of requests, FRONTIER_BENCH_DIR
// the directory the queues live in (a tmpfs separates the code's cost from
// the disk's).
func BenchmarkDiskQueueRoundTrip(b *testing.B) {
	disktest.RunRoundTrips(b, "queues", benchRoundTrip)
}

func benchRoundTrip(b *testing.B, lifo bool, nq, total int) {
	b.StopTimer()
	dir := disktest.Dir(b)
	st, err := NewStore(disk.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	qs := make([]*Queue, nq)
	for i := range qs {
		q, err := st.Queue(disktest.Key(dir, i), lifo)
		if err != nil {
			b.Fatal(err)
		}
		qs[i] = q
	}
	b.StartTimer()
	t0, c0 := time.Now(), disktest.CPUTime()
	disktest.PushRoundRobin(b, qs, total)
	for _, q := range qs {
		if err := q.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	tPush, cPush := time.Since(t0), disktest.CPUTime()-c0
	stPush := st.Pool().Stats()
	rssPush := disktest.RSSMiB()
	b.StopTimer()
	onDisk := disktest.DiskUsage(dir)
	// Reopen: new queue objects over the same files.
	for i, q := range qs {
		if err := q.Close(); err != nil {
			b.Fatal(err)
		}
		qs[i], _ = st.Queue(q.path, lifo)
	}
	b.StartTimer()
	t1, c1 := time.Now(), disktest.CPUTime()
	disktest.DrainAndClose(b, qs, total)
	tPop, cPop := time.Since(t1), disktest.CPUTime()-c1
	stPop := st.Pool().Stats()
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
		stPush.Opens, stPush.Writes, stPop.Opens-stPush.Opens, stPop.Reads-stPush.Reads, stPop.Writes-stPush.Writes, stPop.Syncs, rssPush, disktest.PeakRSSMiB())
	b.StartTimer()
}

// BenchmarkDiskQueueReopen measures reopening a job of 1,000,000 pending
// requests in 10,000 queues (1000 slots × 10 priorities): building every
// queue (no I/O), and building every queue and reading its length (what
// finding the non-empty buckets costs), with the pages in the page cache.
func BenchmarkDiskQueueReopen(b *testing.B) {
	total, nq := disktest.Requests(1_000_000), 10_000
	for _, k := range disktest.Kinds() {
		dir := disktest.Dir(b)
		st, err := NewStore(disk.Config{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		paths := make([]string, nq)
		for i := range paths {
			paths[i] = disktest.Key(dir, i)
		}
		qs := make([]*Queue, nq)
		for i := range qs {
			qs[i], _ = st.Queue(paths[i], k.LIFO)
		}
		disktest.PushRoundRobin(b, qs, total)
		for _, q := range qs {
			if err := q.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(k.Name+"/build", func(b *testing.B) {
			for range b.N {
				for i := range qs {
					qs[i], _ = st.Queue(paths[i], k.LIFO)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/reopen")
		})
		b.Run(k.Name+"/build+len", func(b *testing.B) {
			for range b.N {
				n := 0
				for i := range qs {
					q, _ := st.Queue(paths[i], k.LIFO)
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
