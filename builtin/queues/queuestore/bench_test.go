package queuestore

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
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
	keys := make([]string, nq)
	for i := range keys {
		keys[i] = filepath.Join(dir, "host"+strconv.Itoa(i%1000), strconv.Itoa(i/1000))
	}
	open := func() (*Store, []*Queue) {
		st, err := Open(dir, disk.Config{})
		if err != nil {
			b.Fatal(err)
		}
		qs := make([]*Queue, nq)
		for i := range qs {
			if qs[i], err = st.Queue(keys[i], lifo); err != nil {
				b.Fatal(err)
			}
		}
		return st, qs
	}
	b.StartTimer()
	t0, c0 := time.Now(), disktest.CPUTime()
	st, qs := open()
	r := &framework.Request{Method: "GET", Callback: "parse"}
	var buf []byte
	for i := range total {
		buf = disktest.Request(r, buf, i%nq, i)
		if err := qs[i%nq].Push(r); err != nil {
			b.Fatal(err)
		}
	}
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
