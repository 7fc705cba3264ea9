package schedulers

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// Scheduler is Scrapy's default scheduler: a dupefilter and an ordered list
// of priority queues, memory and, with JOBDIR, disk under
// JOBDIR/requests.queue. Enqueue offers a request to the queues in order:
// serialisable requests go to disk when there is one; the others stay in
// memory and are counted in scheduler/unserializable.
//
// Unlike Scrapy, Next respects priority across the queues: it hands out the
// highest priority of their heads, memory first at equal priority (Scrapy
// always pops memory first, its issue #3666).
//
// A request returned by Next is in flight until Finish; InFlight counts them.
// A Scheduler is used from one goroutine at a time.
//
// With JOBDIR, Open takes the job directory's lock, checks its format
// manifest, loads the spider state into Crawler.Spider.State and recovers the
// requests in flight at the last stop, which Next hands out first
// (Request.Redelivered, stat scheduler/redelivered). Writes are buffered; see
// Enqueue for when they reach the operating system, and jobdir.go for their
// order.
type Scheduler struct {
	c   *framework.Crawler
	log zerolog.Logger
	df  framework.DupeFilter

	factories         queueFactories
	logUnserializable bool // SCHEDULER_DEBUG, until the first one is logged

	// queues hold the pending requests, in the order Enqueue offers them a
	// request: disk (with JOBDIR), then memory.
	queues   []*pendingQueue
	inflight map[*framework.Request]handed

	job       *jobState // nil without JOBDIR
	jobClosed bool      // Close has closed the job directory
	closed    bool      // Close was called: Enqueue refuses requests

	count counters
	batch batchBuffers // EnqueueBatch's fingerprints

	// handoff queues accepted requests on a goroutine of its own (nil
	// once closed); every other method drains it first.
	handoff *handoff
}

// queueFactories are the queue settings resolved to factories, called when
// the scheduler opens.
type queueFactories struct {
	priority     framework.PriorityQueueFactory // SCHEDULER_PRIORITY_QUEUE
	memory, disk framework.QueueFactory         // SCHEDULER_MEMORY_QUEUE, SCHEDULER_DISK_QUEUE
	// startMemory and startDisk build the start requests' buckets
	// (SCHEDULER_START_*_QUEUE); nil: start requests share the regular ones.
	startMemory, startDisk framework.QueueFactory
}

// counters are the scheduler's stats, bound once to their keys; each
// queue counts its own (pendingQueue).
type counters struct {
	enqueued, dequeued, unserializable, inflight func(int64)
}

func bindCounters(st framework.Stats) counters {
	f := func(key string) func(int64) { return framework.CounterFunc(st, key) }
	return counters{
		enqueued: f(framework.StatEnqueued), dequeued: f(framework.StatDequeued),
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

	_ framework.BatchEnqueuer = (*Scheduler)(nil)
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
	qf := &s.factories
	if qf.priority, err = framework.RequiredComponent[framework.PriorityQueueFactory](c, "SCHEDULER_PRIORITY_QUEUE"); err != nil {
		return nil, err
	}
	if qf.memory, err = framework.RequiredComponent[framework.QueueFactory](c, "SCHEDULER_MEMORY_QUEUE"); err != nil {
		return nil, err
	}
	if qf.disk, err = framework.RequiredComponent[framework.QueueFactory](c, "SCHEDULER_DISK_QUEUE"); err != nil {
		return nil, err
	}
	if qf.startMemory, _, err = framework.Component[framework.QueueFactory](c, "SCHEDULER_START_MEMORY_QUEUE"); err != nil {
		return nil, err
	}
	if qf.startDisk, _, err = framework.Component[framework.QueueFactory](c, "SCHEDULER_START_DISK_QUEUE"); err != nil {
		return nil, err
	}
	if s.logUnserializable, err = c.Settings.GetBool("SCHEDULER_DEBUG"); err != nil {
		return nil, err
	}
	return s, nil
}

// DupeFilter returns the scheduler's dupefilter.
func (s *Scheduler) DupeFilter() framework.DupeFilter { return s.df }

// Open builds the memory priority queue and, with JOBDIR, opens the job
// directory and builds the disk one, then opens the dupefilter, and starts
// the handoff.
func (s *Scheduler) Open(ctx context.Context) error {
	if err := s.open(ctx); err != nil {
		return err
	}
	s.handoff = newHandoff(s)
	return nil
}

func (s *Scheduler) open(ctx context.Context) error {
	mpq, err := s.factories.priority(ctx, s.c, framework.PriorityQueueConfig{Downstream: s.factories.memory, Start: s.factories.startMemory})
	if err != nil {
		return fmt.Errorf("SCHEDULER_PRIORITY_QUEUE (memory): %w", err)
	}
	memory := newPendingQueue(s.c.Stats, queueMemory, mpq, false, true)
	s.queues = []*pendingQueue{memory}
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
	disk, err := s.openDisk(ctx, job)
	if err != nil {
		return err
	}
	s.queues = []*pendingQueue{disk, memory}
	if s.job.dir.Unclean() {
		if err := s.restoreFingerprints(); err != nil {
			return errors.Join(fmt.Errorf("JOBDIR=%q: %w", job.Dir, err), s.closeJob("shutdown"))
		}
	}
	if n := s.Len(); n > 0 {
		// Ghosts are copies, still in the queues, of requests in flight:
		// counted here, dropped when popped.
		s.log.Info().Int("queuesize", n).Int("inflight", len(s.job.redeliver)).Int("ghosts", s.job.journal.Ghosts()).
			Msgf("Resuming crawl (%d requests scheduled)", n)
	}
	return nil
}

// openDisk builds the disk priority queue under JOBDIR/requests.queue while
// the dupefilter opens: the dupefilter loads its fingerprints while the disk
// queue reads its buckets, both a resume's long parts. On failure it closes
// what it opened and the job directory.
func (s *Scheduler) openDisk(ctx context.Context, job *framework.JobConfig) (*pendingQueue, error) {
	dfOpened := make(chan error, 1)
	go func() { dfOpened <- s.df.Open(ctx) }()
	dpq, err := s.factories.priority(ctx, s.c, framework.PriorityQueueConfig{
		Downstream: s.factories.disk,
		Start:      s.factories.startDisk,
		Key:        diskKey(job.Dir),
		Job:        job,
	})
	dfErr := <-dfOpened
	if err == nil && dfErr == nil {
		return newPendingQueue(s.c.Stats, queueDisk, dpq, true, false), nil
	}
	if err != nil {
		err = fmt.Errorf("SCHEDULER_PRIORITY_QUEUE (disk): %w", err)
	} else {
		err = errors.Join(dfErr, dpq.Close())
	}
	if dfErr == nil {
		s.df.Close("")
	}
	s.job.journal.Close()
	s.job.dir.Close()
	s.job = nil
	return nil, err
}

// Close flushes and closes the queues and the dupefilter; with JOBDIR it
// also saves the spider state and releases the job directory. Close makes
// every request accepted so far durable, as Flush does: call it (or Flush)
// before the process exits.
func (s *Scheduler) Close(reason string) error {
	s.closed = true
	var herr error
	if s.handoff != nil {
		herr = s.handoff.stop()
		s.handoff = nil
	}
	if s.job != nil {
		err := errors.Join(herr, s.closeJob(reason))
		s.job, s.jobClosed = nil, true
		return err
	}
	if s.jobClosed {
		return nil // closed already, with its job directory
	}
	return errors.Join(herr, s.closeQueues(true), s.closeQueues(false), s.df.Close(reason))
}

// Enqueue schedules r unless the dupefilter has seen it (dont_filter skips the
// check). It first sends request_scheduled: a handler returning
// framework.ErrIgnoreRequest drops r silently. A duplicate sends
// request_dropped and returns false.
//
// With JOBDIR, an accepted request is buffered, not yet in the job
// directory. It is handed to the operating system (and then survives the
// death of the process) by Flush or Close, by the first Enqueue, Next or
// Finish called at least JOBDIR_FLUSH_INTERVAL after the last flush, or when
// the disk queue's write buffer fills. A Scheduler left idle writes nothing:
// a process killed or exiting without Flush or Close loses the requests
// accepted since the last flush. What a flush writes is ordered so that
// nothing depending on a lost request is durable either (a fingerprint, the
// finish of the request it came from). Package crawl also flushes in the
// background every JOBDIR_FLUSH_INTERVAL.
//
// Enqueue filters r and hands it, if accepted, to a goroutine that queues
// it, so that a run of Enqueue calls keeps two cores busy; every
// other method first waits until the requests handed off are queued. What
// those methods see, and what a crash leaves, is what the synchronous path
// would give. The stats count a request once queued (at the latest by the
// next call of another method), and an error of its push is returned by the
// next call that can return one.
func (s *Scheduler) Enqueue(r *framework.Request) (bool, error) {
	return s.enqueue(r, nil)
}

// EnqueueBatch enqueues rs in order, as many calls of Enqueue would, and
// stops at the first error. When the dupefilter can fingerprint ahead
// (framework.BatchDupeFilter) and no request_scheduled handler could change
// a request before it is filtered, a second goroutine fingerprints ahead
// while this one filters and pushes each request in order. The accepted
// requests are handed off to be queued, as Enqueue does.
func (s *Scheduler) EnqueueBatch(rs []*framework.Request, accepted []bool) error {
	bdf, ok := s.df.(framework.BatchDupeFilter)
	if !ok || len(rs) < 2 || s.c.Signals.Connected(framework.SignalRequestScheduled) {
		for i, r := range rs {
			ok, err := s.Enqueue(r)
			if accepted != nil {
				accepted[i] = ok
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	b := s.batchBuffers(len(rs))
	return bdf.Fingerprints(rs, b.fps, b.errs, func(i int) error {
		ok, err := s.enqueue(rs[i], &batchSeen{df: bdf, fp: &b.fps[i], err: b.errs[i]})
		if accepted != nil {
			accepted[i] = ok
		}
		return err
	})
}

// batchSeen is a request's fingerprint computed ahead by a batch enqueue.
type batchSeen struct {
	df  framework.BatchDupeFilter
	fp  *framework.Fingerprint
	err error // the fingerprinter's error, returned when r is filtered
}

// batchBuffers returns the scheduler's batch buffers, of n elements each.
func (s *Scheduler) batchBuffers(n int) *batchBuffers {
	b := &s.batch
	if cap(b.fps) < n {
		b.fps = make([]framework.Fingerprint, n)
		b.errs = make([]error, n)
	}
	b.fps, b.errs = b.fps[:n], b.errs[:n]
	return b
}

// batchBuffers hold a batch's fingerprints, kept from one batch to the next.
type batchBuffers struct {
	fps  []framework.Fingerprint
	errs []error
}

// enqueue is Enqueue, with r's fingerprint computed ahead when ahead is not
// nil. An open scheduler hands r off, and the handoff's goroutine counts it
// once queued; before Open, r is pushed and counted here.
func (s *Scheduler) enqueue(r *framework.Request, ahead *batchSeen) (bool, error) {
	if s.closed {
		// A memory queue would take it, and lose it.
		return false, fmt.Errorf("scheduler: enqueue %s: %w", r, framework.ErrClosed)
	}
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
		seen, err := s.requestSeen(r, ahead)
		if err != nil {
			return false, err
		}
		if seen {
			s.df.Log(r)
			return false, s.c.Signals.Send(framework.Event{Signal: framework.SignalRequestDropped, Request: r, Spider: s.c.Spider})
		}
	}
	if s.handoff != nil {
		s.handoff.add(r)
		return true, nil
	}
	q, err := s.push(r)
	if err != nil {
		return false, err
	}
	q.enqueued(1)
	s.count.enqueued(1)
	return true, nil
}

// requestSeen asks the dupefilter whether r was seen, with its fingerprint
// computed ahead when ahead is not nil.
func (s *Scheduler) requestSeen(r *framework.Request, ahead *batchSeen) (bool, error) {
	if ahead == nil {
		return s.df.RequestSeen(r)
	}
	if ahead.err != nil {
		return false, ahead.err
	}
	return ahead.df.FingerprintSeen(r, ahead.fp)
}

// Next returns the pending request of highest priority, or nil when none is
// pending (after sending scheduler_empty). The request is in flight until Finish.
func (s *Scheduler) Next() (*framework.Request, error) {
	if err := s.drain(); err != nil {
		return nil, err
	}
	if err := s.tick(); err != nil {
		return nil, err
	}
	if r := s.nextRedelivered(); r != nil {
		return s.handOut(r, s.journaled(), r.Delivery), nil
	}
	var skipped error // the last corrupt record skipped in this call
	for {
		q, err := s.pick()
		if err != nil {
			return nil, err
		}
		if q == nil {
			err := s.c.Signals.Send(framework.Event{Signal: framework.SignalSchedulerEmpty, Spider: s.c.Spider})
			// Requests were pending when this call began, and the corrupt
			// records skipped took them all: say so rather than return
			// nothing, so that Next never returns nothing and no error
			// while HasPending said true.
			return nil, errors.Join(skipped, err)
		}
		before := q.pq.Len()
		r, err := q.pq.Pop()
		if errors.Is(err, framework.ErrCorruptRecord) && q.pq.Len() < before {
			// The queue skipped a record it could not read, and reported and
			// counted it (scheduler/disk/dropped_records): go on with the
			// next one, so that Next never returns nothing while requests
			// are pending. A queue that did not move past it fails loudly.
			skipped = err
			continue
		}
		if err != nil || r == nil {
			return nil, err
		}
		id, ok, err := s.delivered(q, r)
		if err != nil {
			return nil, err
		}
		if ok {
			return s.handOut(r, q, id), nil
		}
		// r is a ghost of a request handed out before a crash: dropped.
	}
}

// handed is what the scheduler knows of a request in flight: the queue it
// came from and, when the in-flight journal recorded it, its delivery ID there.
type handed struct {
	q       *pendingQueue
	journal uint64
}

// handOut counts r as dequeued from q and puts it in flight; journal is its
// delivery ID in the in-flight journal, or 0 when not recorded there.
func (s *Scheduler) handOut(r *framework.Request, q *pendingQueue, journal uint64) *framework.Request {
	q.dequeued(1)
	s.count.dequeued(1)
	s.inflight[r] = handed{q: q, journal: journal}
	s.count.inflight(1)
	return r
}

// Finish reports that r, returned by Next, is done, whatever the outcome; a
// queue that keeps requests in flight is told to forget it.
func (s *Scheduler) Finish(r *framework.Request, outcome error) error {
	h, ok := s.inflight[r]
	if !ok {
		return fmt.Errorf("%w: %s", framework.ErrNotInFlight, r)
	}
	// An error of a push handed off earlier is returned, with r finished.
	pushErr := s.drain()
	delete(s.inflight, r)
	s.count.inflight(-1)
	if h.journal != 0 {
		s.job.journal.Ack(h.journal)
	}
	if a, ok := h.q.pq.(framework.Acker); ok {
		if err := a.Ack(r); err != nil {
			return errors.Join(pushErr, err)
		}
	}
	return errors.Join(pushErr, s.tick())
}

// InFlight returns the number of requests handed out and not finished.
func (s *Scheduler) InFlight() int { return len(s.inflight) }

// Len returns the number of pending requests in every queue, counting the
// requests in flight at the last stop that wait to be handed out again.
func (s *Scheduler) Len() int {
	s.settle()
	n := 0
	if s.job != nil {
		n += len(s.job.redeliver)
	}
	for _, q := range s.queues {
		n += q.pq.Len()
	}
	return n
}

// HasPending reports whether a request is pending.
func (s *Scheduler) HasPending() bool { return s.Len() > 0 }

// Flush hands buffered writes to the operating system: the persistent
// queues first, then the dupefilter, so that a fingerprint is never durable
// before its request. With JOBDIR, the in-flight journal's records go around
// the queues' flush (see flushJob). When Flush returns, every request
// accepted so far survives the death of the process.
func (s *Scheduler) Flush() error {
	if err := s.drain(); err != nil {
		return err
	}
	if s.job != nil {
		return s.flushJob(false)
	}
	if err := s.flushQueues(); err != nil {
		return err
	}
	if f, ok := s.df.(framework.Flusher); ok {
		return f.Flush()
	}
	return nil
}
