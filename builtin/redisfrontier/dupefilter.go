package redisfrontier

import (
	"context"
	"errors"

	"github.com/frontier-go/frontier/framework"
)

// DupeFilter is the exact Redis dupefilter (scrapy-redis's
// scrapy_redis.dupefilter.RFPDupeFilter): the 20-byte fingerprints of the
// crawl, shared by its workers, as fields of small hashes under
// SCHEDULER_DUPEFILTER_KEY (about 25 bytes of Redis memory each). The Redis
// scheduler checks fingerprints inside its enqueue script and does not need
// it; it serves the default scheduler, so that workers with their own
// queues share the seen set. Each check is one atomic HSETNX: race-free
// across workers. Calls come from one goroutine.
type DupeFilter struct {
	c     *framework.Crawler
	fp    framework.Fingerprinter
	cfg   SchedulerConfig
	store *Store
	ctx   context.Context
	debug bool
}

var _ framework.DupeFilter = (*DupeFilter)(nil)

// NewDupeFilter builds the dupefilter from c's settings (the
// frontier.redis.RFPDupeFilter factory); it connects at Open.
func NewDupeFilter(ctx context.Context, c *framework.Crawler) (framework.DupeFilter, error) {
	cfg, err := ConfigFrom(c)
	if err != nil {
		return nil, err
	}
	fp, err := c.Fingerprinter(ctx)
	if err != nil {
		return nil, err
	}
	debug, err := c.Settings.GetBool("DUPEFILTER_DEBUG")
	if err != nil {
		debug = false
	}
	return &DupeFilter{c: c, fp: fp, cfg: cfg, debug: debug}, nil
}

// Open connects to Redis.
func (d *DupeFilter) Open(ctx context.Context) error {
	client, err := NewClient(d.cfg.Client)
	if err != nil {
		return err
	}
	d.ctx = context.WithoutCancel(ctx)
	d.store, err = OpenStore(d.ctx, client, d.cfg.Store, d.c.Logger.With().Str("component", "redis-dupefilter").Logger())
	return err
}

// RequestSeen records r's fingerprint and reports whether it was recorded
// before, by any worker.
func (d *DupeFilter) RequestSeen(r *framework.Request) (bool, error) {
	if d.store == nil {
		return false, errors.New("redisfrontier: dupefilter used before Open")
	}
	f, err := d.fp.Fingerprint(r)
	if err != nil {
		return false, err
	}
	seen, err := d.store.Seen(d.ctx, [][]byte{f[:]})
	if err != nil {
		return false, err
	}
	return seen[0], nil
}

// Log counts a filtered request (dupefilter/filtered).
func (d *DupeFilter) Log(r *framework.Request) {
	d.c.Stats.Inc("dupefilter/filtered", 1)
	if d.debug {
		d.c.Logger.Debug().Str("url", r.URL).Msg("Filtered duplicate request")
	}
}

// Close keeps the fingerprints without SCHEDULER_PERSIST only when the
// Redis scheduler is not the one deleting them; it closes the connection.
func (d *DupeFilter) Close(reason string) error {
	if d.store == nil {
		return nil
	}
	return d.store.client.Close()
}
