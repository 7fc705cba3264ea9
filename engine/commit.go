package engine

import (
	"fmt"

	"github.com/frontier-go/frontier/framework"
)

// maxBatch bounds the requests committed together.
const maxBatch = 4096

// commitLoop commits the outcomes workers hand over, in groups: whatever
// arrived while the previous group was being committed. It returns when
// the channel is closed and drained, or at the first failure (the crawl
// then stops; the requests not finished come back when the job resumes).
func (e *Engine) commitLoop() {
	batch := make([]*outcome, 0, 64)
	failed := false
	for o := range e.commits {
		batch = append(batch[:0], o)
	drain:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-e.commits:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		if failed {
			continue // keep draining so that workers do not block
		}
		if err := e.commitBatch(batch); err != nil {
			e.fail(err)
			failed = true
		}
	}
}

// commitBatch makes a group's output durable and then finishes its
// requests: the requests they yielded were enqueued by the workers, so one
// frontier flush makes them durable; the items go to the feeds, whose
// commit names the group's deliveries; then each request is finished. An
// idle committer flushes the frontier once more, so that the finishes are
// durable at once and a kill refetches as little as possible.
func (e *Engine) commitBatch(batch []*outcome) error {
	for _, o := range batch {
		if o.fatal != nil {
			return o.fatal
		}
	}
	if err := e.f.Flush(); err != nil {
		return fmt.Errorf("%w: %w", ErrFrontier, err)
	}
	if e.feeds != nil {
		var done []uint64
		for _, o := range batch {
			if !o.skip {
				for _, it := range o.items {
					if err := e.feeds.Add(it); err != nil {
						return fmt.Errorf("%w: item of %s: %w", ErrFeed, o.req, err)
					}
				}
			}
			if o.req.Delivery != 0 {
				done = append(done, o.req.Delivery)
			}
		}
		if err := e.feeds.Commit(done); err != nil {
			return fmt.Errorf("%w: %w", ErrFeed, err)
		}
	}
	for _, o := range batch {
		if err := e.f.Finish(o.req, o.err); err != nil {
			return fmt.Errorf("%w: %w", ErrFrontier, err)
		}
		e.active.Add(-1)
		if !o.skip {
			e.scraped(o)
		}
	}
	if len(e.commits) == 0 {
		if err := e.f.Flush(); err != nil {
			return fmt.Errorf("%w: %w", ErrFrontier, err)
		}
	}
	e.wakeUp()
	return nil
}

// scraped counts and hands on o's committed items.
func (e *Engine) scraped(o *outcome) {
	if len(o.items) == 0 {
		return
	}
	n := e.items.Add(int64(len(o.items)))
	e.c.Stats.Inc("item_scraped_count", int64(len(o.items)))
	for _, it := range o.items {
		if e.opts.OnItem != nil {
			e.opts.OnItem(it)
		}
		e.c.Signals.Send(framework.Event{Signal: framework.SignalItemScraped, Request: o.req, Item: it, Spider: e.c.Spider})
	}
	if e.cfg.closeItems > 0 && n >= e.cfg.closeItems {
		e.Close("closespider_itemcount")
	}
}
