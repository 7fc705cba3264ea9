package redisfrontier_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/queuetest"
	"github.com/frontier-go/frontier/internal/redistest"
)

func urls(rs []*framework.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.URL
	}
	return out
}

func enqueue(t testing.TB, s *redisfrontier.Scheduler, rs ...*framework.Request) []bool {
	t.Helper()
	ok := make([]bool, len(rs))
	if err := s.EnqueueBatch(rs, ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestPriorityThenFIFOWithinHost(t *testing.T) {
	srv := redistest.Start(t)
	for _, class := range []string{"scrapy_redis.queue.PriorityQueue", "scrapy_redis.queue.FifoQueue", "scrapy_redis.queue.LifoQueue"} {
		t.Run(class, func(t *testing.T) {
			s := openScheduler(t, newCrawler(t, srv, map[string]any{"SCHEDULER_QUEUE_CLASS": class, "SCHEDULER_FLUSH_ON_START": true}))
			// Record bytes of later requests sort before earlier ones: the
			// order must follow arrival, not bytes.
			enqueue(t, s, req(t, "http://a/z", 0), req(t, "http://a/y", 0), req(t, "http://a/x", 5), req(t, "http://a/w", 5), req(t, "http://a/v", 0))
			got := urls(drain(t, s))
			want := map[string][]string{
				"scrapy_redis.queue.PriorityQueue": {"http://a/x", "http://a/w", "http://a/z", "http://a/y", "http://a/v"},
				"scrapy_redis.queue.FifoQueue":     {"http://a/z", "http://a/y", "http://a/x", "http://a/w", "http://a/v"},
				"scrapy_redis.queue.LifoQueue":     {"http://a/v", "http://a/w", "http://a/x", "http://a/y", "http://a/z"},
			}[class]
			if !slices.Equal(got, want) {
				t.Fatalf("order %v, want %v", got, want)
			}
		})
	}
}

func TestHostsServedInTurn(t *testing.T) {
	srv := redistest.Start(t)
	s := openScheduler(t, newCrawler(t, srv, map[string]any{"REDIS_PREFETCH": 1}))
	for i := range 3 {
		enqueue(t, s, req(t, urlf("a", "p", i), 0))
	}
	for i := range 3 {
		enqueue(t, s, req(t, urlf("b", "p", i), 0))
	}
	got := drain(t, s)
	for i := 1; i < len(got); i++ {
		if got[i].Slot() == got[i-1].Slot() {
			t.Fatalf("host %s twice in a row while another waits: %v", got[i].Slot(), urls(got))
		}
	}
}

func TestDuplicatesFilteredAcrossWorkers(t *testing.T) {
	srv := redistest.Start(t)
	w1 := openScheduler(t, newCrawler(t, srv, nil))
	w2 := openScheduler(t, newCrawler(t, srv, nil))
	if ok := enqueue(t, w1, req(t, "http://a/1", 0), req(t, "http://a/1", 0)); !slices.Equal(ok, []bool{true, false}) {
		t.Fatalf("accepted %v, want [true false] (one batch, same fingerprint)", ok)
	}
	if ok := enqueue(t, w2, req(t, "http://a/1", 0)); ok[0] {
		t.Fatal("another worker's duplicate accepted")
	}
	r := req(t, "http://a/1", 0)
	r.DontFilter = true
	if ok := enqueue(t, w2, r); !ok[0] {
		t.Fatal("dont_filter request refused")
	}
	if n := len(drain(t, w1)) + len(drain(t, w2)); n != 2 {
		t.Fatalf("%d requests delivered, want 2", n)
	}
}

func TestExpiredLeaseRedeliveredOnce(t *testing.T) {
	srv := redistest.Start(t)
	c := newCrawler(t, srv, nil)
	s := openScheduler(t, c)
	enqueue(t, s, req(t, "http://a/1", 3), req(t, "http://a/2", 3))
	// A worker that dies holding a lease of one second.
	dead, err := s.Store().Pop(context.Background(), "dead-worker", 1, redisfrontier.PopOptions{Lease: time.Second})
	if err != nil || len(dead) != 1 {
		t.Fatalf("pop: %v %v", dead, err)
	}
	if got := urls(drain(t, s)); !slices.Equal(got, []string{"http://a/2"}) {
		t.Fatalf("before expiry got %v, want only the unleased request", got)
	}
	time.Sleep(1200 * time.Millisecond)
	got := drain(t, s)
	if len(got) != 1 || got[0].URL != "http://a/1" || !got[0].Redelivered || got[0].Priority != 3 {
		t.Fatalf("after expiry got %+v, want http://a/1 redelivered with priority 3", got)
	}
	if n := c.Stats.Get(framework.StatRedelivered); n != 1 {
		t.Fatalf("scheduler/redelivered = %d, want 1", n)
	}
	// The dead worker's late acknowledgement is ignored; so is a second Finish.
	if n, err := s.Store().Ack(context.Background(), []string{dead[0].ID}); err != nil || n != 0 {
		t.Fatalf("late ack = %d, %v; want 0", n, err)
	}
	if err := s.Finish(got[0], nil); err != nil {
		t.Fatal(err)
	}
	cnt, err := s.Store().Counts(context.Background())
	if err != nil || cnt.Pending != 0 || cnt.Leased != 0 {
		t.Fatalf("counts %+v %v, want nothing pending or leased", cnt, err)
	}
}

func TestLiveWorkerKeepsLeases(t *testing.T) {
	srv := redistest.Start(t)
	s := openScheduler(t, newCrawler(t, srv, map[string]any{"REDIS_VISIBILITY_TIMEOUT": 1}))
	other := openScheduler(t, newCrawler(t, srv, map[string]any{"REDIS_VISIBILITY_TIMEOUT": 1}))
	enqueue(t, s, req(t, "http://a/1", 0))
	r, err := s.Next()
	if err != nil || r == nil {
		t.Fatal(r, err)
	}
	time.Sleep(2500 * time.Millisecond) // over two timeouts: renewed meanwhile
	if got := drain(t, other); len(got) != 0 {
		t.Fatalf("a live worker's lease was handed to another: %v", urls(got))
	}
	if err := s.Finish(r, nil); err != nil {
		t.Fatal(err)
	}
}

func TestCloseReturnsUnfinishedLeases(t *testing.T) {
	srv := redistest.Start(t)
	c := newCrawler(t, srv, nil)
	s := openScheduler(t, c)
	enqueue(t, s, req(t, "http://a/1", 0), req(t, "http://b/1", 0))
	if r, err := s.Next(); err != nil || r == nil {
		t.Fatal(r, err)
	}
	if err := s.Close("shutdown"); err != nil {
		t.Fatal(err)
	}
	s2 := openScheduler(t, newCrawler(t, srv, nil))
	if got := drain(t, s2); len(got) != 2 {
		t.Fatalf("after close got %v, want both requests", urls(got))
	}
}

func TestPersistAndFlush(t *testing.T) {
	srv := redistest.Start(t)
	rc := client(t, srv)
	keys := func() int {
		ks, err := rc.Keys(context.Background(), "{crawl}*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(ks)
	}
	t.Run("persist keeps on close", func(t *testing.T) {
		s := openScheduler(t, newCrawler(t, srv, map[string]any{"SCHEDULER_PERSIST": true}))
		enqueue(t, s, req(t, "http://a/1", 0))
		if err := s.Close("finished"); err != nil {
			t.Fatal(err)
		}
		s2 := openScheduler(t, newCrawler(t, srv, nil))
		if ok := enqueue(t, s2, req(t, "http://a/1", 0)); ok[0] {
			t.Fatal("fingerprint lost across close with SCHEDULER_PERSIST")
		}
		if got := drain(t, s2); len(got) != 1 {
			t.Fatalf("pending lost across close: %v", urls(got))
		}
	})
	t.Run("no persist flushes on close", func(t *testing.T) {
		s := openScheduler(t, newCrawler(t, srv, map[string]any{"SCHEDULER_PERSIST": false}))
		enqueue(t, s, req(t, "http://a/2", 0))
		if err := s.Close("finished"); err != nil {
			t.Fatal(err)
		}
		if n := keys(); n != 0 {
			t.Fatalf("%d keys left after close without SCHEDULER_PERSIST", n)
		}
	})
	t.Run("no persist keeps the crawl while another worker is on it", func(t *testing.T) {
		np := map[string]any{"SCHEDULER_PERSIST": false}
		a := openScheduler(t, newCrawler(t, srv, np))
		b := openScheduler(t, newCrawler(t, srv, np))
		enqueue(t, a, req(t, "http://a/4", 0), req(t, "http://a/5", 0))
		r, err := b.Next()
		if err != nil || r == nil {
			t.Fatalf("worker b got nothing: %v", err)
		}
		if err := a.Close("closespider_pagecount"); err != nil {
			t.Fatal(err)
		}
		if ok := enqueue(t, b, req(t, "http://a/4", 0)); ok[0] {
			t.Fatal("an early-closing worker deleted the fingerprints of a crawl another worker is on")
		}
		if err := b.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
		if got := drain(t, b); len(got) != 1 {
			t.Fatalf("worker b drained %v after a closed, want the other request", urls(got))
		}
		if err := b.Close("finished"); err != nil {
			t.Fatal(err)
		}
		if n := keys(); n != 0 {
			t.Fatalf("%d keys left after the last worker closed without SCHEDULER_PERSIST", n)
		}
	})
	t.Run("flush on start", func(t *testing.T) {
		s := openScheduler(t, newCrawler(t, srv, nil))
		enqueue(t, s, req(t, "http://a/3", 0))
		_ = s.Close("finished")
		s2 := openScheduler(t, newCrawler(t, srv, map[string]any{"SCHEDULER_FLUSH_ON_START": true}))
		if s2.HasPending() || s2.Len() != 0 {
			t.Fatal("requests left after SCHEDULER_FLUSH_ON_START")
		}
		if ok := enqueue(t, s2, req(t, "http://a/3", 0)); !ok[0] {
			t.Fatal("fingerprint left after SCHEDULER_FLUSH_ON_START")
		}
	})
}

func TestIdleBeforeClose(t *testing.T) {
	srv := redistest.Start(t)
	s := openScheduler(t, newCrawler(t, srv, map[string]any{"SCHEDULER_IDLE_BEFORE_CLOSE": 1}))
	if !s.HasPending() {
		t.Fatal("idle at once despite SCHEDULER_IDLE_BEFORE_CLOSE 1")
	}
	time.Sleep(1100 * time.Millisecond)
	if s.HasPending() {
		t.Fatal("still pending after SCHEDULER_IDLE_BEFORE_CLOSE with nothing queued")
	}
	s0 := openScheduler(t, newCrawler(t, srv, nil))
	if s0.HasPending() {
		t.Fatal("pending with nothing queued and SCHEDULER_IDLE_BEFORE_CLOSE 0")
	}
}

func TestOtherWorkersLeasesKeepCrawlOpen(t *testing.T) {
	srv := redistest.Start(t)
	w1 := openScheduler(t, newCrawler(t, srv, nil))
	w2 := openScheduler(t, newCrawler(t, srv, nil))
	enqueue(t, w1, req(t, "http://a/1", 0))
	r, err := w1.Next()
	if err != nil || r == nil {
		t.Fatal(r, err)
	}
	if !w2.HasPending() {
		t.Fatal("w2 idle while w1 holds a lease that may produce requests")
	}
	if err := w1.Finish(r, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // HasPending's counts are cached 10ms
	if w2.HasPending() {
		t.Fatal("w2 pending after everything finished")
	}
}

func TestStartURLsFromKey(t *testing.T) {
	srv := redistest.Start(t)
	rc := client(t, srv)
	ctx := context.Background()
	t.Run("list", func(t *testing.T) {
		s := openScheduler(t, newCrawler(t, srv, map[string]any{"SCHEDULER_FLUSH_ON_START": true}))
		if err := rc.RPush(ctx, "crawl:start_urls", "http://s/1", `{"url": "http://s/2", "priority": 4}`, "http://s/1").Err(); err != nil {
			t.Fatal(err)
		}
		if !s.HasPending() {
			t.Fatal("start URLs waiting, HasPending false")
		}
		got := urls(drain(t, s))
		slices.Sort(got)
		if !slices.Equal(got, []string{"http://s/1", "http://s/2"}) {
			t.Fatalf("got %v, want each start URL once", got)
		}
	})
	t.Run("set", func(t *testing.T) {
		s := openScheduler(t, newCrawler(t, srv, map[string]any{"SCHEDULER_FLUSH_ON_START": true, "REDIS_START_URLS_AS_SET": true}))
		if err := rc.SAdd(ctx, "crawl:start_urls:set", "x").Err(); err != nil {
			t.Fatal(err)
		}
		s2 := openScheduler(t, newCrawler(t, srv, map[string]any{"REDIS_START_URLS_AS_SET": true, "REDIS_START_URLS_KEY": "%(name)s:start_set"}))
		if err := rc.SAdd(ctx, "crawl:start_set", "http://s/3", "http://s/4").Err(); err != nil {
			t.Fatal(err)
		}
		got := urls(drain(t, s2))
		slices.Sort(got)
		if !slices.Equal(got, []string{"http://s/3", "http://s/4"}) {
			t.Fatalf("got %v", got)
		}
		_ = s
	})
}

func TestPolitenessAcrossWorkers(t *testing.T) {
	srv := redistest.Start(t)
	const delay = 200 * time.Millisecond
	set := map[string]any{"DOWNLOAD_DELAY": delay.Seconds(), "REDIS_PREFETCH": 1}
	w := []*redisfrontier.Scheduler{openScheduler(t, newCrawler(t, srv, set)), openScheduler(t, newCrawler(t, srv, set))}
	for i := range 5 {
		enqueue(t, w[0], req(t, urlf("slow", "p", i), 0))
	}
	// Each request left Redis between before[i] and after[i].
	var before, after []time.Time
	for i := 0; len(after) < 5; i++ {
		t0 := time.Now()
		r, err := w[i%2].Next()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		before, after = append(before, t0), append(after, time.Now())
		if err := w[i%2].Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(after); i++ {
		// Redis's clock is read in milliseconds: allow its rounding.
		if gap := after[i].Sub(before[i-1]); gap < delay-time.Millisecond {
			t.Fatalf("host handed out %v after its previous request, DOWNLOAD_DELAY %v", gap, delay)
		}
	}
}

func TestConcurrentRequestsPerDomainCrawlWide(t *testing.T) {
	srv := redistest.Start(t)
	set := map[string]any{"CONCURRENT_REQUESTS_PER_DOMAIN": 2, "REDIS_PREFETCH": 1}
	w := []*redisfrontier.Scheduler{openScheduler(t, newCrawler(t, srv, set)), openScheduler(t, newCrawler(t, srv, set)), openScheduler(t, newCrawler(t, srv, set))}
	for i := range 4 {
		enqueue(t, w[0], req(t, urlf("a", "p", i), 0))
	}
	var held []*framework.Request
	for _, s := range w {
		r, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r != nil {
			held = append(held, r)
		}
	}
	if len(held) != 2 {
		t.Fatalf("%d requests of one host leased crawl-wide, want CONCURRENT_REQUESTS_PER_DOMAIN = 2", len(held))
	}
	if err := w[0].Finish(held[0], nil); err != nil {
		t.Fatal(err)
	}
	if r, err := w[2].Next(); err != nil || r == nil {
		t.Fatalf("after a finish, no request handed out: %v %v", r, err)
	}
}

func TestPauseHost(t *testing.T) {
	srv := redistest.Start(t)
	s := openScheduler(t, newCrawler(t, srv, nil))
	enqueue(t, s, req(t, "http://a/1", 0), req(t, "http://b/1", 0))
	if err := s.PauseSlot("a", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := urls(drain(t, s)); !slices.Equal(got, []string{"http://b/1"}) {
		t.Fatalf("got %v, want only the host that is not paused", got)
	}
}

func TestForeignValueIsAnErrorNamingTheKey(t *testing.T) {
	srv := redistest.Start(t)
	rc := client(t, srv)
	s := openScheduler(t, newCrawler(t, srv, nil))
	if err := rc.Set(context.Background(), "{crawl}:requests:ready", "not a zset", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := s.Next()
	if !errors.Is(err, redisfrontier.ErrBadValue) || !strings.Contains(err.Error(), "{crawl}:requests") {
		t.Fatalf("Next over a foreign value: %v, want ErrBadValue naming the key", err)
	}
	if err := rc.Del(context.Background(), "{crawl}:requests:ready").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.RPush(context.Background(), "{crawl}:requests:q:0:a", "garbage").Err(); err != nil {
		t.Fatal(err)
	}
	rc.ZAdd(context.Background(), "{crawl}:requests:hp:a", redisZ(0, "0"))
	rc.ZAdd(context.Background(), "{crawl}:requests:ready", redisZ(0, "a"))
	if _, err := s.Next(); !errors.Is(err, redisfrontier.ErrBadValue) {
		t.Fatalf("Next over a foreign entry: %v, want ErrBadValue", err)
	}
}

func TestListQueueConformance(t *testing.T) {
	srv := redistest.Start(t)
	for _, lifo := range []bool{false, true} {
		opt := queuetest.FIFO
		if lifo {
			opt = queuetest.LIFO
		}
		t.Run(map[bool]string{false: "fifo", true: "lifo"}[lifo], func(t *testing.T) {
			queuetest.Run(t, func(t *testing.T, key string) framework.Queue {
				return redisfrontier.NewListQueue(context.Background(), client(t, srv), key, lifo, nil)
			}, opt, queuetest.Persistent, queuetest.Many(2000), queuetest.Ops(1000))
		})
	}
}

// TestBloomFilterInTheEnqueueScript: with DUPEFILTER_CLASS
// frontier.redis.BloomDupeFilter the Redis scheduler filters with the
// crawl's Bloom filter, in the enqueue script: duplicates in one batch and
// across workers are dropped, dont_filter requests are not, and the exact
// set stays empty.
func TestBloomFilterInTheEnqueueScript(t *testing.T) {
	srv := redistest.Start(t)
	opts := map[string]any{"DUPEFILTER_CLASS": "frontier.redis.BloomDupeFilter", "DUPEFILTER_BLOOM_CAPACITY": 10000}
	w1 := openScheduler(t, newCrawler(t, srv, opts))
	w2 := openScheduler(t, newCrawler(t, srv, opts))
	if ok := enqueue(t, w1, req(t, "http://a/1", 0), req(t, "http://a/1", 0), req(t, "http://b/1", 3)); !slices.Equal(ok, []bool{true, false, true}) {
		t.Fatalf("accepted %v, want [true false true] (one batch, a fingerprint twice)", ok)
	}
	if ok := enqueue(t, w2, req(t, "http://b/1", 3), req(t, "http://a/1", 0), req(t, "http://c/1", 0)); !slices.Equal(ok, []bool{false, false, true}) {
		t.Fatalf("accepted %v on the other worker, want [false false true]", ok)
	}
	r := req(t, "http://a/1", 0)
	r.DontFilter = true
	if ok := enqueue(t, w2, r); !ok[0] {
		t.Fatal("dont_filter request refused")
	}
	rc := client(t, srv)
	ctx := context.Background()
	if keys, _ := rc.Keys(ctx, "{crawl}:dupefilter:[0-9]*").Result(); len(keys) != 0 {
		t.Fatalf("exact-set shards written with the Bloom filter selected: %v", keys)
	}
	if n, _ := rc.Exists(ctx, redisfrontier.BloomKey("{crawl}:dupefilter")).Result(); n != 1 {
		t.Fatal("no Bloom filter header under the crawl's dupefilter key")
	}
	if n := len(drain(t, w1)) + len(drain(t, w2)); n != 4 {
		t.Fatalf("%d requests delivered, want 4", n)
	}
}
