package redisfrontier

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/internal/redisbloom"
)

// Store is one crawl's shared frontier in Redis: the pending requests under
// the queue prefix, the fingerprints under the dupefilter prefix, and the
// leases. Every method is one script (or one command) and so one round
// trip; methods are safe for concurrent use, by any number of processes.
//
// A call that fails because Redis cannot be reached (refused, reset, timed
// out, loading its data after a restart) is retried with a backoff from
// 50ms to 5s, logged at each attempt, until ctx ends. A call whose reply
// was lost may have run: a retried push then finds its fingerprints seen
// (the requests are queued once), a retried pop leaves leases nobody
// holds, which expire and are delivered again.
type Store struct {
	client redis.UniversalClient
	cfg    StoreConfig
	shards int
	log    zerolog.Logger
	bloom  *redisbloom.Filter // set: Push filters with it instead of the exact set
}

// UseBloom makes Push filter fingerprints with f, in the same script as the
// push, instead of the exact set (the Redis scheduler with
// DUPEFILTER_CLASS frontier.redis.BloomDupeFilter). f's keys must share the
// crawl's hash tag.
func (s *Store) UseBloom(f *redisbloom.Filter) { s.bloom = f }

// Bloom returns the filter Push uses, or nil for the exact set.
func (s *Store) Bloom() *redisbloom.Filter { return s.bloom }

// StoreConfig says where a crawl's keys are and how its queues order.
type StoreConfig struct {
	// QueueKey is the prefix of the queue keys (SCHEDULER_QUEUE_KEY,
	// substituted); DupeKey the prefix of the fingerprint shards
	// (SCHEDULER_DUPEFILTER_KEY, substituted). Both should share one hash
	// tag for Redis Cluster.
	QueueKey, DupeKey string
	// LIFO pops the newest request of a priority first.
	LIFO bool
	// NoPriority queues every request at priority 0 (scrapy-redis's
	// FifoQueue and LifoQueue).
	NoPriority bool
	// Capacity is the expected number of fingerprints; it sizes the shards
	// (32 fingerprints each) when the crawl's first worker opens it, and is
	// ignored after (REDIS_DUPEFILTER_CAPACITY).
	Capacity int
}

// Validate checks the configuration.
func (c StoreConfig) Validate() error {
	if c.QueueKey == "" || c.DupeKey == "" {
		return fmt.Errorf("%w: SCHEDULER_QUEUE_KEY and SCHEDULER_DUPEFILTER_KEY must not be empty", ErrConfig)
	}
	if c.Capacity < 1 {
		return fmt.Errorf("%w: REDIS_DUPEFILTER_CAPACITY %d: must be at least 1", ErrConfig, c.Capacity)
	}
	return nil
}

// fingerprintsPerShard keeps each shard a listpack (Redis's
// hash-max-listpack-entries is 128 by default) with room for four times
// the capacity. A new fingerprint is compared with every field of its
// shard: 32 fields cost Redis 1-9% less CPU per enqueue than 64 (six
// runs at 1M, one and four workers), for 1.5 more bytes per fingerprint
// (29 instead of 27.5).
const fingerprintsPerShard = 32

// OpenStore opens the crawl's store: it fixes the number of fingerprint
// shards at the first open (DupeKey:info) and reads it on the next ones.
func OpenStore(ctx context.Context, client redis.UniversalClient, cfg StoreConfig, log zerolog.Logger) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Store{client: client, cfg: cfg, log: log}
	want := (cfg.Capacity + fingerprintsPerShard - 1) / fingerprintsPerShard
	info := cfg.DupeKey + ":info"
	err := s.retry(ctx, "open", func() error {
		if err := client.HSetNX(ctx, info, "shards", want).Err(); err != nil {
			return s.keyErr(info, err)
		}
		v, err := client.HGet(ctx, info, "shards").Result()
		if err != nil {
			return s.keyErr(info, err)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%w: %s field shards = %q, want a positive integer: delete the key or use another SCHEDULER_DUPEFILTER_KEY", ErrBadValue, info, v)
		}
		s.shards = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Client returns the store's Redis client.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Config returns the store's configuration.
func (s *Store) Config() StoreConfig { return s.cfg }

// Item is a request to push: its fingerprint (nil: never filtered), its
// host (download slot), priority and record.
type Item struct {
	FP       []byte
	Host     string
	Priority int
	Record   []byte
}

// Lease is a request handed out: its lease id, whether it was handed out
// before (an expired lease), and its record.
type Lease struct {
	ID          string
	Redelivered bool
	Record      []byte
}

// Push checks the fingerprints and queues the items whose fingerprint was
// not seen, in one script; accepted[i] reports item i queued.
func (s *Store) Push(ctx context.Context, items []Item) (accepted []bool, err error) {
	if len(items) == 0 {
		return nil, nil
	}
	if s.bloom != nil {
		return s.pushBloom(ctx, items)
	}
	args := make([]any, 0, 3+5*len(items))
	args = append(args, s.cfg.QueueKey, s.cfg.DupeKey, flag(s.cfg.LIFO))
	for _, it := range items {
		shard := ""
		fp := it.FP
		if fp != nil {
			shard = strconv.Itoa(s.shard(fp))
		} else {
			fp = []byte{}
		}
		prio, entry := s.queued(it)
		args = append(args, fp, shard, it.Host, prio, entry)
	}
	var res []any
	err = s.retry(ctx, "enqueue", func() error {
		r, err := enqueueScript.Run(ctx, s.client, []string{s.metaKey()}, args...).Slice()
		res = r
		return s.keyErr(s.cfg.QueueKey, err)
	})
	if err != nil {
		return nil, err
	}
	return acceptedFrom(res), nil
}

// pushBloom is Push with the Bloom filter: the bits of every fingerprint
// are set, and the requests whose bits were not all set before are queued,
// in one script.
func (s *Store) pushBloom(ctx context.Context, items []Item) ([]bool, error) {
	var fps [][]byte
	for _, it := range items {
		if it.FP != nil {
			fps = append(fps, it.FP)
		}
	}
	bargs, bitsOf, err := s.bloom.Plan(fps)
	if err != nil {
		return nil, err
	}
	args := make([]any, 0, 3+8*len(items)+len(bargs))
	args = append(args, s.cfg.QueueKey, flag(s.cfg.LIFO), len(items))
	k := 0
	for _, it := range items {
		prio, entry := s.queued(it)
		var bits []int
		if it.FP != nil {
			bits = bitsOf[k]
			k++
		}
		args = append(args, it.Host, prio, entry, len(bits))
		for _, b := range bits {
			args = append(args, b)
		}
	}
	args = append(args, bargs...)
	keys := append([]string{s.metaKey()}, s.bloom.Keys()...)
	var res []any
	err = s.retry(ctx, "enqueue", func() error {
		r, err := enqueueBloomScript.Run(ctx, s.client, keys, args...).Slice()
		if err != nil && strings.Contains(err.Error(), "FRONTIERBLOOM") {
			return s.bloom.ScriptError(err)
		}
		res = r
		return s.keyErr(s.cfg.QueueKey, err)
	})
	if err != nil {
		return nil, err
	}
	return acceptedFrom(res), nil
}

// queued returns how an item is queued: its priority (0 for queues without
// priorities) and its entry, "n" and the record.
func (s *Store) queued(it Item) (prio string, entry []byte) {
	p := it.Priority
	if s.cfg.NoPriority {
		p = 0
	}
	entry = make([]byte, 1+len(it.Record))
	entry[0] = 'n'
	copy(entry[1:], it.Record)
	return strconv.Itoa(p), entry
}

// acceptedFrom reads an enqueue script's reply: one 0/1 per request.
func acceptedFrom(res []any) []bool {
	accepted := make([]bool, len(res))
	for i, v := range res {
		accepted[i] = v == int64(1)
	}
	return accepted
}

// PopOptions are the politeness limits of a pop.
type PopOptions struct {
	Lease   time.Duration // visibility timeout
	Delay   time.Duration // DOWNLOAD_DELAY between two requests of a host
	PerHost int           // CONCURRENT_REQUESTS_PER_DOMAIN, leased crawl-wide; 0: no limit
}

// Pop leases at most max requests to owner.
func (s *Store) Pop(ctx context.Context, owner string, max int, o PopOptions) ([]Lease, error) {
	var res []any
	err := s.retry(ctx, "pop", func() error {
		r, err := popScript.Run(ctx, s.client, []string{s.metaKey()}, s.cfg.QueueKey, owner, max,
			o.Lease.Milliseconds(), o.Delay.Milliseconds(), o.PerHost, flag(s.cfg.LIFO)).Slice()
		res = r
		return s.keyErr(s.cfg.QueueKey, err)
	})
	if err != nil {
		return nil, err
	}
	if len(res) == 0 {
		return nil, nil
	}
	batch := fmt.Sprint(res[0])
	out := make([]Lease, 0, len(res)-1)
	for k, v := range res[1:] {
		id := batch + "." + strconv.Itoa(k+1)
		e, _ := v.(string)
		if len(e) == 0 || (e[0] != 'n' && e[0] != 'r') {
			return out, fmt.Errorf("%w: lease %s of %s holds %q, not a frontier entry: was the key written by another program?", ErrBadValue, id, s.cfg.QueueKey, trunc(e))
		}
		out = append(out, Lease{ID: id, Redelivered: e[0] == 'r', Record: []byte(e[1:])})
	}
	return out, nil
}

// Ack ends the leases ids; an id that is no longer a lease (acknowledged
// before, or expired and handed out again) is ignored. It returns how many
// were leases.
func (s *Store) Ack(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := s.retry(ctx, "ack", func() error {
		var err error
		n, err = ackScript.Run(ctx, s.client, []string{s.metaKey()}, argv(s.cfg.QueueKey, ids)...).Int64()
		return s.keyErr(s.cfg.QueueKey, err)
	})
	return int(n), err
}

// Extend renews owner's leases ids for lease from now and returns the ids
// that are no longer its leases.
func (s *Store) Extend(ctx context.Context, owner string, lease time.Duration, ids []string) (lost []string, err error) {
	err = s.retry(ctx, "extend leases", func() error {
		args := append([]any{s.cfg.QueueKey, owner, lease.Milliseconds()}, toAny(ids)...)
		lost, err = extendScript.Run(ctx, s.client, []string{s.metaKey()}, args...).StringSlice()
		return s.keyErr(s.cfg.QueueKey, err)
	})
	return lost, err
}

// Recover returns at most max expired leases to the front of their queues
// and returns how many it returned.
func (s *Store) Recover(ctx context.Context, max int) (int, error) {
	var n int64
	err := s.retry(ctx, "recover leases", func() error {
		var err error
		n, err = recoverScript.Run(ctx, s.client, []string{s.metaKey()}, s.cfg.QueueKey, flag(s.cfg.LIFO), max).Int64()
		return s.keyErr(s.cfg.QueueKey, err)
	})
	return int(n), err
}

// Pause keeps host's requests from being handed out before until (a 429 or
// 503 with Retry-After), crawl-wide.
func (s *Store) Pause(ctx context.Context, host string, until time.Time) error {
	return s.retry(ctx, "pause host", func() error {
		err := pauseScript.Run(ctx, s.client, []string{s.metaKey()}, s.cfg.QueueKey, host, until.UnixMilli()).Err()
		return s.keyErr(s.cfg.QueueKey, err)
	})
}

// Seen records the fingerprints and reports for each whether it was
// recorded before, in one script.
func (s *Store) Seen(ctx context.Context, fps [][]byte) ([]bool, error) {
	args := make([]any, 0, 1+2*len(fps))
	args = append(args, s.cfg.DupeKey)
	for _, fp := range fps {
		args = append(args, s.shard(fp), fp)
	}
	var res []int64
	err := s.retry(ctx, "dupefilter", func() error {
		var err error
		res, err = seenScript.Run(ctx, s.client, []string{s.cfg.DupeKey + ":info"}, args...).Int64Slice()
		return s.keyErr(s.cfg.DupeKey, err)
	})
	if err != nil {
		return nil, err
	}
	seen := make([]bool, len(res))
	for i, v := range res {
		seen[i] = v == 1
	}
	return seen, nil
}

// Leave removes owner from the crawl's workers and returns how many other
// workers renewed their leases or popped within lease, and how many
// requests are leased crawl-wide.
func (s *Store) Leave(ctx context.Context, owner string, lease time.Duration) (others, leased int64, err error) {
	err = s.retry(ctx, "leave", func() error {
		r, err := leaveScript.Run(ctx, s.client, []string{s.metaKey()}, s.cfg.QueueKey, owner, lease.Milliseconds()).Int64Slice()
		if err == nil && len(r) == 2 {
			others, leased = r[0], r[1]
		}
		return s.keyErr(s.cfg.QueueKey, err)
	})
	return others, leased, err
}

// Counts are the crawl-wide totals kept in the queue's meta hash.
type Counts struct {
	Pending, Leased, Redelivered, Seq int64
}

// Counts reads the crawl-wide totals.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.retry(ctx, "counts", func() error {
		m, err := s.client.HGetAll(ctx, s.metaKey()).Result()
		if err != nil {
			return s.keyErr(s.metaKey(), err)
		}
		for k, p := range map[string]*int64{"pending": &c.Pending, "leased": &c.Leased, "redelivered": &c.Redelivered, "seq": &c.Seq} {
			if v, ok := m[k]; ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return fmt.Errorf("%w: %s field %s = %q, want an integer", ErrBadValue, s.metaKey(), k, trunc(v))
				}
				*p = n
			}
		}
		return nil
	})
	return c, err
}

// Clear deletes the crawl's queue keys (and, with fingerprints, its
// fingerprint shards): scrapy-redis's flush on close without
// SCHEDULER_PERSIST and SCHEDULER_FLUSH_ON_START.
func (s *Store) Clear(ctx context.Context, fingerprints bool) error {
	prefixes := []string{s.cfg.QueueKey}
	if fingerprints {
		prefixes = append(prefixes, s.cfg.DupeKey)
	}
	for _, p := range prefixes {
		if err := s.deletePrefix(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) deletePrefix(ctx context.Context, prefix string) error {
	del := func(ctx context.Context, c redis.Cmdable) error {
		it := c.Scan(ctx, 0, globEscape(prefix)+":*", 1000).Iterator()
		var batch []string
		for it.Next(ctx) {
			batch = append(batch, it.Val())
			if len(batch) == 500 {
				if err := c.Unlink(ctx, batch...).Err(); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if err := it.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			return c.Unlink(ctx, batch...).Err()
		}
		return nil
	}
	return s.retry(ctx, "clear", func() error {
		if cc, ok := s.client.(*redis.ClusterClient); ok {
			return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return del(ctx, c) })
		}
		return del(ctx, s.client)
	})
}

func (s *Store) metaKey() string { return s.cfg.QueueKey + ":meta" }

func (s *Store) shard(fp []byte) int {
	var b [4]byte
	copy(b[:], fp)
	return int(binary.BigEndian.Uint32(b[:]) % uint32(s.shards))
}

// keyErr names the key in a Redis reply error (WRONGTYPE: a foreign value).
func (s *Store) keyErr(key string, err error) error {
	if err == nil || errors.Is(err, redis.Nil) || !isReply(err) || retryableReply(err) {
		return err
	}
	return fmt.Errorf("%w: under %s: %w (another program's key? delete it or choose another key)", ErrBadValue, key, err)
}

// retry runs f until it succeeds, fails with an error that retrying does
// not cure, or ctx ends.
func (s *Store) retry(ctx context.Context, op string, f func() error) error {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, redis.ErrClosed) {
			return err
		}
		if isReply(err) && !retryableReply(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("redisfrontier: %s: %w (gave up: %w)", op, err, ctx.Err())
		}
		s.log.Warn().Err(err).Str("op", op).Int("attempt", attempt).Dur("retry_in", backoff).
			Msg("Redis unreachable; retrying (nothing is lost meanwhile)")
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("redisfrontier: %s: %w (gave up: %w)", op, err, ctx.Err())
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// isReply reports whether err is an error reply of the server (as opposed
// to a network error).
func isReply(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, redis.ErrClosed)
}

// retryableReply reports server replies that pass: loading the data after
// a restart, busy with a script, failing over.
func retryableReply(err error) bool {
	m := err.Error()
	for _, p := range []string{"LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func argv(first string, rest []string) []any {
	return append([]any{first}, toAny(rest)...)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
	return r.Replace(s)
}
