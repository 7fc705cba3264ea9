package crawl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/plugins/host"
)

// Frontier is an open crawl frontier: the scheduler SCHEDULER names, opened,
// with the crawler it was built from. Its methods are safe for concurrent
// use: one mutex serialises them (the scheduler is used from one goroutine
// at a time) and the background flush.
//
// The scheduler's optional interfaces are found once by [Open]: a scheduler
// that is not a framework.Opener has nothing to open, one that is not a
// framework.Finisher forgets a request once handed out (Finish does nothing,
// InFlight is 0), one that is not a framework.Lener is counted by HasPending
// (Len is 1 or 0), one that is not a framework.Flusher has nothing to flush,
// and one that is not a framework.Closer has nothing to close.
//
// With a job directory (JOBDIR), a background flush hands what the
// scheduler buffers to the operating system every JOBDIR_FLUSH_INTERVAL
// when the frontier was used since the last flush, so that an accepted
// request survives the death of the process within that interval whatever
// the caller does next. A background flush that fails is logged and its
// error returned by the next call.
//
// Close must be called: it makes every accepted request durable, releases
// the job directory and stops the plugin processes.
type Frontier struct {
	crawler *framework.Crawler
	plugins *host.Manager

	mu        sync.Mutex
	scheduler framework.Scheduler
	finisher  framework.Finisher // nil: the scheduler does not track requests in flight
	lener     framework.Lener    // nil: the scheduler does not count
	flusher   framework.Flusher  // nil: the scheduler does not buffer
	closer    framework.Closer   // nil: nothing to close
	closed    bool
	// unflushed reports a call since the last flush; flushErr is a failed
	// background flush, returned by the next call.
	unflushed bool
	flushErr  error

	stopFlushing func() // stops the background flush and waits for it; nil without one
}

// Open builds the crawl opts describe and opens its scheduler (SCHEDULER),
// with its job directory when JOBDIR is set. With a job directory, a
// background flush hands what the scheduler buffers to the operating system
// every JOBDIR_FLUSH_INTERVAL until Close.
func Open(ctx context.Context, opts Options) (*Frontier, error) {
	c, plugins, err := opts.crawler()
	if err != nil {
		return nil, err
	}
	f, err := open(ctx, c)
	if err != nil {
		return nil, errors.Join(err, plugins.Close())
	}
	f.plugins = plugins
	return f, nil
}

// open opens the scheduler of c and starts the background flush.
func open(ctx context.Context, c *framework.Crawler) (*Frontier, error) {
	job, err := c.Job()
	if err != nil {
		return nil, err
	}
	newScheduler, err := framework.RequiredComponent[framework.SchedulerFactory](c, "SCHEDULER")
	if err != nil {
		return nil, err
	}
	s, err := newScheduler(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("SCHEDULER: %w", err)
	}
	f := &Frontier{crawler: c, scheduler: s}
	f.finisher, _ = s.(framework.Finisher)
	f.lener, _ = s.(framework.Lener)
	f.flusher, _ = s.(framework.Flusher)
	f.closer, _ = s.(framework.Closer)
	if o, ok := s.(framework.Opener); ok {
		if err := o.Open(ctx); err != nil {
			return nil, err
		}
	}
	if job != nil && f.flusher != nil {
		f.stopFlushing = f.flushEvery(job.FlushInterval)
	}
	return f, nil
}

// Crawler returns the crawler the frontier was built from: its settings,
// registry, logger, spider and stats. Stats are safe for concurrent use; the
// spider's State must not be changed while a Frontier method runs.
func (f *Frontier) Crawler() *framework.Crawler { return f.crawler }

// call runs fn under the mutex after checking that the frontier is open. A
// background flush that failed since the last call is returned instead,
// without running fn: the caller learns that what it enqueued may not be
// durable, and may call again.
func (f *Frontier) call(fn func() error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return framework.ErrClosed
	}
	if err := f.flushErr; err != nil {
		f.flushErr = nil
		return err
	}
	f.unflushed = true
	return fn()
}

// Enqueue schedules r and reports whether it was accepted (false: a
// duplicate, or dropped by a request_scheduled handler). With a job
// directory, an accepted request reaches the operating system within
// JOBDIR_FLUSH_INTERVAL, and at once by Flush or Close.
func (f *Frontier) Enqueue(r *framework.Request) (bool, error) {
	var ok bool
	err := f.call(func() (err error) {
		ok, err = f.scheduler.Enqueue(r)
		return err
	})
	return ok, err
}

// EnqueueBatch schedules rs as Enqueue would each in order, stopping at
// the first error, in one call of a scheduler that takes batches
// (framework.BatchEnqueuer: the Redis scheduler then makes one round trip);
// when accepted is not nil, accepted[i] reports whether rs[i] was accepted.
func (f *Frontier) EnqueueBatch(rs []*framework.Request, accepted []bool) error {
	return f.call(func() error {
		if b, ok := f.scheduler.(framework.BatchEnqueuer); ok {
			return b.EnqueueBatch(rs, accepted)
		}
		for i, r := range rs {
			ok, err := f.scheduler.Enqueue(r)
			if err != nil {
				return err
			}
			if accepted != nil {
				accepted[i] = ok
			}
		}
		return nil
	})
}

// Next returns the pending request of highest priority, or (nil, nil) when
// none is pending. The request is in flight until Finish: a job that stops
// before hands it out again when it resumes, with Request.Redelivered set.
func (f *Frontier) Next() (*framework.Request, error) {
	var r *framework.Request
	err := f.call(func() (err error) {
		r, err = f.scheduler.Next()
		return err
	})
	return r, err
}

// Finish reports that r, returned by Next, is done, whether it succeeded
// (outcome nil) or failed. Report it only once the requests it produced are
// enqueued: its finish is never durable before them.
func (f *Frontier) Finish(r *framework.Request, outcome error) error {
	return f.call(func() error {
		if f.finisher == nil {
			return nil
		}
		return f.finisher.Finish(r, outcome)
	})
}

// PollInterval is how often a caller with nothing to do asks Next again
// when the scheduler is a framework.Poller (a shared frontier), 0 when it
// is not.
func (f *Frontier) PollInterval() time.Duration {
	if p, ok := f.scheduler.(framework.Poller); ok {
		return p.PollInterval()
	}
	return 0
}

// PauseSlot holds slot's requests back until until when the scheduler is
// a framework.SlotPauser; otherwise it does nothing.
func (f *Frontier) PauseSlot(slot string, until time.Time) error {
	p, ok := f.scheduler.(framework.SlotPauser)
	if !ok {
		return nil
	}
	return f.call(func() error { return p.PauseSlot(slot, until) })
}

// Flush hands everything the scheduler buffers to the operating system:
// when it returns, every request accepted so far survives the death of the
// process. Close flushes too.
func (f *Frontier) Flush() error {
	return f.call(f.flush)
}

// flush flushes the scheduler; f.mu is held.
func (f *Frontier) flush() error {
	f.unflushed = false
	if f.flusher == nil {
		return nil
	}
	return f.flusher.Flush()
}

// Len returns the number of pending requests, 0 once closed.
func (f *Frontier) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return 0
	case f.lener != nil:
		return f.lener.Len()
	case f.scheduler.HasPending():
		return 1
	}
	return 0
}

// HasPending reports whether a request is pending; false once closed.
func (f *Frontier) HasPending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.closed && f.scheduler.HasPending()
}

// InFlight returns the number of requests handed out and not finished.
func (f *Frontier) InFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.finisher == nil {
		return 0
	}
	return f.finisher.InFlight()
}

// Close closes the frontier with the reason "finished": see CloseWithReason.
func (f *Frontier) Close() error { return f.CloseWithReason("finished") }

// CloseWithReason stops the background flush, closes the scheduler with
// reason (Scrapy's close reasons: "finished", "shutdown", …), which flushes
// everything, saves the spider state and releases the job directory, and
// stops the plugin processes. Call it before the program exits: it is what
// makes every accepted request durable. Calls after the first return nil;
// other methods then return framework.ErrClosed.
func (f *Frontier) CloseWithReason(reason string) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	err := f.flushErr
	f.mu.Unlock()
	if f.stopFlushing != nil {
		f.stopFlushing()
	}
	if f.closer != nil {
		err = errors.Join(err, f.closer.Close(reason))
	}
	if f.plugins != nil {
		err = errors.Join(err, f.plugins.Close())
	}
	return err
}

// flushEvery starts the background flush: every interval, a scheduler used
// since the last flush is flushed, under the mutex. It returns the function
// that stops it and waits until it has.
func (f *Frontier) flushEvery(interval time.Duration) (stop func()) {
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f.backgroundFlush()
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// backgroundFlush flushes the scheduler if it was used since the last
// flush. A failure is logged and kept for the next call to return.
func (f *Frontier) backgroundFlush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || !f.unflushed || f.flushErr != nil {
		return
	}
	if err := f.flush(); err != nil {
		f.crawler.Logger.Error().Err(err).Msg("Background flush failed")
		f.flushErr = fmt.Errorf("crawl: background flush: %w", err)
	}
}
