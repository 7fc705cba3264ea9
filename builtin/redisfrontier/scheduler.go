package redisfrontier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/redisbloom"
)

// Scheduler is the shared frontier's scheduler (scrapy-redis's
// scrapy_redis.scheduler.Scheduler): every worker of a crawl runs one
// against the same Redis keys. Enqueue checks the fingerprint and queues
// the request in one script; Next leases requests to this worker
// (REDIS_PREFETCH at a time); Finish acknowledges a lease. A goroutine
// renews the worker's leases every third of REDIS_VISIBILITY_TIMEOUT and
// returns the expired leases of dead workers to their queues.
//
// HasPending is true while the crawl has requests pending or leased by any
// worker (whose callbacks may still produce requests) or start URLs in
// REDIS_START_URLS_KEY, and for SCHEDULER_IDLE_BEFORE_CLOSE after that;
// Next may return nil meanwhile (a host's delay, another worker's lease),
// so the engine polls (PollInterval).
//
// Requests that cannot be written as records stay in this worker's memory
// (scheduler/unserializable), as with the default scheduler.
//
// The methods are safe for concurrent use.
type Scheduler struct {
	c     *framework.Crawler
	log   zerolog.Logger
	fp    framework.Fingerprinter
	cfg   SchedulerConfig
	store *Store

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	closed bool // Close ran

	mu        sync.Mutex
	buf       []held                        // leased, not handed out yet
	out       map[*framework.Request]string // handed out: lease id
	local     []*framework.Request          // unserializable, this worker's only
	idleSince time.Time
	counts    Counts
	countsAt  time.Time
}

type held struct {
	r  *framework.Request
	id string
}

// SchedulerConfig is the scheduler's settings.
type SchedulerConfig struct {
	Client          ClientOptions
	Store           StoreConfig
	Owner           string        // REDIS_WORKER_ID; "" picks host-pid-random
	Pop             PopOptions    // REDIS_VISIBILITY_TIMEOUT, DOWNLOAD_DELAY, CONCURRENT_REQUESTS_PER_DOMAIN
	Prefetch        int           // REDIS_PREFETCH
	Persist         bool          // SCHEDULER_PERSIST
	FlushOnStart    bool          // SCHEDULER_FLUSH_ON_START
	IdleBeforeClose time.Duration // SCHEDULER_IDLE_BEFORE_CLOSE
	StartURLsKey    string        // REDIS_START_URLS_KEY, substituted; "" none
	StartURLsAsSet  bool          // REDIS_START_URLS_AS_SET
	// Bloom, when set, filters with a Bloom filter in Redis instead of the
	// exact set (DUPEFILTER_CLASS frontier.redis.BloomDupeFilter, sized by
	// DUPEFILTER_BLOOM_CAPACITY and DUPEFILTER_BLOOM_ERROR_RATE).
	Bloom *BloomOptions
}

// BloomOptions size the Redis scheduler's Bloom filter.
type BloomOptions struct {
	Capacity  uint64
	ErrorRate float64
}

// bloomOptionsFrom reads DUPEFILTER_BLOOM_CAPACITY and
// DUPEFILTER_BLOOM_ERROR_RATE.
func bloomOptionsFrom(s *framework.Settings) (BloomOptions, error) {
	capacity, err := s.GetInt("DUPEFILTER_BLOOM_CAPACITY")
	if err != nil {
		return BloomOptions{}, err
	}
	rate, err := s.GetFloat("DUPEFILTER_BLOOM_ERROR_RATE")
	if err != nil {
		return BloomOptions{}, err
	}
	if capacity < 1 {
		return BloomOptions{}, fmt.Errorf("%w: DUPEFILTER_BLOOM_CAPACITY %d: must be at least 1", ErrConfig, capacity)
	}
	return BloomOptions{Capacity: uint64(capacity), ErrorRate: rate}, nil
}

// bloomDupeFilter is the registry name that makes the Redis scheduler
// filter with a Bloom filter.
const bloomDupeFilter = "frontier.redis.BloomDupeFilter"

var (
	_ framework.Scheduler  = (*Scheduler)(nil)
	_ framework.Opener     = (*Scheduler)(nil)
	_ framework.Closer     = (*Scheduler)(nil)
	_ framework.Lener      = (*Scheduler)(nil)
	_ framework.Finisher   = (*Scheduler)(nil)
	_ framework.Flusher    = (*Scheduler)(nil)
	_ framework.Poller     = (*Scheduler)(nil)
	_ framework.SlotPauser = (*Scheduler)(nil)

	_ framework.BatchEnqueuer = (*Scheduler)(nil)
)

// ConfigFrom reads the scheduler's settings from c.
func ConfigFrom(c *framework.Crawler) (SchedulerConfig, error) {
	var cfg SchedulerConfig
	s := c.Settings
	var err error
	if cfg.Client, err = ClientOptionsFrom(s); err != nil {
		return cfg, err
	}
	name := c.Spider.Name
	get := func(setting string) (string, error) {
		v, err := s.GetString(setting)
		if err != nil {
			return "", err
		}
		return KeyFor(v, name), nil
	}
	if cfg.Store.QueueKey, err = get("SCHEDULER_QUEUE_KEY"); err != nil {
		return cfg, err
	}
	if cfg.Store.DupeKey, err = get("SCHEDULER_DUPEFILTER_KEY"); err != nil {
		return cfg, err
	}
	class, err := s.GetString("SCHEDULER_QUEUE_CLASS")
	if err != nil {
		return cfg, err
	}
	switch {
	case strings.HasSuffix(class, ".FifoQueue"):
		cfg.Store.NoPriority = true
	case strings.HasSuffix(class, ".LifoQueue"):
		cfg.Store.NoPriority, cfg.Store.LIFO = true, true
	case strings.HasSuffix(class, ".PriorityQueue"):
	default:
		return cfg, fmt.Errorf("%w: SCHEDULER_QUEUE_CLASS %q: want scrapy_redis.queue.PriorityQueue, FifoQueue or LifoQueue (or frontier.redis.*)", ErrConfig, class)
	}
	if cfg.Store.Capacity, err = s.GetInt("REDIS_DUPEFILTER_CAPACITY"); err != nil {
		return cfg, err
	}
	if cfg.Owner, err = s.GetString("REDIS_WORKER_ID"); err != nil {
		return cfg, err
	}
	if cfg.Pop.Lease, err = s.GetDuration("REDIS_VISIBILITY_TIMEOUT"); err != nil {
		return cfg, err
	}
	if cfg.Pop.Delay, err = s.GetDuration("DOWNLOAD_DELAY"); err != nil {
		return cfg, err
	}
	if cfg.Pop.PerHost, err = s.GetInt("CONCURRENT_REQUESTS_PER_DOMAIN"); err != nil {
		return cfg, err
	}
	if cfg.Prefetch, err = s.GetInt("REDIS_PREFETCH"); err != nil {
		return cfg, err
	}
	if cfg.Persist, err = s.GetBool("SCHEDULER_PERSIST"); err != nil {
		return cfg, err
	}
	if cfg.FlushOnStart, err = s.GetBool("SCHEDULER_FLUSH_ON_START"); err != nil {
		return cfg, err
	}
	if cfg.IdleBeforeClose, err = s.GetDuration("SCHEDULER_IDLE_BEFORE_CLOSE"); err != nil {
		return cfg, err
	}
	start, err := s.GetString("REDIS_START_URLS_KEY")
	if err != nil {
		return cfg, err
	}
	// Anyone pushes start URLs, under the key scrapy-redis users know:
	// the spider's name without a hash tag.
	cfg.StartURLsKey = strings.NewReplacer("%(name)s", name, "%(spider)s", name).Replace(start)
	if cfg.StartURLsAsSet, err = s.GetBool("REDIS_START_URLS_AS_SET"); err != nil {
		return cfg, err
	}
	if df, _, err := s.Component("DUPEFILTER_CLASS"); err == nil && df == bloomDupeFilter {
		b, err := bloomOptionsFrom(s)
		if err != nil {
			return cfg, err
		}
		cfg.Bloom = &b
	}
	return cfg, cfg.Validate()
}

// Validate checks the configuration.
func (c SchedulerConfig) Validate() error {
	if err := c.Store.Validate(); err != nil {
		return err
	}
	if c.Pop.Lease < time.Second {
		return fmt.Errorf("%w: REDIS_VISIBILITY_TIMEOUT %v: must be at least 1s", ErrConfig, c.Pop.Lease)
	}
	if c.Prefetch < 1 {
		return fmt.Errorf("%w: REDIS_PREFETCH %d: must be at least 1", ErrConfig, c.Prefetch)
	}
	return nil
}

// FromCrawler builds the scheduler from c's settings (the
// frontier.redis.Scheduler factory).
func FromCrawler(ctx context.Context, c *framework.Crawler) (framework.Scheduler, error) {
	cfg, err := ConfigFrom(c)
	if err != nil {
		return nil, err
	}
	return New(ctx, c, cfg)
}

// New returns a scheduler for c with cfg; it connects at Open.
func New(ctx context.Context, c *framework.Crawler, cfg SchedulerConfig) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	fp, err := c.Fingerprinter(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s-%d-%06x", host, os.Getpid(), rand.Uint32()&0xffffff)
	}
	return &Scheduler{
		c: c, fp: fp, cfg: cfg,
		log: c.Logger.With().Str("component", "redis-scheduler").Str("worker", cfg.Owner).Logger(),
		out: map[*framework.Request]string{},
	}, nil
}

// Open connects to Redis, flushes the crawl's keys with
// SCHEDULER_FLUSH_ON_START and starts renewing leases.
func (s *Scheduler) Open(ctx context.Context) error {
	client, err := NewClient(s.cfg.Client)
	if err != nil {
		return err
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if s.store, err = OpenStore(s.ctx, client, s.cfg.Store, s.log); err != nil {
		return err
	}
	if s.cfg.FlushOnStart {
		if err := s.store.Clear(s.ctx, true); err != nil {
			return err
		}
		if s.store, err = OpenStore(s.ctx, client, s.cfg.Store, s.log); err != nil {
			return err
		}
	}
	if b := s.cfg.Bloom; b != nil {
		f, err := redisbloom.New(client, BloomKey(s.cfg.Store.DupeKey), b.Capacity, b.ErrorRate)
		if err != nil {
			return fmt.Errorf("redisfrontier: %s: %w", bloomDupeFilter, err)
		}
		s.store.UseBloom(f)
	}
	c, err := s.store.Counts(s.ctx)
	if err != nil {
		return err
	}
	s.log.Info().Str("queue", s.cfg.Store.QueueKey).Int64("pending", c.Pending).Int64("leased", c.Leased).
		Msg("Opened the shared frontier on Redis")
	s.done = make(chan struct{})
	go s.keepLeases()
	return nil
}

// Store returns the scheduler's store (nil before Open).
func (s *Scheduler) Store() *Store { return s.store }

// Owner returns this worker's id, the owner of its leases.
func (s *Scheduler) Owner() string { return s.cfg.Owner }

// PollInterval is how often an engine with nothing to do asks Next again:
// the shared frontier changes without this worker.
func (s *Scheduler) PollInterval() time.Duration {
	if d := s.cfg.Pop.Delay / 4; d > 0 && d < 100*time.Millisecond {
		return d
	}
	return 100 * time.Millisecond
}

// Enqueue queues r unless its fingerprint was seen; see EnqueueBatch.
func (s *Scheduler) Enqueue(r *framework.Request) (bool, error) {
	var ok [1]bool
	if err := s.EnqueueBatch([]*framework.Request{r}, ok[:]); err != nil {
		return false, err
	}
	return ok[0], nil
}

// EnqueueBatch queues the requests of rs whose fingerprints were not seen,
// in one round trip (framework.BatchEnqueuer): when accepted is not nil,
// accepted[i] reports whether rs[i] was accepted. Once it returns, the
// accepted requests are in Redis (durable as Redis's appendfsync makes
// them).
func (s *Scheduler) EnqueueBatch(rs []*framework.Request, accepted []bool) error {
	items := make([]Item, 0, len(rs))
	idx := make([]int, 0, len(rs))
	if accepted == nil {
		accepted = make([]bool, len(rs))
	}
	clear(accepted)
	var unser []int
	for i, r := range rs {
		rec, err := framework.EncodeRequest(r, s.c.Spider)
		if errors.Is(err, framework.ErrUnserializable) {
			unser = append(unser, i)
			continue
		}
		if err != nil {
			return err
		}
		it := Item{Host: r.Slot(), Priority: r.Priority, Record: rec}
		if !r.DontFilter {
			f, err := s.fp.Fingerprint(r)
			if err != nil {
				return err
			}
			it.FP = f[:]
		}
		items = append(items, it)
		idx = append(idx, i)
	}
	ok, err := s.store.Push(s.ctx, items)
	if err != nil {
		return err
	}
	n := 0
	for j, a := range ok {
		accepted[idx[j]] = a
		if a {
			n++
		}
	}
	if err := s.enqueueLocal(rs, unser, accepted); err != nil {
		return err
	}
	s.c.Stats.Inc(framework.StatEnqueued, int64(n+len(unser)))
	return nil
}

// enqueueLocal keeps the unserializable requests rs[unser] in memory,
// filtered by the shared fingerprints.
func (s *Scheduler) enqueueLocal(rs []*framework.Request, unser []int, accepted []bool) error {
	if len(unser) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, i := range unser {
		r := rs[i]
		if !r.DontFilter {
			f, err := s.fp.Fingerprint(r)
			if err != nil {
				return err
			}
			seen, err := s.seen(f[:])
			if err != nil {
				return err
			}
			if seen {
				continue
			}
		}
		accepted[i] = true
		s.local = append(s.local, r)
		s.c.Stats.Inc(framework.StatUnserializable, 1)
	}
	return nil
}

// seen records fp in the crawl's filter (the Bloom filter, or the exact
// set) and reports whether it was there.
func (s *Scheduler) seen(fp []byte) (bool, error) {
	if f := s.store.Bloom(); f != nil {
		absent, err := f.Add(s.ctx, [][]byte{fp})
		if err != nil {
			return false, err
		}
		return !absent[0], nil
	}
	seen, err := s.store.Seen(s.ctx, [][]byte{fp})
	if err != nil {
		return false, err
	}
	return seen[0], nil
}

// Next returns the next request leased to this worker, or nil when none
// can be handed out now.
func (s *Scheduler) Next() (*framework.Request, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.local); n > 0 {
		r := s.local[0]
		s.local = s.local[1:]
		return r, nil
	}
	if len(s.buf) == 0 {
		if err := s.refill(); err != nil {
			return nil, err
		}
	}
	if len(s.buf) == 0 {
		return nil, nil
	}
	h := s.buf[0]
	s.buf = s.buf[1:]
	s.out[h.r] = h.id
	s.c.Stats.Inc(framework.StatDequeued, 1)
	s.c.Stats.Set(framework.StatInFlight, int64(len(s.out)))
	if h.r.Redelivered {
		s.c.Stats.Inc(framework.StatRedelivered, 1)
	}
	return h.r, nil
}

// refill leases up to REDIS_PREFETCH requests; when none is ready it
// returns expired leases first and pulls start URLs. s.mu is held.
func (s *Scheduler) refill() error {
	got, err := s.lease()
	if err != nil || got > 0 {
		return err
	}
	if n, err := s.store.Recover(s.ctx, 1000); err != nil {
		return err
	} else if n > 0 {
		if got, err = s.lease(); err != nil || got > 0 {
			return err
		}
	}
	if n, err := s.pullStartURLs(); err != nil || n == 0 {
		return err
	}
	_, err = s.lease()
	return err
}

// lease pops up to REDIS_PREFETCH requests into s.buf. s.mu is held.
func (s *Scheduler) lease() (int, error) {
	leases, err := s.store.Pop(s.ctx, s.cfg.Owner, s.cfg.Prefetch, s.cfg.Pop)
	if err != nil {
		return 0, err
	}
	for _, l := range leases {
		r, err := framework.DecodeRequest(l.Record, s.c.Spider)
		if err != nil {
			// A record this build cannot read stays leased and is
			// reported; its lease expires like any other.
			return 0, fmt.Errorf("%w: lease %s under %s: %w", ErrBadValue, l.ID, s.cfg.Store.QueueKey, err)
		}
		r.Redelivered = l.Redelivered
		s.buf = append(s.buf, held{r: r, id: l.ID})
	}
	return len(leases), nil
}

// pullStartURLs moves up to REDIS_PREFETCH start URLs from
// REDIS_START_URLS_KEY into the frontier. An entry is a URL, or a JSON
// object with url and optionally meta and priority (scrapy-redis 0.8).
func (s *Scheduler) pullStartURLs() (int, error) {
	if s.cfg.StartURLsKey == "" {
		return 0, nil
	}
	var vals []string
	err := s.store.retry(s.ctx, "start urls", func() error {
		var err error
		if s.cfg.StartURLsAsSet {
			vals, err = s.store.client.SPopN(s.ctx, s.cfg.StartURLsKey, int64(s.cfg.Prefetch)).Result()
		} else {
			vals, err = s.store.client.LPopCount(s.ctx, s.cfg.StartURLsKey, s.cfg.Prefetch).Result()
		}
		if errors.Is(err, redis.Nil) {
			vals, err = nil, nil
		}
		return s.store.keyErr(s.cfg.StartURLsKey, err)
	})
	if err != nil || len(vals) == 0 {
		return 0, err
	}
	rs := make([]*framework.Request, 0, len(vals))
	for _, v := range vals {
		r, err := startRequest(v)
		if err != nil {
			s.log.Error().Err(err).Str("key", s.cfg.StartURLsKey).Str("value", trunc(v)).Msg("Ignoring a bad start URL")
			continue
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return 0, nil
	}
	s.mu.Unlock()
	err = s.EnqueueBatch(rs, nil)
	s.mu.Lock()
	return len(rs), err
}

func startRequest(v string) (*framework.Request, error) {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "{") {
		return framework.NewRequest(v)
	}
	var j struct {
		URL      string         `json:"url"`
		Meta     map[string]any `json:"meta"`
		Priority int            `json:"priority"`
	}
	if err := json.Unmarshal([]byte(v), &j); err != nil {
		return nil, err
	}
	r, err := framework.NewRequest(j.URL)
	if err != nil {
		return nil, err
	}
	r.Meta, r.Priority = j.Meta, j.Priority
	return r, nil
}

// Finish acknowledges r's lease; finishing it again does nothing.
func (s *Scheduler) Finish(r *framework.Request, outcome error) error {
	s.mu.Lock()
	id, ok := s.out[r]
	delete(s.out, r)
	s.c.Stats.Set(framework.StatInFlight, int64(len(s.out)))
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if _, err := s.store.Ack(s.ctx, []string{id}); err != nil {
		return err
	}
	s.c.Stats.Inc(framework.StatFinished, 1)
	return nil
}

// InFlight returns the number of requests handed out and not finished.
func (s *Scheduler) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.out)
}

// Len returns the crawl-wide number of pending requests plus those this
// worker holds and has not handed out.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.crawlCounts()
	if err != nil {
		return len(s.buf) + len(s.local)
	}
	return int(c.Pending) + len(s.buf) + len(s.local)
}

// HasPending reports whether the crawl may still have work: see Scheduler.
func (s *Scheduler) HasPending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf)+len(s.local)+len(s.out) > 0 {
		s.idleSince = time.Time{}
		return true
	}
	c, err := s.crawlCounts()
	if err != nil || c.Pending+c.Leased > 0 || s.startURLsWaiting() {
		s.idleSince = time.Time{}
		return true
	}
	if s.idleSince.IsZero() {
		s.idleSince = time.Now()
	}
	return time.Since(s.idleSince) < s.cfg.IdleBeforeClose
}

func (s *Scheduler) startURLsWaiting() bool {
	if s.cfg.StartURLsKey == "" {
		return false
	}
	var n int64
	_ = s.store.retry(s.ctx, "start urls", func() error {
		var err error
		if s.cfg.StartURLsAsSet {
			n, err = s.store.client.SCard(s.ctx, s.cfg.StartURLsKey).Result()
		} else {
			n, err = s.store.client.LLen(s.ctx, s.cfg.StartURLsKey).Result()
		}
		return s.store.keyErr(s.cfg.StartURLsKey, err)
	})
	return n > 0
}

// crawlCounts reads the crawl-wide counts at most every 10ms. s.mu is held.
func (s *Scheduler) crawlCounts() (Counts, error) {
	if time.Since(s.countsAt) < 10*time.Millisecond {
		return s.counts, nil
	}
	c, err := s.store.Counts(s.ctx)
	if err != nil {
		return c, err
	}
	s.counts, s.countsAt = c, time.Now()
	return c, nil
}

// PauseSlot keeps slot's requests from being handed out, by any worker,
// before until (a 429 or 503 with Retry-After).
func (s *Scheduler) PauseSlot(slot string, until time.Time) error {
	return s.store.Pause(s.ctx, slot, until)
}

// Flush does nothing: every accepted request is in Redis once Enqueue
// returns.
func (s *Scheduler) Flush() error { return nil }

// Close stops renewing leases (a second Close does nothing) and returns
// this worker's unfinished leases to the crawl at once. Without
// SCHEDULER_PERSIST it then deletes the crawl's queue and fingerprints, as
// scrapy-redis does, but only when it is the last worker of the crawl (no
// other one seen within REDIS_VISIBILITY_TIMEOUT, nothing leased): a worker
// closing early (CLOSESPIDER_*, a shutdown) leaves the shared crawl to the
// others, and the last one deletes it.
func (s *Scheduler) Close(reason string) error {
	if s.store == nil || s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s.mu.Lock()
	ids := s.heldIDs()
	s.buf, s.out = nil, map[*framework.Request]string{}
	s.mu.Unlock()
	var errs []error
	if len(ids) > 0 {
		if _, err := s.store.Extend(ctx, s.cfg.Owner, -time.Hour, ids); err != nil {
			errs = append(errs, err)
		} else if _, err := s.store.Recover(ctx, len(ids)+1000); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := s.leave(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.store.client.Close(); err != nil {
		errs = append(errs, err)
	}
	s.log.Info().Str("reason", reason).Bool("persist", s.cfg.Persist).Msg("Closed the shared frontier")
	return errors.Join(errs...)
}

// leave takes this worker off the crawl's workers; without
// SCHEDULER_PERSIST it then deletes the crawl's keys when this worker was
// the last: no other worker seen within REDIS_VISIBILITY_TIMEOUT and no
// request leased. It logs why it keeps them otherwise.
func (s *Scheduler) leave(ctx context.Context) error {
	others, leased, err := s.store.Leave(ctx, s.cfg.Owner, s.cfg.Pop.Lease)
	if err != nil || s.cfg.Persist {
		return err
	}
	if others+leased > 0 {
		s.log.Info().Int64("other_workers", others).Int64("leased", leased).
			Msg("Keeping the shared crawl without SCHEDULER_PERSIST: other workers are still on it; the last one deletes it")
		return nil
	}
	return s.store.Clear(ctx, true)
}

// heldIDs returns the lease ids of the requests this worker holds. s.mu
// is held.
func (s *Scheduler) heldIDs() []string {
	ids := make([]string, 0, len(s.buf)+len(s.out))
	for _, h := range s.buf {
		ids = append(ids, h.id)
	}
	for _, id := range s.out {
		ids = append(ids, id)
	}
	return ids
}

// keepLeases renews this worker's leases and returns expired ones, every
// third of the visibility timeout, until Close.
func (s *Scheduler) keepLeases() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Pop.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		ids := s.heldIDs()
		s.mu.Unlock()
		if len(ids) > 0 {
			lost, err := s.store.Extend(s.ctx, s.cfg.Owner, s.cfg.Pop.Lease, ids)
			if err != nil {
				continue
			}
			if len(lost) > 0 {
				s.log.Warn().Int("leases", len(lost)).Msg("Leases expired before renewal (Redis unreachable for longer than REDIS_VISIBILITY_TIMEOUT?): their requests may be downloaded twice")
			}
		}
		if n, err := s.store.Recover(s.ctx, 1000); err == nil && n > 0 {
			s.log.Info().Int("requests", n).Msg("Returned expired leases of lost workers to the frontier")
		}
	}
}
