package host

import (
	"context"
	"fmt"
	"sync"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
)

// dupeFilter is a plugin duplicate filter seen from the host. The host
// computes fingerprints with the crawl's fingerprinter and asks the plugin
// one request at a time (RequestSeen needs the answer). Log runs in the host,
// as Scrapy's RFPDupeFilter.log: the dupefilter/filtered stat, and a debug
// line for the first duplicate or, with DUPEFILTER_DEBUG, for each.
type dupeFilter struct {
	p     *process
	cl    pluginpb.DupeFilterServiceClient
	name  string
	c     *framework.Crawler
	fp    framework.Fingerprinter
	debug bool
	log   zerolog.Logger

	mu       sync.Mutex
	handle   uint64
	opened   bool
	closed   bool
	logDupes bool
}

var _ framework.DupeFilter = (*dupeFilter)(nil)

func newDupeFilter(ctx context.Context, p *process, c *framework.Crawler, name string) (*dupeFilter, error) {
	clients, err := p.ensure(ctx, c.Logger)
	if err != nil {
		return nil, err
	}
	debug, err := c.Settings.GetBool("DUPEFILTER_DEBUG")
	if err != nil {
		return nil, err
	}
	return &dupeFilter{
		p:        p,
		cl:       clients.DupeFilter,
		name:     name,
		c:        c,
		debug:    debug,
		log:      c.Logger.With().Str("component", name).Logger(),
		logDupes: true,
	}, nil
}

// Open opens the plugin's filter with the crawl's JOBDIR.
func (d *dupeFilter) Open(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opened {
		return nil
	}
	fp, err := d.c.Fingerprinter(ctx)
	if err != nil {
		return err
	}
	job, err := d.c.Job()
	if err != nil {
		return err
	}
	var dir string
	if job != nil {
		dir = job.Dir
	}
	resp, err := call(d.p, "Open "+d.name, d.cl.Open, &pluginpb.OpenDupeFilterRequest{Name: d.name, JobDir: dir, Debug: d.debug})
	if err != nil {
		return err
	}
	d.fp, d.handle, d.opened = fp, resp.GetHandle(), true
	d.p.track(d)
	return nil
}

// RequestSeen asks the plugin whether r's fingerprint was seen.
func (d *dupeFilter) RequestSeen(r *framework.Request) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.opened || d.closed {
		return false, fmt.Errorf("plugin dupefilter %s: %w (not open)", d.name, framework.ErrClosed)
	}
	f, err := d.fp.Fingerprint(r)
	if err != nil {
		return false, err
	}
	resp, err := call(d.p, "Seen "+d.name, d.cl.Seen, &pluginpb.SeenRequest{Handle: d.handle, Fingerprint: f[:], Url: r.URL, Method: r.Method})
	if err != nil {
		return false, err
	}
	return resp.GetSeen(), nil
}

// Log records a filtered request, as Scrapy's RFPDupeFilter.log.
func (d *dupeFilter) Log(r *framework.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.debug {
		d.log.Debug().Str("request", r.String()).Msg("Filtered duplicate request")
	} else if d.logDupes {
		d.log.Debug().Str("request", r.String()).Msg("Filtered duplicate request - no more duplicates will be shown (see DUPEFILTER_DEBUG to show all duplicates)")
		d.logDupes = false
	}
	d.c.Stats.Inc(framework.StatDupeFilterFiltered, 1)
}

// Close closes the plugin's filter.
func (d *dupeFilter) Close(reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.close(reason)
}

func (d *dupeFilter) close(reason string) error {
	if d.closed || !d.opened {
		d.closed = true
		return nil
	}
	d.closed = true
	defer d.p.untrack(d)
	_, err := call(d.p, "Close "+d.name, d.cl.Close, &pluginpb.CloseDupeFilterRequest{Handle: d.handle, Reason: reason})
	return err
}

func (d *dupeFilter) closeForShutdown() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.close("shutdown"); err != nil {
		d.log.Warn().Err(err).Msg("closing plugin dupefilter at shutdown")
	}
}
