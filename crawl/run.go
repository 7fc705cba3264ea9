package crawl

import (
	"context"
	"errors"
	"fmt"

	"github.com/frontier-go/frontier/engine"
	"github.com/frontier-go/frontier/framework"
)

// Crawl is a crawl ready to run: the engine (downloader, middlewares) and
// the open frontier it takes requests from. Run it once.
type Crawl struct {
	frontier *Frontier
	engine   *engine.Engine
}

// NewCrawl builds the crawl opts describe with the engine options eo (item
// feeds, an item callback) and opens its frontier, with its job directory
// when JOBDIR is set: a job that stopped before resumes.
func NewCrawl(ctx context.Context, opts Options, eo engine.Options) (*Crawl, error) {
	c, plugins, err := opts.crawler()
	if err != nil {
		return nil, err
	}
	e, err := engine.New(c, eo)
	if err != nil {
		return nil, errors.Join(err, plugins.Close())
	}
	f, err := open(ctx, c)
	if err != nil {
		return nil, errors.Join(err, plugins.Close())
	}
	f.plugins = plugins
	return &Crawl{frontier: f, engine: e}, nil
}

// Run crawls until the crawl is finished, a CLOSESPIDER_* limit is
// reached, or ctx is cancelled: then no new request is taken, those in
// flight finish and their output is committed (reason "shutdown"; the job
// resumes where it stopped). It closes the frontier with the result's
// reason, which makes everything durable and saves the spider's state.
func (c *Crawl) Run(ctx context.Context) (engine.Result, error) {
	res, err := c.engine.Run(ctx, c.frontier)
	if cerr := c.frontier.CloseWithReason(res.Reason); cerr != nil {
		err = errors.Join(err, fmt.Errorf("closing the frontier: %w", cerr))
	}
	return res, err
}

// Progress returns the crawl's state now; safe to call while Run runs.
func (c *Crawl) Progress() engine.Progress { return c.engine.Progress() }

// Close asks a running crawl to stop with reason, as ctx's cancellation
// does with "shutdown".
func (c *Crawl) Close(reason string) { c.engine.Close(reason) }

// Frontier returns the crawl's frontier, to enqueue requests of its own
// before or while the crawl runs.
func (c *Crawl) Frontier() *Frontier { return c.frontier }

// Crawler returns the crawl's crawler: settings, stats, signals, spider.
func (c *Crawl) Crawler() *framework.Crawler { return c.frontier.Crawler() }

// Run builds and runs a crawl (NewCrawl, then Crawl.Run).
func Run(ctx context.Context, opts Options, eo engine.Options) (engine.Result, error) {
	c, err := NewCrawl(ctx, opts, eo)
	if err != nil {
		return engine.Result{}, err
	}
	return c.Run(ctx)
}

var _ engine.Frontier = (*Frontier)(nil)
