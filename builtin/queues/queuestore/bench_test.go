package queuestore

import (
	"runtime"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
)

// BenchmarkStoreRoundTrip is BenchmarkDiskQueueRoundTrip with the queues as
// buckets of one queue store: push 1,000,000 requests of 100 bytes round
// robin over 1 or 10,000 buckets (1000 slots × 10 priorities), flush, close
// and reopen the store, pop everything round robin, close. It prints the
// same figures, and the reopen time.
func BenchmarkStoreRoundTrip(b *testing.B) {
	disktest.RunRoundTrips(b, "buckets", benchStoreRoundTrip)
}

func benchStoreRoundTrip(b *testing.B, lifo bool, nq, total int) {
	b.StopTimer()
	dir := disktest.Dir(b)
	open := func() (*Store, []*Queue) {
		st, err := Open(dir, disk.Config{})
		if err != nil {
			b.Fatal(err)
		}
		qs := make([]*Queue, nq)
		for i := range qs {
			if qs[i], err = st.Queue(disktest.Key(dir, i), lifo); err != nil {
				b.Fatal(err)
			}
		}
		return st, qs
	}
	b.StartTimer()
	t0, c0 := time.Now(), disktest.CPUTime()
	st, qs := open()
	disktest.PushRoundRobin(b, qs, total)
	if err := st.Flush(); err != nil {
		b.Fatal(err)
	}
	tPush, cPush := time.Since(t0), disktest.CPUTime()-c0
	rssPush := disktest.RSSMiB()
	b.StopTimer()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	onDisk := disktest.DiskUsage(dir)
	b.StartTimer()
	t1, c1 := time.Now(), disktest.CPUTime()
	st, qs = open()
	tReopen := time.Since(t1)
	disktest.DrainAndClose(b, qs, total)
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	tPop, cPop := time.Since(t1), disktest.CPUTime()-c1
	b.StopTimer()
	rt := tPush + tPop
	b.ReportMetric(float64(total)/rt.Seconds(), "req/s")
	b.ReportMetric(float64(total)/tPush.Seconds(), "push/s")
	b.ReportMetric(float64(total)/tPop.Seconds(), "pop/s")
	b.ReportMetric(float64(onDisk)/float64(total), "disk-B/req")
	b.ReportMetric(float64(tReopen.Microseconds())/1000, "reopen-ms")
	b.Logf("%d requests over %d buckets: push+flush %v (cpu %v), reopen %v, pop+close %v (cpu %v), round trip %v (%.0f req/s), %.1f bytes on disk per request; RSS %d MiB after the pushes, peak %d MiB",
		total, nq, tPush.Round(time.Millisecond), cPush.Round(time.Millisecond), tReopen.Round(time.Microsecond), tPop.Round(time.Millisecond), cPop.Round(time.Millisecond),
		rt.Round(time.Millisecond), float64(total)/rt.Seconds(), float64(onDisk)/float64(total), rssPush, disktest.PeakRSSMiB())
	b.StartTimer()
}

// BenchmarkStorePopDecodeAhead pops 1,000,000 requests of 100 bytes, pushed
// and flushed beforehand, from 10,000 buckets in turn (1000 slots x 10
// priorities, as the downloader-aware queue takes them), with the pops
// decoding ahead on a second core and without. It prints the pops per second
// and the share of pops that found their request decoded. Decoding ahead
// needs two processors: with -cpu 1 both variants read every record.
//
// Popping and nothing else, the records stay warm enough between a bucket's
// turns that decoding ahead costs a little more than it saves (on a 2-core
// machine: 2.84M-2.99M pops/s with it, 2.92M-3.27M without, three runs
// each). Through the whole scheduler, where every pop is followed by the
// in-flight bookkeeping and Finish, it is the other way round: `frontier
// bench scheduler -s JOBDIR=DIR -n 1000000 --dup-ratio 0` drains in 0.59-0.71 s
// with it and 0.77-0.99 s without (docs/jobdir-queues.md).
func BenchmarkStorePopDecodeAhead(b *testing.B) {
	total := disktest.Requests(1_000_000)
	for _, ahead := range []bool{true, false} {
		b.Run(map[bool]string{true: "ahead", false: "no-ahead"}[ahead], func(b *testing.B) {
			for _, lifo := range []bool{false, true} {
				b.Run(kindName(lifo), func(b *testing.B) {
					for range b.N {
						benchPopDecodeAhead(b, ahead, lifo, total)
					}
				})
			}
		})
	}
}

func benchPopDecodeAhead(b *testing.B, ahead, lifo bool, total int) {
	b.StopTimer()
	const nq = 10_000
	dir := disktest.Dir(b)
	st, err := Open(dir, disk.Config{})
	if err != nil {
		b.Fatal(err)
	}
	st.dec.off = !ahead
	qs := make([]*Queue, nq)
	for i := range qs {
		if qs[i], err = st.Queue(disktest.Key(dir, i), lifo); err != nil {
			b.Fatal(err)
		}
	}
	disktest.PushRoundRobin(b, qs, total)
	if err := st.Flush(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.StartTimer()
	t0 := time.Now()
	disktest.Drain(b, qs, total)
	took := time.Since(t0)
	b.StopTimer()
	taken := st.dec.taken
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/took.Seconds(), "pop/s")
	b.ReportMetric(100*float64(taken)/float64(total), "%ahead")
	b.StartTimer()
}
