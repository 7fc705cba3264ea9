package schedulers

import (
	"context"
	"strconv"
	"testing"

	"github.com/frontier-go/frontier/builtin/fingerprinters"
	"github.com/frontier-go/frontier/framework"
)

// benchMemoryScheduler returns an open memory scheduler with the real
// fingerprinter and RFP dupefilter, and requests over 1000 hosts and 10
// priorities, as `frontier bench scheduler` uses.
func benchMemoryScheduler(b *testing.B, n int) (*Scheduler, []*framework.Request) {
	b.Helper()
	c := newCrawler(&testing.T{}, map[string]any{
		"DUPEFILTER_CLASS":            "scrapy.dupefilters.RFPDupeFilter",
		"REQUEST_FINGERPRINTER_CLASS": "scrapy.utils.request.RequestFingerprinter",
		"SCHEDULER_PRIORITY_QUEUE":    "scrapy.pqueues.DownloaderAwarePriorityQueue",
	})
	if err := fingerprinters.Register(c.Registry); err != nil {
		b.Fatal(err)
	}
	s, err := New(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	rs := make([]*framework.Request, n)
	for i := range rs {
		rs[i] = &framework.Request{
			URL:      "https://host" + strconv.Itoa(i%1000) + ".example/page/" + strconv.Itoa(i) + "?ref=" + strconv.Itoa(i%7),
			Method:   "GET",
			Priority: i % 10,
		}
	}
	return s, rs
}

// BenchmarkSchedulerEnqueue measures one Enqueue of a new request in memory:
// fingerprint, dupefilter, downloader-aware priority queue.
func BenchmarkSchedulerEnqueue(b *testing.B) {
	s, rs := benchMemoryScheduler(b, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Enqueue(rs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSchedulerNextFinish measures one Next and Finish in memory with
// 100,000 requests pending over 1000 slots.
func BenchmarkSchedulerNextFinish(b *testing.B) {
	const pending = 100_000
	s, rs := benchMemoryScheduler(b, pending)
	for _, r := range rs {
		_, _ = s.Enqueue(r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := s.Next()
		if err != nil || r == nil {
			b.Fatal(r, err)
		}
		if err := s.Finish(r, nil); err != nil {
			b.Fatal(err)
		}
		if s.Len() == 0 { // refill, untimed
			b.StopTimer()
			for _, r := range rs {
				r.DontFilter = true
				_, _ = s.Enqueue(r)
			}
			b.StartTimer()
		}
	}
}

// BenchmarkSchedulerEnqueueBatch measures Enqueue of new requests in
// memory by batches of 100, a callback's output: the batch is fingerprinted
// on two goroutines, then filtered and queued in order.
func BenchmarkSchedulerEnqueueBatch(b *testing.B) {
	const batch = 100
	s, rs := benchMemoryScheduler(b, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for lo := 0; lo < b.N; lo += batch {
		if err := s.EnqueueBatch(rs[lo:min(lo+batch, b.N)], nil); err != nil {
			b.Fatal(err)
		}
	}
}
