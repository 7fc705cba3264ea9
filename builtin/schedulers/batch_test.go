package schedulers

import (
	"slices"
	"strconv"
	"testing"

	"github.com/frontier-go/frontier/builtin/fingerprinters"
	"github.com/frontier-go/frontier/framework"
)

// batchWorkload is a callback's output as a batch enqueue sees it: several
// hosts and priorities, duplicates of earlier requests (some of them
// dont_filter), and, when bad >= 0, a request whose URL cannot be
// fingerprinted at index bad.
func batchWorkload(n, bad int) []*framework.Request {
	rs := make([]*framework.Request, n)
	for i := range rs {
		id := i
		if i%5 == 4 {
			id = i / 3 // an earlier URL
		}
		rs[i] = &framework.Request{
			URL:        "https://host" + strconv.Itoa(id%7) + ".example/p/" + strconv.Itoa(id) + "?b=2&a=1",
			Method:     "GET",
			Priority:   id % 4,
			DontFilter: i%11 == 10,
		}
	}
	if bad >= 0 {
		rs[bad].URL = "https://[::1/broken"
	}
	return rs
}

// TestEnqueueBatchSameAsOneByOne: a batch enqueue, which fingerprints in
// parallel, accepts the same requests, stops at the same error, counts the
// same stats and hands out the same order as Enqueue called for each
// request, in memory and with a job directory.
func TestEnqueueBatchSameAsOneByOne(t *testing.T) {
	type outcome struct {
		accepted []bool
		err      bool
		enqueued int64
		filtered int64
		order    []string
	}
	run := func(t *testing.T, jobdir bool, rs []*framework.Request, batch int) outcome {
		opts := map[string]any{
			"DUPEFILTER_CLASS":            "scrapy.dupefilters.RFPDupeFilter",
			"REQUEST_FINGERPRINTER_CLASS": "scrapy.utils.request.RequestFingerprinter",
			"SCHEDULER_PRIORITY_QUEUE":    "scrapy.pqueues.DownloaderAwarePriorityQueue",
		}
		var c *framework.Crawler
		if jobdir {
			c = jobCrawler(t, t.TempDir(), opts)
		} else {
			c = newCrawler(t, opts)
		}
		if err := fingerprinters.Register(c.Registry); err != nil {
			t.Fatal(err)
		}
		s := openScheduler(t, c)
		var o outcome
		o.accepted = make([]bool, len(rs))
		if batch == 0 {
			for i, r := range rs {
				ok, err := s.Enqueue(r.Clone())
				o.accepted[i] = ok
				if err != nil {
					o.err = true
					break
				}
			}
		} else {
			for lo := 0; lo < len(rs) && !o.err; lo += batch {
				hi := min(lo+batch, len(rs))
				clones := make([]*framework.Request, 0, hi-lo)
				for _, r := range rs[lo:hi] {
					clones = append(clones, r.Clone())
				}
				o.err = s.EnqueueBatch(clones, o.accepted[lo:hi]) != nil
			}
		}
		s.Len() // with JOBDIR, requests are counted once queued: Len waits for that
		o.enqueued = c.Stats.Get(framework.StatEnqueued)
		o.filtered = c.Stats.Get(framework.StatDupeFilterFiltered)
		o.order = urls(drain(t, s))
		return o
	}
	for _, jobdir := range []bool{false, true} {
		for _, bad := range []int{-1, 250} {
			name := "memory"
			if jobdir {
				name = "jobdir"
			}
			name += "/bad=" + strconv.Itoa(bad)
			t.Run(name, func(t *testing.T) {
				rs := batchWorkload(400, bad)
				want := run(t, jobdir, rs, 0)
				if want.enqueued == 0 || want.filtered == 0 {
					t.Fatalf("workload enqueued %d and filtered %d: want both", want.enqueued, want.filtered)
				}
				if want.err != (bad >= 0) {
					t.Fatalf("one by one: error %v, want %v", want.err, bad >= 0)
				}
				for _, batch := range []int{2, 17, 100, 400} {
					got := run(t, jobdir, rs, batch)
					if got.err != want.err || got.enqueued != want.enqueued || got.filtered != want.filtered {
						t.Errorf("batch %d: error %v, enqueued %d, filtered %d; one by one: %v, %d, %d",
							batch, got.err, got.enqueued, got.filtered, want.err, want.enqueued, want.filtered)
					}
					if !slices.Equal(got.accepted, want.accepted) {
						t.Errorf("batch %d: accepted differ from one by one", batch)
					}
					if !slices.Equal(got.order, want.order) {
						t.Errorf("batch %d: order differs from one by one:\n got %v\nwant %v", batch, got.order[:min(5, len(got.order))], want.order[:min(5, len(want.order))])
					}
				}
			})
		}
	}
}

// A request_scheduled handler may change a request before it is filtered:
// the batch then fingerprints each request only after its signal.
func TestEnqueueBatchSignalHandlerSeesEachRequestFirst(t *testing.T) {
	c := newCrawler(t, map[string]any{
		"DUPEFILTER_CLASS":            "scrapy.dupefilters.RFPDupeFilter",
		"REQUEST_FINGERPRINTER_CLASS": "scrapy.utils.request.RequestFingerprinter",
	})
	if err := fingerprinters.Register(c.Registry); err != nil {
		t.Fatal(err)
	}
	c.Signals.Connect(framework.SignalRequestScheduled, func(ev framework.Event) error {
		ev.Request.URL = "https://same.example/"
		return nil
	})
	s := openScheduler(t, c)
	rs := batchWorkload(40, -1)
	for _, r := range rs {
		r.DontFilter = false
	}
	accepted := make([]bool, len(rs))
	if err := s.EnqueueBatch(rs, accepted); err != nil {
		t.Fatal(err)
	}
	s.Len() // the requests handed off are counted once queued
	if n := c.Stats.Get(framework.StatEnqueued); n != 1 || !accepted[0] || slices.Contains(accepted[1:], true) {
		t.Fatalf("enqueued %d (accepted %v), want only the first: the handler makes every URL the same", n, accepted)
	}
}
