package engine

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/engine/download"
	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/framework"
)

// Frontier is what the engine needs of the crawl's frontier: the
// scheduler, with in-flight tracking and a flush. crawl.Frontier is one;
// its methods must be safe for concurrent use.
type Frontier interface {
	Enqueue(r *framework.Request) (bool, error)
	Next() (*framework.Request, error)
	Finish(r *framework.Request, outcome error) error
	Flush() error
	Len() int
	HasPending() bool
}

// Options are what an engine takes beyond the crawler's settings.
type Options struct {
	// Feeds are the item feeds (-o, -O): see engine/feed.
	Feeds []feed.Spec
	// OnItem, when not nil, receives every item once it is committed, in
	// commit order, from one goroutine; an item of a request finished in an
	// earlier run of the job is not received again.
	OnItem func(item any)
}

// Result is how a crawl ended.
type Result struct {
	// Reason is Scrapy's finish_reason: "finished", "shutdown",
	// "closespider_pagecount", "closespider_itemcount",
	// "closespider_timeout", "closespider_errorcount", or "error".
	Reason            string
	Started, Finished time.Time
	// Stats are the crawl's counters at the end (Scrapy's keys).
	Stats map[string]int64
}

// Elapsed is the crawl's duration.
func (r Result) Elapsed() time.Duration { return r.Finished.Sub(r.Started) }

// Progress is a crawl's state at one moment, for progress lines.
type Progress struct {
	Pages, Items, Errors int64 // responses received, items committed, failures
	Pending              int   // requests waiting in the frontier
	InFlight             int   // requests handed out and not finished
	Elapsed              time.Duration
}

// Engine runs one crawl. Build it with New before the frontier is opened
// (the downloader-aware priority queue reads the downloader's slots from
// the crawler), then Run it once.
type Engine struct {
	c    *framework.Crawler
	opts Options
	cfg  config
	log  zerolog.Logger

	dl       *download.Downloader
	retry    *download.Retry
	redirect *download.Redirect
	httperr  *download.HTTPError
	robots   *download.Robots // nil unless ROBOTSTXT_OBEY

	feeds      *feed.Set // nil without feeds
	forgotDone bool      // feeds.ForgetDone was called (main loop only)
	f          Frontier
	// running is the frontier and start time of a Run, for Progress,
	// which other goroutines call.
	running atomic.Pointer[running]

	downloading atomic.Int64 // requests between dispatch and the end of their download
	active      atomic.Int64 // requests between Next and Finish
	pages       atomic.Int64
	items       atomic.Int64
	errs        atomic.Int64
	spiderErrs  atomic.Int64

	wake    chan struct{} // the main loop has something to look at
	commits chan *outcome

	closeMu     sync.Mutex
	closeReason string // set once: why the crawl stops
	fatal       error

	depthLogOnce sync.Once
	offsite      *offsite
}

// New builds an engine over c: its downloader (which becomes
// c.Downloader, the slots the downloader-aware priority queue sees) and
// download middlewares, from c's settings.
func New(c *framework.Crawler, opts Options) (*Engine, error) {
	cfg, err := readConfig(c.Settings)
	if err != nil {
		return nil, err
	}
	dl, err := download.New(c)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		c: c, opts: opts, cfg: cfg, dl: dl,
		log:  c.Logger.With().Str("component", "engine").Logger(),
		wake: make(chan struct{}, 1),
	}
	if e.retry, err = download.NewRetry(c); err != nil {
		return nil, err
	}
	if e.redirect, err = download.NewRedirect(c); err != nil {
		return nil, err
	}
	if e.httperr, err = download.NewHTTPError(c); err != nil {
		return nil, err
	}
	if cfg.robots {
		if e.robots, err = download.NewRobots(c, dl); err != nil {
			return nil, err
		}
	}
	e.offsite = newOffsite(c.Spider)
	c.Downloader = dl
	return e, nil
}

// Progress returns the crawl's state now; safe to call while Run runs.
func (e *Engine) Progress() Progress {
	p := Progress{
		Pages: e.pages.Load(), Items: e.items.Load(), Errors: e.errs.Load(),
		InFlight: int(e.active.Load()),
	}
	if r := e.running.Load(); r != nil {
		p.Pending = r.f.Len()
		p.Elapsed = time.Since(r.started)
	}
	return p
}

// running is what Progress reads of a Run.
type running struct {
	f       Frontier
	started time.Time
}

// Close asks the crawl to stop with reason, as Scrapy's
// engine.close_spider: no new request is taken, those in flight finish.
// The first reason wins.
func (e *Engine) Close(reason string) {
	e.closeMu.Lock()
	if e.closeReason == "" {
		e.closeReason = reason
	}
	e.closeMu.Unlock()
	e.wakeUp()
}

// fail stops the crawl with err, the first failure winning.
func (e *Engine) fail(err error) {
	e.closeMu.Lock()
	if e.fatal == nil {
		e.fatal = err
	}
	e.closeMu.Unlock()
	e.Close("error")
}

func (e *Engine) stopReason() (string, error) {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	return e.closeReason, e.fatal
}

func (e *Engine) wakeUp() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run crawls until the crawl is finished, a CLOSESPIDER_* limit is reached,
// ctx is cancelled (reason "shutdown": the requests in flight finish
// first) or something fails. f must be open; Run does not close it: the
// caller closes it with the result's Reason, which makes everything
// durable. The error is the failure that stopped the crawl, if any; the
// result is valid either way.
func (e *Engine) Run(ctx context.Context, f Frontier) (Result, error) {
	e.f = f
	res := Result{Started: time.Now()}
	e.running.Store(&running{f: f, started: res.Started})
	job, err := e.c.Job()
	if err != nil {
		return e.finish(res, "error", err)
	}
	if len(e.opts.Feeds) > 0 {
		fields, err := e.c.Settings.GetList("FEED_EXPORT_FIELDS")
		if err != nil {
			return e.finish(res, "error", err)
		}
		e.feeds, err = feed.Open(e.opts.Feeds, feed.Options{Job: job, Fields: stringList(fields), Logger: e.c.Logger})
		if err != nil {
			return e.finish(res, "error", err)
		}
	}
	e.log.Info().Msg("Spider opened")
	if err := e.c.Signals.Send(framework.Event{Signal: framework.SignalSpiderOpened, Spider: e.c.Spider}); err != nil {
		return e.finish(res, "error", err)
	}

	e.commits = make(chan *outcome, 2*e.cfg.concurrency+16)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		e.commitLoop()
	}()

	var workers sync.WaitGroup
	e.loop(ctx, &workers)
	workers.Wait()
	close(e.commits)
	<-committed

	reason, fatal := e.stopReason()
	if reason == "" {
		reason = "finished"
	}
	return e.finish(res, reason, fatal)
}

// loop is the scheduler loop: it hands requests to the downloader while
// it has room, pulls start requests, and watches for the end.
func (e *Engine) loop(ctx context.Context, workers *sync.WaitGroup) {
	var starts startRequests
	if e.c.Spider.Start != nil {
		starts.next, starts.stop = iter.Pull2(e.c.Spider.Start(ctx))
		defer starts.stop()
	} else {
		starts.done = true
	}
	var closeTimer <-chan time.Time
	if e.cfg.closeTimeout > 0 {
		t := time.NewTimer(e.cfg.closeTimeout)
		defer t.Stop()
		closeTimer = t.C
	}
	var logTick <-chan time.Time
	if e.cfg.logStats > 0 {
		t := time.NewTicker(e.cfg.logStats)
		defer t.Stop()
		logTick = t.C
	}
	var poll <-chan time.Time
	if d := e.pollInterval(); d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		poll = t.C
	}
	stats := logStats{e: e}
	stats.log()
	dctx := context.WithoutCancel(ctx) // downloads in flight finish after a stop
	for {
		if reason, _ := e.stopReason(); reason != "" {
			return
		}
		if ctx.Err() != nil {
			e.Close("shutdown")
			return
		}
		if err := e.fill(dctx, workers, &starts); err != nil {
			e.fail(err)
			return
		}
		if starts.done && e.active.Load() == 0 && !e.f.HasPending() {
			return
		}
		select {
		case <-e.wake:
		case <-ctx.Done():
		case <-closeTimer:
			e.Close("closespider_timeout")
		case <-logTick:
			stats.log()
		case <-poll:
		}
	}
}

// startRequests is the spider's start requests, pulled one at a time.
type startRequests struct {
	next func() (*framework.Request, error, bool)
	stop func()
	done bool
}

// fill hands requests to the downloader while it has room. When the
// frontier has nothing to hand out, one start request is pulled and sent
// at once; then the frontier is topped up with start requests while it
// holds few, and the room left is filled again. So start requests are taken
// lazily, the first ones are sent at once, and how a start function's
// requests interleave with others depends on the queues only, never on
// how fast a download ends (Scrapy's send order).
func (e *Engine) fill(ctx context.Context, workers *sync.WaitGroup, starts *startRequests) error {
	if err := e.dispatchAll(ctx, workers); err != nil {
		return err
	}
	if !starts.done && e.hasRoom() && !e.f.HasPending() {
		if err := e.pullStart(starts); err != nil {
			return err
		}
		if err := e.dispatchAll(ctx, workers); err != nil {
			return err
		}
	}
	for !starts.done && e.f.Len() < e.cfg.startBuffer {
		if reason, _ := e.stopReason(); reason != "" {
			return nil
		}
		if err := e.pullStart(starts); err != nil {
			return err
		}
	}
	return e.dispatchAll(ctx, workers)
}

// hasRoom reports whether the downloader can take another request.
func (e *Engine) hasRoom() bool {
	return e.downloading.Load() < int64(e.cfg.concurrency) && e.active.Load() < int64(e.cfg.maxActive)
}

// dispatchAll hands requests to the downloader while it has room and the
// frontier has requests.
func (e *Engine) dispatchAll(ctx context.Context, workers *sync.WaitGroup) error {
	for e.hasRoom() {
		r, err := e.f.Next()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrFrontier, err)
		}
		if r == nil {
			return nil
		}
		e.dispatch(ctx, workers, r)
	}
	return nil
}

// pullStart takes the next start request and enqueues it. A start item
// that is an error is logged, as Scrapy logs a failing start().
func (e *Engine) pullStart(starts *startRequests) error {
	r, err, ok := starts.next()
	if !ok {
		starts.done = true
		return nil
	}
	if err != nil {
		e.log.Error().Err(err).Msg("Error while reading start items and requests")
		e.c.Stats.Inc("start_requests/errors", 1)
		return nil
	}
	if r == nil {
		return nil
	}
	if r.Meta == nil {
		r.Meta = map[string]any{}
	}
	if _, ok := r.Meta[framework.MetaIsStartRequest]; !ok {
		r.Meta[framework.MetaIsStartRequest] = true
	}
	if _, err := e.f.Enqueue(r); err != nil {
		return fmt.Errorf("%w: %w", ErrFrontier, err)
	}
	return nil
}

// dispatch starts the work on r: a request whose output an earlier run of
// the job committed goes straight to the committer; any other is
// downloaded and its callback run on a goroutine of its own.
func (e *Engine) dispatch(ctx context.Context, workers *sync.WaitGroup, r *framework.Request) {
	e.active.Add(1)
	if e.feeds != nil && !r.Redelivered && !e.forgotDone {
		// The scheduler hands out the requests in flight at the last stop
		// first: the previous run's committed deliveries no longer matter.
		e.feeds.ForgetDone()
		e.forgotDone = true
	}
	if r.Redelivered && e.feeds != nil && r.Delivery != 0 && e.feeds.Done(r.Delivery) {
		e.c.Stats.Inc("engine/redelivered_committed", 1)
		e.commits <- &outcome{req: r, skip: true}
		return
	}
	e.downloading.Add(1)
	workers.Add(1)
	go func() {
		defer workers.Done()
		e.commits <- e.handle(ctx, r)
	}()
}

func (e *Engine) finish(res Result, reason string, err error) (Result, error) {
	if e.feeds != nil {
		if cerr := e.feeds.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%w: %w", ErrFeed, cerr)
		}
	}
	e.log.Info().Msgf("Closing spider (%s)", reason)
	if serr := e.c.Signals.Send(framework.Event{Signal: framework.SignalSpiderClosed, Spider: e.c.Spider, Reason: reason}); serr != nil && err == nil {
		err = serr
	}
	if e.dl != nil {
		e.dl.Close()
	}
	res.Reason = reason
	res.Finished = time.Now()
	recordEnd(e.c.Stats, res)
	res.Stats = e.c.Stats.Snapshot()
	if e.cfg.statsDump {
		e.log.Info().Msg("Dumping frontier stats:\n" + FormatStats(res))
	}
	e.log.Info().Msgf("Spider closed (%s)", reason)
	return res, err
}

// pollInterval is the PollInterval of a frontier shared with other
// processes (framework.Poller): its requests change without this engine,
// so the loop asks again for one that often. 0 for any other frontier.
func (e *Engine) pollInterval() time.Duration {
	if p, ok := e.f.(interface{ PollInterval() time.Duration }); ok {
		return p.PollInterval()
	}
	return 0
}
