package schedulers

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// Scheduler is Scrapy's default scheduler: a dupefilter, a memory priority
// queue, and with JOBDIR a disk priority queue under JOBDIR/requests.queue.
// Serialisable requests go to disk when there is one; the others stay in
// memory and are counted in scheduler/unserializable.
//
// Unlike Scrapy, Next respects priority across the memory and disk queues: it
// hands out the higher priority of the two heads, memory first at equal
// priority (Scrapy always pops memory first, its issue #3666).
//
// A request returned by Next is in flight until Finish; InFlight counts them.
// A Scheduler is used from one goroutine at a time.
//
// With JOBDIR, Open takes the job directory's lock, checks its format
// manifest, loads the spider state into Crawler.Spider.State and recovers the
// requests in flight at the last stop, which Next hands out first
// (Request.Redelivered, stat scheduler/redelivered). Writes are buffered and
// handed to the operating system by Flush, by the first call after
// JOBDIR_FLUSH_INTERVAL, and by Close, which also saves the spider state and
// releases the lock; see jobdir.go for the order of the writes.
type Scheduler struct {
	c   *framework.Crawler
	log zerolog.Logger
	df  framework.DupeFilter

	pqf        framework.PriorityQueueFactory
	mqf, dqf   framework.QueueFactory
	smqf, sdqf framework.QueueFactory // nil: start requests share the regular queues
	logunser   bool

	ctx      context.Context
	mqs, dqs framework.PriorityQueue
	inflight map[*framework.Request]handed

	jd        *jobState // nil without JOBDIR
	jobClosed bool      // Close has closed the job directory

	count counters
}

// counters are the scheduler's stats, bound once to their keys.
type counters struct {
	enqueued, enqueuedDisk, enqueuedMemory func(int64)
	dequeued, dequeuedDisk, dequeuedMemory func(int64)
	unserializable, inflight               func(int64)
}

func bindCounters(st framework.Stats) counters {
	f := func(key string) func(int64) { return framework.CounterFunc(st, key) }
	return counters{
		enqueued: f(framework.StatEnqueued), enqueuedDisk: f(framework.StatEnqueuedDisk), enqueuedMemory: f(framework.StatEnqueuedMemory),
		dequeued: f(framework.StatDequeued), dequeuedDisk: f(framework.StatDequeuedDisk), dequeuedMemory: f(framework.StatDequeuedMemory),
		unserializable: f(framework.StatUnserializable), inflight: f(framework.StatInFlight),
	}
}

var (
	_ framework.Scheduler = (*Scheduler)(nil)
	_ framework.Opener    = (*Scheduler)(nil)
	_ framework.Closer    = (*Scheduler)(nil)
	_ framework.Lener     = (*Scheduler)(nil)
	_ framework.Finisher  = (*Scheduler)(nil)
	_ framework.Flusher   = (*Scheduler)(nil)
)

// FromCrawler builds the scheduler from the crawler's settings, as Scrapy's
// Scheduler.from_crawler: it builds the dupefilter (DUPEFILTER_CLASS) at once
// and resolves the queue settings to factories used when the scheduler opens.
func FromCrawler(ctx context.Context, c *framework.Crawler) (framework.Scheduler, error) {
	return New(ctx, c)
}

// New is FromCrawler returning the concrete type.
func New(ctx context.Context, c *framework.Crawler) (*Scheduler, error) {
	s := &Scheduler{
		c:        c,
		log:      c.Logger.With().Str("component", "scheduler").Logger(),
		inflight: map[*framework.Request]handed{},
		count:    bindCounters(c.Stats),
	}
	dff, err := framework.RequiredComponent[framework.DupeFilterFactory](c, "DUPEFILTER_CLASS")
	if err != nil {
		return nil, err
	}
	if s.df, err = dff(ctx, c); err != nil {
		return nil, fmt.Errorf("DUPEFILTER_CLASS: %w", err)
	}
	if s.pqf, err = framework.RequiredComponent[framework.PriorityQueueFactory](c, "SCHEDULER_PRIORITY_QUEUE"); err != nil {
		return nil, err
	}
	if s.mqf, err = framework.RequiredComponent[framework.QueueFactory](c, "SCHEDULER_MEMORY_QUEUE"); err != nil {
		return nil, err
	}
	if s.dqf, err = framework.RequiredComponent[framework.QueueFactory](c, "SCHEDULER_DISK_QUEUE"); err != nil {
		return nil, err
	}
	if s.smqf, _, err = framework.Component[framework.QueueFactory](c, "SCHEDULER_START_MEMORY_QUEUE"); err != nil {
		return nil, err
	}
	if s.sdqf, _, err = framework.Component[framework.QueueFactory](c, "SCHEDULER_START_DISK_QUEUE"); err != nil {
		return nil, err
	}
	if s.logunser, err = c.Settings.GetBool("SCHEDULER_DEBUG"); err != nil {
		return nil, err
	}
	return s, nil
}

// DupeFilter returns the scheduler's dupefilter.
func (s *Scheduler) DupeFilter() framework.DupeFilter { return s.df }

// Open builds the memory priority queue and, with JOBDIR, the disk one, then
// opens the dupefilter.
func (s *Scheduler) Open(ctx context.Context) error {
	s.ctx = ctx
	mqs, err := s.pqf(ctx, s.c, framework.PriorityQueueConfig{Downstream: s.mqf, Start: s.smqf})
	if err != nil {
		return fmt.Errorf("SCHEDULER_PRIORITY_QUEUE (memory): %w", err)
	}
	s.mqs = mqs
	job, err := s.c.Job()
	if err != nil {
		return err
	}
	if job == nil {
		return s.df.Open(ctx)
	}
	if err := s.openJob(job); err != nil {
		return err
	}
	// The dupefilter loads its fingerprints while the disk queue reads its
	// buckets: both are a resume's long parts.
	dfOpened := make(chan error, 1)
	go func() { dfOpened <- s.df.Open(ctx) }()
	dqs, err := s.pqf(ctx, s.c, framework.PriorityQueueConfig{
		Downstream: s.dqf,
		Start:      s.sdqf,
		Key:        diskKey(job.Dir),
		Job:        job,
	})
	dfErr := <-dfOpened
	if err != nil || dfErr != nil {
		if err != nil {
			err = fmt.Errorf("SCHEDULER_PRIORITY_QUEUE (disk): %w", err)
		} else {
			err = errors.Join(dfErr, dqs.Close())
		}
		if dfErr == nil {
			s.df.Close("")
		}
		s.jd.journal.Close()
		s.jd.job.Close()
		s.jd = nil
		return err
	}
	s.dqs = dqs
	if n := dqs.Len() + len(s.jd.redeliver); n > 0 {
		// Ghosts are copies, still in the queues, of requests in flight:
		// counted here, dropped when popped.
		s.log.Info().Int("queuesize", n).Int("inflight", len(s.jd.redeliver)).Int("ghosts", s.jd.journal.Ghosts()).
			Msgf("Resuming crawl (%d requests scheduled)", n)
	}
	return nil
}

// Close flushes and closes the queues and the dupefilter; with JOBDIR it
// also saves the spider state and releases the job directory.
func (s *Scheduler) Close(reason string) error {
	if s.jd != nil {
		err := s.closeJob(reason)
		s.jd, s.jobClosed = nil, true
		return err
	}
	if s.jobClosed {
		return nil // closed already, with its job directory
	}
	var errs []error
	if s.dqs != nil {
		errs = append(errs, s.dqs.Close())
	}
	if s.mqs != nil {
		errs = append(errs, s.mqs.Close())
	}
	errs = append(errs, s.df.Close(reason))
	return errors.Join(errs...)
}

// Enqueue schedules r unless the dupefilter has seen it (dont_filter skips the
// check). It first sends request_scheduled: a handler returning
// framework.ErrIgnoreRequest drops r silently. A duplicate sends
// request_dropped and returns false.
func (s *Scheduler) Enqueue(r *framework.Request) (bool, error) {
	if err := s.tick(); err != nil {
		return false, err
	}
	if err := s.c.Signals.Send(framework.Event{Signal: framework.SignalRequestScheduled, Request: r, Spider: s.c.Spider}); err != nil {
		if errors.Is(err, framework.ErrIgnoreRequest) {
			return false, nil
		}
		return false, err
	}
	if !r.DontFilter {
		seen, err := s.df.RequestSeen(r)
		if err != nil {
			return false, err
		}
		if seen {
			s.df.Log(r)
			return false, s.c.Signals.Send(framework.Event{Signal: framework.SignalRequestDropped, Request: r, Spider: s.c.Spider})
		}
	}
	disk, err := s.pushDisk(r)
	if err != nil {
		return false, err
	}
	if disk {
		s.count.enqueuedDisk(1)
	} else {
		if err := s.mqs.Push(r); err != nil {
			return false, err
		}
		s.count.enqueuedMemory(1)
	}
	s.count.enqueued(1)
	return true, nil
}

// pushDisk pushes r to the disk queue, reporting false when there is none or
// r cannot be serialised.
func (s *Scheduler) pushDisk(r *framework.Request) (bool, error) {
	if s.dqs == nil {
		return false, nil
	}
	if err := s.beforeDiskPush(); err != nil {
		return false, err
	}
	err := s.dqs.Push(r)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, framework.ErrUnserializable) {
		return false, err
	}
	if s.logunser {
		s.log.Warn().Err(err).Str("request", r.String()).
			Msg("Unable to serialize request - no more unserializable requests will be logged (stats being collected)")
		s.logunser = false
	}
	s.count.unserializable(1)
	return false, nil
}

// Next returns the pending request of highest priority, or nil when none is
// pending (after sending scheduler_empty). The request is in flight until Finish.
func (s *Scheduler) Next() (*framework.Request, error) {
	if err := s.tick(); err != nil {
		return nil, err
	}
	if r := s.nextRedelivered(); r != nil {
		return s.handOut(r, s.dqs, r.Delivery), nil
	}
	var (
		q  framework.PriorityQueue
		r  *framework.Request
		id uint64
	)
	for r == nil {
		var err error
		if q, err = s.pick(); err != nil {
			return nil, err
		}
		if q == nil {
			return nil, s.c.Signals.Send(framework.Event{Signal: framework.SignalSchedulerEmpty, Spider: s.c.Spider})
		}
		if r, err = q.Pop(); err != nil || r == nil {
			return nil, err
		}
		if q == s.dqs {
			var ok bool
			if id, ok, err = s.delivered(r); err != nil {
				return nil, err
			}
			if !ok {
				r = nil // a ghost of a request handed out before a crash
			}
		}
	}
	return s.handOut(r, q, id), nil
}

// handed is what the scheduler knows of a request in flight: the queue it
// came from and, when the in-flight journal recorded it, its delivery ID there.
type handed struct {
	q       framework.PriorityQueue
	journal uint64
}

// handOut counts r as dequeued from q and puts it in flight; journal is its
// delivery ID in the in-flight journal, or 0 when not recorded there.
func (s *Scheduler) handOut(r *framework.Request, q framework.PriorityQueue, journal uint64) *framework.Request {
	if q == s.dqs {
		s.count.dequeuedDisk(1)
	} else {
		s.count.dequeuedMemory(1)
	}
	s.count.dequeued(1)
	s.inflight[r] = handed{q: q, journal: journal}
	s.count.inflight(1)
	return r
}

// pick chooses the queue Next pops from: the one whose head has the higher
// priority, memory at equal priority or when a queue cannot peek.
func (s *Scheduler) pick() (framework.PriorityQueue, error) {
	memory := s.mqs.Len() > 0
	disk := s.dqs != nil && s.dqs.Len() > 0
	switch {
	case !disk && !memory:
		return nil, nil
	case !disk:
		return s.mqs, nil
	case !memory:
		return s.dqs, nil
	}
	mp, ok1 := s.mqs.(framework.Peeker)
	dp, ok2 := s.dqs.(framework.Peeker)
	if !ok1 || !ok2 {
		return s.mqs, nil
	}
	m, err := mp.Peek()
	if err != nil {
		return nil, err
	}
	d, err := dp.Peek()
	if err != nil {
		return nil, err
	}
	if d != nil && (m == nil || d.Priority > m.Priority) {
		return s.dqs, nil
	}
	return s.mqs, nil
}

// Finish reports that r, returned by Next, is done, whatever the outcome; a
// queue that keeps requests in flight is told to forget it.
func (s *Scheduler) Finish(r *framework.Request, outcome error) error {
	h, ok := s.inflight[r]
	if !ok {
		return fmt.Errorf("%w: %s", framework.ErrNotInFlight, r)
	}
	delete(s.inflight, r)
	s.count.inflight(-1)
	if h.journal != 0 {
		s.jd.journal.Ack(h.journal)
	}
	if a, ok := h.q.(framework.Acker); ok {
		if err := a.Ack(r); err != nil {
			return err
		}
	}
	return s.tick()
}

// InFlight returns the number of requests handed out and not finished.
func (s *Scheduler) InFlight() int { return len(s.inflight) }

// Len returns the number of pending requests, memory and disk, counting the
// requests in flight at the last stop that wait to be handed out again.
func (s *Scheduler) Len() int {
	n := 0
	if s.jd != nil {
		n += len(s.jd.redeliver)
	}
	if s.mqs != nil {
		n += s.mqs.Len()
	}
	if s.dqs != nil {
		n += s.dqs.Len()
	}
	return n
}

// HasPending reports whether a request is pending.
func (s *Scheduler) HasPending() bool { return s.Len() > 0 }

// Flush hands buffered writes to the operating system: the disk queue first,
// then the dupefilter, so that a fingerprint is never durable before its request.
// With JOBDIR, the in-flight journal's records go around the disk queue's
// flush (see flushJob).
func (s *Scheduler) Flush() error {
	if s.jd != nil {
		return s.flushJob(false)
	}
	if s.dqs != nil {
		if f, ok := s.dqs.(framework.Flusher); ok {
			if err := f.Flush(); err != nil {
				return err
			}
		}
	}
	if f, ok := s.df.(framework.Flusher); ok {
		return f.Flush()
	}
	return nil
}
