package dupefilters

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// BaseDupeFilter filters nothing: every request is new.
type BaseDupeFilter struct{}

var _ framework.DupeFilter = BaseDupeFilter{}

func (BaseDupeFilter) Open(context.Context) error                   { return nil }
func (BaseDupeFilter) RequestSeen(*framework.Request) (bool, error) { return false, nil }
func (BaseDupeFilter) Log(*framework.Request)                       {}
func (BaseDupeFilter) Close(string) error                           { return nil }

// BaseDupeFilterFactory is the registry factory of [BaseDupeFilter].
func BaseDupeFilterFactory(context.Context, *framework.Crawler) (framework.DupeFilter, error) {
	return BaseDupeFilter{}, nil
}

// RFPDupeFilter filters requests whose fingerprint was seen before, as
// Scrapy's RFPDupeFilter. Fingerprints are kept as 20-byte values in an
// open-addressing set (at most about 31 bytes of memory each).
//
// With a job directory (RFPConfig.JobDir), the fingerprints are kept in
// JOBDIR/requests.fingerprints and loaded at Open; see persist.go.
type RFPDupeFilter struct {
	fp     framework.Fingerprinter
	stats  framework.Stats
	log    zerolog.Logger
	debug  bool
	logged bool
	seen   *fpSet
	disk   diskState
}

var (
	_ framework.DupeFilter = (*RFPDupeFilter)(nil)
	_ framework.Flusher    = (*RFPDupeFilter)(nil)

	_ framework.BatchDupeFilter = (*RFPDupeFilter)(nil)
)

// RFPConfig is what an RFPDupeFilter is built from.
type RFPConfig struct {
	Fingerprinter framework.Fingerprinter // required
	Stats         framework.Stats         // may be nil
	Logger        zerolog.Logger
	Debug         bool // log every duplicate, not only the first (DUPEFILTER_DEBUG)
	// JobDir keeps the fingerprints in JOBDIR/requests.fingerprints when not
	// empty (Scrapy's path argument); a Scrapy requests.seen there is
	// imported when the job has no fingerprint file yet.
	JobDir string
	// Fsync is when the fingerprint file is fsynced (JOBDIR_FSYNC).
	Fsync jobdir.FsyncPolicy
}

// NewRFPDupeFilter returns an empty filter.
func NewRFPDupeFilter(cfg RFPConfig) *RFPDupeFilter {
	return &RFPDupeFilter{
		fp:    cfg.Fingerprinter,
		stats: cfg.Stats,
		log:   cfg.Logger,
		debug: cfg.Debug,
		seen:  newFPSet(0),
		disk:  diskState{dir: cfg.JobDir, policy: cfg.Fsync},
	}
}

// RFPDupeFilterFactory is the registry factory of [RFPDupeFilter]: it uses
// the crawler's fingerprinter, stats, logger and DUPEFILTER_DEBUG.
func RFPDupeFilterFactory(ctx context.Context, c *framework.Crawler) (framework.DupeFilter, error) {
	fp, err := c.Fingerprinter(ctx)
	if err != nil {
		return nil, err
	}
	debug, err := c.Settings.GetBool("DUPEFILTER_DEBUG")
	if err != nil {
		return nil, err
	}
	job, err := c.Job()
	if err != nil {
		return nil, err
	}
	cfg := RFPConfig{
		Fingerprinter: fp,
		Stats:         c.Stats,
		Logger:        c.Logger.With().Str("component", "dupefilter").Logger(),
		Debug:         debug,
	}
	if job != nil {
		cfg.JobDir, cfg.Fsync = job.Dir, job.Fsync
	}
	return NewRFPDupeFilter(cfg), nil
}

// Open prepares the filter: with a job directory, it loads the fingerprints
// kept there.
func (f *RFPDupeFilter) Open(context.Context) error { return f.openDisk() }

// RequestSeen records r's fingerprint and reports whether it was seen before.
func (f *RFPDupeFilter) RequestSeen(r *framework.Request) (bool, error) {
	fp, err := f.fp.Fingerprint(r)
	if err != nil {
		return false, err
	}
	return f.FingerprintSeen(r, &fp)
}

// Fingerprints computes the fingerprints of rs, with a second goroutine
// when there are enough of them to pay for it, and hands each to use in
// order as soon as it is ready (see framework.BatchDupeFilter); it records
// nothing.
func (f *RFPDupeFilter) Fingerprints(rs []*framework.Request, fps []framework.Fingerprint, errs []error, use func(i int) error) error {
	return fingerprintBatch(f.fp, rs, fps, errs, f.seen.Touch, use)
}

// FingerprintSeen is RequestSeen for r, whose fingerprint is fp.
func (f *RFPDupeFilter) FingerprintSeen(_ *framework.Request, fp *framework.Fingerprint) (bool, error) {
	if !f.seen.Add(fp) {
		return true, nil
	}
	f.recordNew(*fp)
	return false, nil
}

// Len returns the number of fingerprints recorded.
func (f *RFPDupeFilter) Len() int { return f.seen.Len() }

// Log counts a filtered duplicate in dupefilter/filtered and logs it: every
// time with DUPEFILTER_DEBUG, otherwise the first time only.
func (f *RFPDupeFilter) Log(r *framework.Request) {
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

// Close writes the fingerprints not yet written, with a job directory, and
// releases the filter.
func (f *RFPDupeFilter) Close(string) error { return f.closeDisk() }
