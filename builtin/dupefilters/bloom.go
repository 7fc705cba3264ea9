package dupefilters

import (
	"context"
	"fmt"
	"math"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// BloomDupeFilter filters requests whose fingerprint was probably seen
// before, in a Bloom filter of fixed memory sized for a capacity and a
// false-positive rate (DUPEFILTER_BLOOM_CAPACITY, DUPEFILTER_BLOOM_ERROR_RATE):
// about 1.2 bytes per fingerprint at 1%, against some 31 for the exact
// RFPDupeFilter. A false positive drops a request that was never crawled, at
// the stated rate; a new request is never reported seen otherwise, and a
// seen one is never reported new.
//
// It behaves as Scrapy's RFPDupeFilter otherwise: the crawler's
// fingerprinter, dupefilter/filtered, DUPEFILTER_DEBUG.
//
// With a job directory (BloomConfig.JobDir), the filter is kept in
// JOBDIR/requests.bloom (a checkpoint of its bits) and
// JOBDIR/requests.bloom.log (the fingerprints added since), under the
// fingerprint file's rules; see bloompersist.go and docs/jobdir.md.
//
// It is used from one goroutine (the scheduler's).
type BloomDupeFilter struct {
	fp       framework.Fingerprinter
	stats    framework.Stats
	log      zerolog.Logger
	debug    bool
	logged   bool
	capacity uint64
	rate     float64
	filter   *bloom.BloomFilter
	disk     bloomDisk
}

var (
	_ framework.DupeFilter = (*BloomDupeFilter)(nil)
	_ framework.Flusher    = (*BloomDupeFilter)(nil)
)

// BloomConfig is what a BloomDupeFilter is built from.
type BloomConfig struct {
	Fingerprinter framework.Fingerprinter // required
	Stats         framework.Stats         // may be nil
	Logger        zerolog.Logger
	Debug         bool    // log every duplicate, not only the first (DUPEFILTER_DEBUG)
	Capacity      uint64  // fingerprints the filter is sized for (DUPEFILTER_BLOOM_CAPACITY)
	ErrorRate     float64 // false-positive rate at Capacity (DUPEFILTER_BLOOM_ERROR_RATE)
	// JobDir keeps the filter in JOBDIR/requests.bloom and
	// JOBDIR/requests.bloom.log when not empty.
	JobDir string
	// Fsync is when the log is fsynced (JOBDIR_FSYNC).
	Fsync jobdir.FsyncPolicy
}

// Validate checks the capacity and the error rate.
func (c BloomConfig) Validate() error {
	if c.Fingerprinter == nil {
		return fmt.Errorf("dupefilters: Bloom filter without a fingerprinter")
	}
	if c.Capacity == 0 {
		return fmt.Errorf("dupefilters: DUPEFILTER_BLOOM_CAPACITY is 0: give the number of fingerprints the crawl may record")
	}
	if !(c.ErrorRate > 0 && c.ErrorRate < 1) {
		return fmt.Errorf("dupefilters: DUPEFILTER_BLOOM_ERROR_RATE is %v: it must be between 0 and 1, exclusive (0.01 is 1%%)", c.ErrorRate)
	}
	if m := -float64(c.Capacity) * math.Log(c.ErrorRate) / (math.Ln2 * math.Ln2); m > 1<<40 {
		return fmt.Errorf("dupefilters: DUPEFILTER_BLOOM_CAPACITY %d at DUPEFILTER_BLOOM_ERROR_RATE %v needs %.0f GiB of memory: lower them", c.Capacity, c.ErrorRate, m/8/(1<<30))
	}
	return nil
}

// NewBloomDupeFilter returns an empty filter; its bits are allocated at once.
func NewBloomDupeFilter(cfg BloomConfig) (*BloomDupeFilter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &BloomDupeFilter{
		fp:       cfg.Fingerprinter,
		stats:    cfg.Stats,
		log:      cfg.Logger,
		debug:    cfg.Debug,
		capacity: cfg.Capacity,
		rate:     cfg.ErrorRate,
		filter:   bloom.NewWithEstimates(uint(cfg.Capacity), cfg.ErrorRate),
		disk:     bloomDisk{dir: cfg.JobDir, policy: cfg.Fsync},
	}, nil
}

// BloomDupeFilterFactory is the registry factory of [BloomDupeFilter]: it
// uses the crawler's fingerprinter, stats, logger, job directory,
// DUPEFILTER_DEBUG, DUPEFILTER_BLOOM_CAPACITY and DUPEFILTER_BLOOM_ERROR_RATE.
func BloomDupeFilterFactory(ctx context.Context, c *framework.Crawler) (framework.DupeFilter, error) {
	fp, err := c.Fingerprinter(ctx)
	if err != nil {
		return nil, err
	}
	debug, err := c.Settings.GetBool("DUPEFILTER_DEBUG")
	if err != nil {
		return nil, err
	}
	capacity, err := c.Settings.GetInt("DUPEFILTER_BLOOM_CAPACITY")
	if err != nil {
		return nil, err
	}
	rate, err := c.Settings.GetFloat("DUPEFILTER_BLOOM_ERROR_RATE")
	if err != nil {
		return nil, err
	}
	job, err := c.Job()
	if err != nil {
		return nil, err
	}
	cfg := BloomConfig{
		Fingerprinter: fp,
		Stats:         c.Stats,
		Logger:        c.Logger.With().Str("component", "dupefilter").Logger(),
		Debug:         debug,
		Capacity:      uint64(max(capacity, 0)),
		ErrorRate:     rate,
	}
	if job != nil {
		cfg.JobDir, cfg.Fsync = job.Dir, job.Fsync
	}
	return NewBloomDupeFilter(cfg)
}

// Open prepares the filter: with a job directory, it loads what is kept there.
func (f *BloomDupeFilter) Open(context.Context) error { return f.openDisk() }

// RequestSeen records r's fingerprint and reports whether it was (probably)
// seen before.
func (f *BloomDupeFilter) RequestSeen(r *framework.Request) (bool, error) {
	fp, err := f.fp.Fingerprint(r)
	if err != nil {
		return false, err
	}
	if f.filter.TestOrAdd(fp[:]) {
		return true, nil
	}
	f.recordNew(fp)
	return false, nil
}

// ApproximateCount estimates the fingerprints recorded, from the bits set.
func (f *BloomDupeFilter) ApproximateCount() uint64 {
	return uint64(f.filter.ApproximatedSize())
}

// Bits returns the size of the filter in bits (m) and its hashes per
// fingerprint (k).
func (f *BloomDupeFilter) Bits() (m, k uint) { return f.filter.Cap(), f.filter.K() }

// Log counts a filtered duplicate in dupefilter/filtered and logs it: every
// time with DUPEFILTER_DEBUG, otherwise the first time only.
func (f *BloomDupeFilter) Log(r *framework.Request) {
	if f.stats != nil {
		f.stats.Inc(framework.StatDupeFilterFiltered, 1)
	}
	switch {
	case f.debug:
		ev := f.log.Debug().Str("request", r.String())
		if ref := r.Headers.Get("Referer"); ref != "" {
			ev = ev.Str("referer", ref)
		} else {
			ev = ev.Interface("referer", nil)
		}
		ev.Msg("Filtered duplicate request")
	case !f.logged:
		f.log.Debug().Str("request", r.String()).
			Msg("Filtered duplicate request - no more duplicates will be shown (see DUPEFILTER_DEBUG to show all duplicates)")
		f.logged = true
	}
}

// Close writes what is not yet written, with a job directory, checkpoints
// the filter and releases it.
func (f *BloomDupeFilter) Close(string) error { return f.closeDisk() }
