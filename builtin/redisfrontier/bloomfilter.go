package redisfrontier

import (
	"context"
	"errors"
	"fmt"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/redisbloom"
)

// BloomDupeFilter is a Bloom-filter dupefilter in Redis, shared by the
// crawl's workers (frontier.redis.BloomDupeFilter): DUPEFILTER_BLOOM_CAPACITY
// fingerprints at DUPEFILTER_BLOOM_ERROR_RATE false positives, in bitmaps
// set by a script (no Redis module), under SCHEDULER_DUPEFILTER_KEY's hash
// tag ({spider}:dupefilter:bloom and its :bits:<n> keys). At 1% it takes
// about 1.2 bytes per fingerprint, against about 25 for the exact set; a
// false positive drops a new request as a duplicate. Checking and setting a
// fingerprint is one atomic step: of two workers offering one request,
// exactly one sees it new. RequestsSeen checks many in one round trip.
type BloomDupeFilter struct {
	c         *framework.Crawler
	fp        framework.Fingerprinter
	cfg       SchedulerConfig
	capacity  uint64
	errorRate float64
	filter    *redisbloom.Filter
	closeFn   func() error
	ctx       context.Context
	debug     bool
}

var _ framework.DupeFilter = (*BloomDupeFilter)(nil)

// NewBloomDupeFilter builds the dupefilter from c's settings (the
// frontier.redis.BloomDupeFilter factory); it connects at Open.
func NewBloomDupeFilter(ctx context.Context, c *framework.Crawler) (framework.DupeFilter, error) {
	cfg, err := ConfigFrom(c)
	if err != nil {
		return nil, err
	}
	fp, err := c.Fingerprinter(ctx)
	if err != nil {
		return nil, err
	}
	b, err := bloomOptionsFrom(c.Settings)
	if err != nil {
		return nil, err
	}
	debug, err := c.Settings.GetBool("DUPEFILTER_DEBUG")
	if err != nil {
		debug = false
	}
	return &BloomDupeFilter{c: c, fp: fp, cfg: cfg, capacity: b.Capacity, errorRate: b.ErrorRate, debug: debug}, nil
}

// BloomKey is the header key of the crawl's Redis Bloom filter, under the
// dupefilter prefix (and so its hash tag).
func BloomKey(dupeKey string) string { return dupeKey + ":bloom" }

// Open connects to Redis and creates the filter, or checks that the
// crawl's existing filter has the same capacity and error rate.
func (d *BloomDupeFilter) Open(ctx context.Context) error {
	client, err := NewClient(d.cfg.Client)
	if err != nil {
		return err
	}
	d.ctx = context.WithoutCancel(ctx)
	d.closeFn = client.Close
	d.filter, err = redisbloom.New(client, BloomKey(d.cfg.Store.DupeKey), d.capacity, d.errorRate)
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("redisfrontier: Bloom dupefilter: %w", err)
	}
	return nil
}

// Filter returns the Redis Bloom filter (nil before Open).
func (d *BloomDupeFilter) Filter() *redisbloom.Filter { return d.filter }

// RequestSeen records r's fingerprint and reports whether it was (probably)
// recorded before, by any worker.
func (d *BloomDupeFilter) RequestSeen(r *framework.Request) (bool, error) {
	seen, err := d.RequestsSeen([]*framework.Request{r})
	if err != nil {
		return false, err
	}
	return seen[0], nil
}

// RequestsSeen records the fingerprints of rs in one round trip and
// reports for each whether it was (probably) recorded before; of two equal
// requests in rs, the second is seen.
func (d *BloomDupeFilter) RequestsSeen(rs []*framework.Request) ([]bool, error) {
	if d.filter == nil {
		return nil, errors.New("redisfrontier: Bloom dupefilter used before Open")
	}
	fps := make([][]byte, len(rs))
	for i, r := range rs {
		f, err := d.fp.Fingerprint(r)
		if err != nil {
			return nil, err
		}
		fps[i] = f[:]
	}
	added, err := d.filter.Add(d.ctx, fps)
	if err != nil {
		return nil, err
	}
	seen := make([]bool, len(added))
	for i, a := range added {
		seen[i] = !a
	}
	return seen, nil
}

// Log counts a filtered request (dupefilter/filtered).
func (d *BloomDupeFilter) Log(r *framework.Request) {
	d.c.Stats.Inc("dupefilter/filtered", 1)
	if d.debug {
		d.c.Logger.Debug().Str("url", r.URL).Msg("Filtered duplicate request (Bloom filter)")
	}
}

// Close closes the connection; the filter stays in Redis with the crawl's
// other keys (the scheduler deletes them without SCHEDULER_PERSIST).
func (d *BloomDupeFilter) Close(reason string) error {
	if d.closeFn == nil {
		return nil
	}
	return d.closeFn()
}
