package schedulers

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// urlFingerprinter fingerprints the method and the URL as given; the
// scheduler's tests need a fingerprinter, not Scrapy's exact one.
type urlFingerprinter struct{ lower bool }

func (f urlFingerprinter) Fingerprint(r *framework.Request) (framework.Fingerprint, error) {
	u := r.URL
	if f.lower {
		u = strings.ToLower(u)
	}
	return sha1.Sum([]byte(r.Method + " " + u)), nil
}

func testRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	r := registry.New()
	for _, reg := range []func(*registry.Registry) error{queues.Register, dupefilters.Register, Register} {
		if err := reg(r); err != nil {
			t.Fatal(err)
		}
	}
	r.MustRegister(
		registry.Entry{Name: "test.URLFingerprinter",
			Factory: framework.FingerprinterFactory(func(context.Context, *framework.Crawler) (framework.Fingerprinter, error) {
				return urlFingerprinter{}, nil
			})},
		registry.Entry{Name: "test.LowercaseFingerprinter",
			Factory: framework.FingerprinterFactory(func(context.Context, *framework.Crawler) (framework.Fingerprinter, error) {
				return urlFingerprinter{lower: true}, nil
			})},
	)
	return r
}

// newCrawler returns a crawler over the defaults with overrides, as Scrapy's
// scheduler tests set them: BaseDupeFilter, LIFO memory queue.
func newCrawler(t *testing.T, overrides map[string]any) *framework.Crawler {
	t.Helper()
	s := framework.NewSettings()
	code := framework.Source{Kind: framework.SourceCode}
	s.Set("REQUEST_FINGERPRINTER_CLASS", "test.URLFingerprinter", code)
	s.Set("DUPEFILTER_CLASS", "scrapy.dupefilters.BaseDupeFilter", code)
	s.Set("SCHEDULER_MEMORY_QUEUE", "scrapy.squeues.LifoMemoryQueue", code)
	for k, v := range overrides {
		s.Set(k, v, code)
	}
	return framework.NewCrawler(s, testRegistry(t), nil)
}

func openScheduler(t *testing.T, c *framework.Crawler) *Scheduler {
	t.Helper()
	s, err := New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close("finished") })
	return s
}

var testURLs = []string{"http://foo.com/a", "http://foo.com/b", "http://foo.com/c"}

var testPriorities = []struct {
	url  string
	prio int
}{{"http://foo.com/a", -2}, {"http://foo.com/d", 1}, {"http://foo.com/b", -1}, {"http://foo.com/c", 0}, {"http://foo.com/e", 2}}

var priorityQueues = []string{"scrapy.pqueues.ScrapyPriorityQueue", "scrapy.pqueues.DownloaderAwarePriorityQueue"}

// Scrapy's SchedulerTestMixin (in memory), for both priority queues.
func TestSchedulerInMemory(t *testing.T) {
	for _, pq := range priorityQueues {
		t.Run(pq, func(t *testing.T) {
			opts := map[string]any{"SCHEDULER_PRIORITY_QUEUE": pq}
			t.Run("length", func(t *testing.T) {
				s := openScheduler(t, newCrawler(t, opts))
				if s.HasPending() || s.Len() != 0 {
					t.Fatal("not empty")
				}
				for _, u := range testURLs {
					if ok, err := s.Enqueue(framework.MustRequest(u)); !ok || err != nil {
						t.Fatal(ok, err)
					}
				}
				if !s.HasPending() || s.Len() != 3 {
					t.Fatal(s.Len())
				}
			})
			t.Run("dequeue", func(t *testing.T) {
				s := openScheduler(t, newCrawler(t, opts))
				for _, u := range testURLs {
					_, _ = s.Enqueue(framework.MustRequest(u))
				}
				var got []string
				for s.HasPending() {
					r, err := s.Next()
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, r.URL)
				}
				slices.Sort(got)
				if !slices.Equal(got, testURLs) {
					t.Fatal(got)
				}
			})
			t.Run("dequeue_priorities", func(t *testing.T) {
				s := openScheduler(t, newCrawler(t, opts))
				for _, p := range testPriorities {
					r := framework.MustRequest(p.url)
					r.Priority = p.prio
					_, _ = s.Enqueue(r)
				}
				var got []int
				for s.HasPending() {
					r, _ := s.Next()
					got = append(got, r.Priority)
				}
				if !slices.Equal(got, []int{2, 1, 0, -1, -2}) {
					t.Fatal(got)
				}
			})
		})
	}
}

// Scrapy's DownloaderAwareSchedulerTestMixin.test_logic through the
// scheduler: requests stay active until finished.
func TestSchedulerDownloaderAwareLogic(t *testing.T) {
	s := openScheduler(t, newCrawler(t, map[string]any{"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue"}))
	for i, slot := range []string{"a", "a", "b", "b", "c", "c"} {
		r := framework.MustRequest(fmt.Sprintf("http://foo.com/%d", i))
		r.Meta = map[string]any{framework.MetaDownloadSlot: slot}
		_, _ = s.Enqueue(r)
	}
	var order []string
	var out []*framework.Request
	for s.HasPending() {
		r, _ := s.Next()
		order = append(order, r.Slot())
		out = append(out, r)
	}
	for i := 0; i < len(order); i += 3 {
		w := slices.Clone(order[i : i+3])
		slices.Sort(w)
		if len(slices.Compact(w)) != 3 {
			t.Fatalf("unfair order %v", order)
		}
	}
	if s.InFlight() != 6 {
		t.Fatal(s.InFlight())
	}
	for _, r := range out {
		if err := s.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if s.InFlight() != 0 || s.c.Stats.Get(framework.StatInFlight) != 0 {
		t.Fatal(s.InFlight())
	}
	if err := s.Finish(out[0], nil); !errors.Is(err, framework.ErrNotInFlight) {
		t.Fatal(err)
	}
}

// Scrapy's TestIncompatibility: the downloader-aware queue refuses
// CONCURRENT_REQUESTS_PER_IP when the scheduler opens.
func TestSchedulerIncompatibility(t *testing.T) {
	c := newCrawler(t, map[string]any{"CONCURRENT_REQUESTS_PER_IP": 1, "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue"})
	s, err := New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); !errors.Is(err, queues.ErrPerIP) {
		t.Fatal(err)
	}
}

func TestSchedulerSignals(t *testing.T) {
	c := newCrawler(t, map[string]any{"DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter"})
	var dropped, empty int
	c.Signals.Connect(framework.SignalRequestScheduled, func(ev framework.Event) error {
		if strings.HasSuffix(ev.Request.URL, "/ignored") {
			return fmt.Errorf("handler says: %w", framework.ErrIgnoreRequest)
		}
		return nil
	})
	c.Signals.Connect(framework.SignalRequestDropped, func(framework.Event) error { dropped++; return nil })
	c.Signals.Connect(framework.SignalSchedulerEmpty, func(framework.Event) error { empty++; return nil })
	s := openScheduler(t, c)
	for _, u := range []string{"http://foo.com/a", "http://foo.com/a", "http://foo.com/ignored"} {
		_, _ = s.Enqueue(framework.MustRequest(u))
	}
	if s.Len() != 1 || dropped != 1 {
		t.Fatalf("len %d, dropped %d", s.Len(), dropped)
	}
	if r, _ := s.Next(); r == nil || empty != 0 {
		t.Fatal(r, empty)
	}
	if r, _ := s.Next(); r != nil || empty != 1 {
		t.Fatal(r, empty)
	}
	if got := c.Stats.Get(framework.StatDupeFilterFiltered); got != 1 {
		t.Fatal(got)
	}
}

// partialDiskQueue stands for a disk queue: it refuses requests whose meta
// holds "unserializable", as the record codec does for non-data values.
type partialDiskQueue struct{ queues.LifoMemoryQueue }

func (q *partialDiskQueue) Push(r *framework.Request) error {
	if _, ok := r.Meta["unserializable"]; ok {
		return fmt.Errorf("meta[unserializable]: %w", framework.ErrUnserializable)
	}
	return q.LifoMemoryQueue.Push(r)
}

func diskCrawler(t *testing.T, debug bool) (*framework.Crawler, *bytes.Buffer) {
	c := newCrawler(t, map[string]any{
		"JOBDIR":                       t.TempDir(),
		"SCHEDULER_DISK_QUEUE":         "test.PartialDisk",
		"SCHEDULER_START_DISK_QUEUE":   nil,
		"SCHEDULER_PRIORITY_QUEUE":     "scrapy.pqueues.ScrapyPriorityQueue",
		"SCHEDULER_DEBUG":              debug,
		"SCHEDULER_START_MEMORY_QUEUE": nil,
	})
	c.Registry.MustRegister(registry.Entry{Name: "test.PartialDisk",
		Factory: framework.QueueFactory(func(context.Context, *framework.Crawler, framework.QueueConfig) (framework.Queue, error) {
			return &partialDiskQueue{}, nil
		})})
	var buf bytes.Buffer
	c.Logger = zerolog.New(&buf)
	return c, &buf
}

// An unserializable request falls back to memory and is counted; with
// SCHEDULER_DEBUG the first one is logged, and only the first.
func TestSchedulerUnserializableFallback(t *testing.T) {
	for _, debug := range []bool{false, true} {
		c, logs := diskCrawler(t, debug)
		s := openScheduler(t, c)
		for i := 0; i < 3; i++ {
			r := framework.MustRequest(fmt.Sprintf("http://foo.com/%d", i))
			if i > 0 {
				r.Meta = map[string]any{"unserializable": true}
			}
			_, _ = s.Enqueue(r)
		}
		s.Len() // with JOBDIR, requests are counted once queued: Len waits for that
		st := c.Stats
		if st.Get(framework.StatEnqueuedDisk) != 1 || st.Get(framework.StatEnqueuedMemory) != 2 ||
			st.Get(framework.StatUnserializable) != 2 || st.Get(framework.StatEnqueued) != 3 {
			t.Fatal(st.Snapshot())
		}
		if n := strings.Count(logs.String(), "Unable to serialize request"); (debug && n != 1) || (!debug && n != 0) {
			t.Fatalf("debug=%v: %d log lines\n%s", debug, n, logs)
		}
	}
}

// Priority holds across the memory and disk queues (Scrapy pops memory first
// whatever the priorities, its issue #3666); memory wins at equal priority.
func TestSchedulerPriorityAcrossMemoryAndDisk(t *testing.T) {
	c, _ := diskCrawler(t, false)
	s := openScheduler(t, c)
	add := func(url string, prio int, memory bool) {
		r := framework.MustRequest(url)
		r.Priority = prio
		if memory {
			r.Meta = map[string]any{"unserializable": true}
		}
		_, _ = s.Enqueue(r)
	}
	add("http://foo.com/mem0", 0, true)
	add("http://foo.com/disk5", 5, false)
	add("http://foo.com/mem5", 5, true)
	add("http://foo.com/disk-1", -1, false)
	var got []string
	for s.HasPending() {
		r, _ := s.Next()
		got = append(got, strings.TrimPrefix(r.URL, "http://foo.com/"))
	}
	if want := []string{"mem5", "disk5", "mem0", "disk-1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	st := c.Stats
	if st.Get(framework.StatDequeuedDisk) != 2 || st.Get(framework.StatDequeuedMemory) != 2 || st.Get(framework.StatDequeued) != 4 {
		t.Fatal(st.Snapshot())
	}
}

func TestFromCrawlerErrors(t *testing.T) {
	for _, tc := range []struct {
		setting string
		value   any
		want    []string
		is      error
	}{
		{"SCHEDULER_MEMORY_QUEUE", "scrapy.squeues.LifoMemoryQueu", []string{"SCHEDULER_MEMORY_QUEUE", "LifoMemoryQueu", "did you mean", "scrapy.squeues.LifoMemoryQueue"}, registry.ErrUnknown},
		{"SCHEDULER_MEMORY_QUEUE", "scrapy.dupefilters.RFPDupeFilter", []string{"is a dupefilter, expected a queue"}, registry.ErrWrongKind},
		{"SCHEDULER_PRIORITY_QUEUE", "scrapy.squeues.FifoMemoryQueue", []string{"is a queue, expected a priority queue"}, registry.ErrWrongKind},
		{"SCHEDULER_MEMORY_QUEUE", nil, []string{"SCHEDULER_MEMORY_QUEUE is null or empty", "a queue is required"}, framework.ErrSetting},
		{"DUPEFILTER_CLASS", "", []string{"DUPEFILTER_CLASS is null or empty"}, framework.ErrSetting},
		{"SCHEDULER_DEBUG", "maybe", []string{"SCHEDULER_DEBUG", "maybe"}, framework.ErrSetting},
	} {
		t.Run(tc.setting+"="+fmt.Sprint(tc.value), func(t *testing.T) {
			_, err := New(context.Background(), newCrawler(t, map[string]any{tc.setting: tc.value}))
			if err == nil || !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
		})
	}
}

// localQueue stands for a shared queue (Redis, a plugin) that refuses
// requests whose meta holds "local".
type localQueue struct{ queues.LifoMemoryQueue }

func (q *localQueue) Push(r *framework.Request) error {
	if _, ok := r.Meta["local"]; ok {
		return fmt.Errorf("meta[local]: %w", framework.ErrUnserializable)
	}
	return q.LifoMemoryQueue.Push(r)
}

// A third queue between disk and memory is a list entry: Enqueue offers it
// what disk refuses, it keeps what memory would have, Next takes the highest
// head across the three (the later queue at equal priority), and its stats
// are its own.
func TestSchedulerThirdQueue(t *testing.T) {
	c, _ := diskCrawler(t, false)
	s := openScheduler(t, c)
	pq, err := s.factories.priority(context.Background(), c, framework.PriorityQueueConfig{
		Downstream: func(context.Context, *framework.Crawler, framework.QueueConfig) (framework.Queue, error) {
			return &localQueue{}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	disk, memory := s.queues[0], s.queues[1]
	s.queues = []*pendingQueue{disk, newPendingQueue(c.Stats, "shared", pq, false, false), memory}
	add := func(name string, prio int) {
		r := framework.MustRequest("http://foo.com/" + name)
		r.Priority = prio
		switch {
		case strings.HasPrefix(name, "shared"):
			r.Meta = map[string]any{"unserializable": true}
		case strings.HasPrefix(name, "mem"):
			r.Meta = map[string]any{"unserializable": true, "local": true}
		}
		if ok, err := s.Enqueue(r); !ok || err != nil {
			t.Fatalf("Enqueue %s: %t %v", name, ok, err)
		}
	}
	add("disk3", 3)
	add("shared3", 3)
	add("mem3", 3)
	add("shared9", 9)
	add("disk1", 1)
	var got []string
	for s.HasPending() {
		r, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.TrimPrefix(r.URL, "http://foo.com/"))
		if err := s.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"shared9", "mem3", "shared3", "disk3", "disk1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	want := map[string]int64{
		"scheduler/enqueued/disk": 2, "scheduler/enqueued/shared": 2, "scheduler/enqueued/memory": 1,
		"scheduler/dequeued/disk": 2, "scheduler/dequeued/shared": 2, "scheduler/dequeued/memory": 1,
		framework.StatUnserializable: 3, framework.StatEnqueued: 5, framework.StatDequeued: 5,
	}
	for k, v := range want {
		if got := c.Stats.Get(k); got != v {
			t.Errorf("%s = %d, want %d", k, got, v)
		}
	}
}
