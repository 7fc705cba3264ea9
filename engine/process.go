package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// outcome is one request's work, handed to the committer: the items its
// callback yielded, and the outcome reported with its finish.
type outcome struct {
	req   *framework.Request
	items []any
	err   error // the request's failure, reported with Finish; nil for a success
	// skip: the request's output was committed by an earlier run of the
	// job; it is only finished.
	skip bool
	// fatal: the frontier refused the output; the request is not finished
	// (it comes back when the job resumes) and the crawl stops.
	fatal error
}

// collector is the framework.Output a callback yields into.
type collector struct {
	reqs  []*framework.Request
	items []any
}

func (c *collector) Request(r *framework.Request) {
	if r != nil {
		c.reqs = append(c.reqs, r)
	}
}
func (c *collector) Item(item any) { c.items = append(c.items, item) }

// handle downloads r and runs its callback or errback (or schedules its
// retry or redirect), then enqueues the requests they yielded.
func (e *Engine) handle(ctx context.Context, r *framework.Request) *outcome {
	o := &outcome{req: r}
	var out collector
	follow := e.download(ctx, r, o, &out)
	if err := e.schedule(r, follow, out.reqs); err != nil {
		o.fatal = err
	}
	o.items = out.items
	return o
}

// download fetches r and decides what follows: a retry or a redirect,
// which are scheduled as they are (follow), or the callback's or errback's
// output in out, which goes through the depth and offsite rules.
func (e *Engine) download(ctx context.Context, r *framework.Request, o *outcome, out *collector) (follow []*framework.Request) {
	defer func() {
		e.downloading.Add(-1)
		e.wakeUp()
	}()
	if e.robots != nil {
		ok, err := e.robots.Allowed(ctx, r)
		if err == nil && !ok {
			o.err = errForbiddenByRobots
			return nil
		}
	}
	e.c.Signals.Send(framework.Event{Signal: framework.SignalRequestReachedDownloader, Request: r, Spider: e.c.Spider})
	resp, err := e.dl.Fetch(ctx, r)
	if err != nil {
		if retry, ok := e.retry.OnError(r, err); ok {
			return []*framework.Request{retry}
		}
		e.errs.Add(1)
		o.err = err
		e.errback(ctx, r, err, out)
		return nil
	}
	e.pages.Add(1)
	e.c.Stats.Inc("response_received_count", 1)
	e.log.Debug().Msgf("Crawled (%d) %s", resp.Status, r)
	e.c.Signals.Send(framework.Event{Signal: framework.SignalResponseReceived, Request: r, Response: resp, Spider: e.c.Spider})
	if e.cfg.closePages > 0 && e.pages.Load() >= e.cfg.closePages {
		e.Close("closespider_pagecount")
	}
	retry, pause, ok := e.retry.OnResponse(r, resp)
	if pause > 0 {
		e.dl.Pause(e.dl.SlotKey(r), time.Now().Add(pause))
		e.pauseShared(r, time.Now().Add(pause))
	}
	if ok {
		return []*framework.Request{retry}
	}
	next, err := e.redirect.OnResponse(r, resp)
	if next != nil {
		if retries, _ := framework.MetaInt(r.Meta["retry_times"]); retries > 0 {
			// A retry is not filtered (its URL was seen: it is its own);
			// where it redirects to is a new URL, which the duplicate filter
			// must see, or a page fetched already is fetched again.
			next.DontFilter = false
		}
		return []*framework.Request{next}
	}
	if err != nil {
		e.errs.Add(1)
		o.err = err
		e.errback(ctx, r, err, out)
		return nil
	}
	if !e.httperr.Allowed(r, resp) {
		e.errs.Add(1)
		herr := &framework.HTTPError{Response: resp}
		o.err = herr
		e.errback(ctx, r, herr, out)
		return nil
	}
	e.callback(ctx, resp, out)
	return nil
}

var errForbiddenByRobots = errors.New("engine: forbidden by robots.txt")

// callback runs resp's request's callback; a panic or an error is a spider
// exception, counted and logged, and what was yielded before it is kept.
func (e *Engine) callback(ctx context.Context, resp *framework.Response, out *collector) {
	name := resp.Request.Callback
	if name == "" {
		name = framework.DefaultCallback
	}
	fn, ok := e.c.Spider.Callback(name)
	if !ok || fn == nil {
		e.spiderError(resp.Request, fmt.Errorf("%w: callback %q of %s", ErrUnknownCallback, name, resp.Request))
		return
	}
	e.spiderError(resp.Request, protect(func() error { return fn(ctx, resp, out) }))
}

// errback runs r's errback with err, or logs err when r has none.
func (e *Engine) errback(ctx context.Context, r *framework.Request, err error, out *collector) {
	if r.Errback == "" {
		var herr *framework.HTTPError
		if errors.As(err, &herr) {
			e.log.Info().Msgf("Ignoring response <%d %s>: HTTP status code is not handled or not allowed", herr.Response.Status, herr.Response.URL)
		} else {
			e.log.Error().Err(err).Msgf("Error downloading %s", r)
		}
		return
	}
	fn, ok := e.c.Spider.Errback(r.Errback)
	if !ok || fn == nil {
		e.spiderError(r, fmt.Errorf("%w: errback %q of %s", ErrUnknownCallback, r.Errback, r))
		return
	}
	e.spiderError(r, protect(func() error { return fn(ctx, r, err, out) }))
}

// protect runs fn, turning a panic into an error.
func protect(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn()
}

// spiderError counts and logs a callback's or errback's failure (Scrapy's
// spider_exceptions/*), and closes the spider past CLOSESPIDER_ERRORCOUNT.
func (e *Engine) spiderError(r *framework.Request, err error) {
	if err == nil {
		return
	}
	e.errs.Add(1)
	e.c.Stats.Inc("spider_exceptions/count", 1)
	e.c.Stats.Inc("spider_exceptions/"+errorType(err), 1)
	e.log.Error().Err(err).Msgf("Spider error processing %s", r)
	if n := e.spiderErrs.Add(1); e.cfg.closeErrors > 0 && n >= e.cfg.closeErrors {
		e.Close("closespider_errorcount")
	}
}

// errorType names err's type for stats, as Scrapy names an exception's
// class: the type's name without its package or pointer.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return "error"
	}
	return t.Name()
}

// schedule enqueues what r's download produced: follow (a retry or a
// redirect) as it is, and the callback's requests through the depth and
// offsite rules, as Scrapy's DepthMiddleware and OffsiteMiddleware. They
// go to the frontier in one batch when it takes batches
// (framework.BatchEnqueuer), in the same order as one at a time.
func (e *Engine) schedule(r *framework.Request, follow, yielded []*framework.Request) error {
	batch := make([]*framework.Request, 0, len(follow)+len(yielded))
	batch = append(batch, follow...)
	parent, _ := framework.MetaInt(r.Meta[framework.MetaDepth])
	depth := parent + 1
	for _, next := range yielded {
		if !e.keepDepth(next, depth) || !e.offsite.allows(e, next) {
			continue
		}
		batch = append(batch, next)
	}
	if len(batch) == 0 {
		return nil
	}
	if b, ok := e.f.(framework.BatchEnqueuer); ok && len(batch) > 1 {
		if err := b.EnqueueBatch(batch, nil); err != nil {
			return fmt.Errorf("%w: %w", ErrFrontier, err)
		}
		return nil
	}
	for _, next := range batch {
		if _, err := e.f.Enqueue(next); err != nil {
			return fmt.Errorf("%w: %w", ErrFrontier, err)
		}
	}
	return nil
}

// keepDepth sets next's depth, drops it past DEPTH_LIMIT and adjusts its
// priority by DEPTH_PRIORITY.
func (e *Engine) keepDepth(next *framework.Request, depth int) bool {
	if next.Meta == nil {
		next.Meta = map[string]any{}
	}
	next.Meta[framework.MetaDepth] = depth
	if e.cfg.depthLimit > 0 && depth > e.cfg.depthLimit {
		e.depthLogOnce.Do(func() {
			e.log.Debug().Msgf("Ignoring link (depth > %d): %s - no more ignored links will be shown", e.cfg.depthLimit, next.URL)
		})
		return false
	}
	if e.cfg.depthPriority != 0 {
		next.Priority -= depth * e.cfg.depthPriority
	}
	e.c.Stats.Max("request_depth_max", int64(depth))
	if e.cfg.depthVerbose {
		e.c.Stats.Inc("request_depth_count/"+strconv.Itoa(depth), 1)
	}
	return true
}

// pauseShared holds r's slot back in a frontier shared with other
// processes (framework.SlotPauser), so that none of them downloads from
// it before until either.
func (e *Engine) pauseShared(r *framework.Request, until time.Time) {
	p, ok := e.f.(interface {
		PauseSlot(slot string, until time.Time) error
	})
	if !ok {
		return
	}
	if err := p.PauseSlot(r.Slot(), until); err != nil {
		e.log.Warn().Err(err).Str("slot", r.Slot()).Msg("Could not pause the slot in the shared frontier")
	}
}
