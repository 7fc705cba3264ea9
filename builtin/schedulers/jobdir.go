package schedulers

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/clock"
	"github.com/frontier-go/frontier/jobdir"
)

// jobState is the scheduler's job-directory side (JOBDIR set): the open job
// directory (its lock, manifest and spider state), the in-flight journal,
// and the requests to hand out again after a crash.
//
// In-flight redelivery works for any disk queue: a request popped from a
// persistent priority queue (pendingQueue.persistent) is recorded in the in-flight journal with its record
// (unless the queue keeps it in flight itself, framework.InFlightTracker)
// and acknowledged there by Finish. Its identifier is Request.Delivery as
// the disk queue set it (the built-in disk queues store it with the record,
// so it survives a crash), or one the journal makes up. After a crash, the
// requests recorded and not acknowledged are handed out first, marked
// Redelivered; a disk queue that returns one of them again (its pop had not
// become durable) has it dropped, when the queue gave it a stable identifier.
type jobState struct {
	dir       *jobdir.Job
	journal   *jobdir.InFlightJournal
	redeliver []*framework.Request

	flushEvery time.Duration // JOBDIR_FLUSH_INTERVAL
	lastFlush  clock.Mono
}

// StatGhostsSkipped counts requests a disk queue returned again after a
// crash although they had been handed out and recorded in flight: their pop
// had not become durable. They are dropped, not handed out twice.
const StatGhostsSkipped = "scheduler/redelivered/skipped"

// openJob opens the job directory: the lock, the manifest (the priority queue
// must be the one the job started with), the spider state and the in-flight
// journal. The disk priority queue is built by the caller.
func (s *Scheduler) openJob(cfg *framework.JobConfig) error {
	pqName, err := s.priorityQueueName()
	if err != nil {
		return err
	}
	dir := cfg.Dir
	known := func(name string) bool { _, err := s.c.Registry.Lookup(name); return err == nil }
	job, err := jobdir.Open(dir, jobdir.Options{PriorityQueue: pqName, Fsync: cfg.Fsync, Logger: s.log, KnownPriorityQueue: known})
	if err != nil {
		return fmt.Errorf("JOBDIR=%q: %w", dir, err)
	}
	journal, st, err := job.OpenInFlight()
	if err != nil {
		job.Close()
		return fmt.Errorf("JOBDIR=%q: %w", dir, err)
	}
	js := &jobState{dir: job, journal: journal, flushEvery: cfg.FlushInterval, lastFlush: clock.Exact()}
	for _, d := range st.InFlight {
		r, err := framework.DecodeRequest(d.Record, s.c.Spider)
		if err != nil {
			journal.Close()
			job.Close()
			return fmt.Errorf("JOBDIR=%q: a request in flight at the last stop does not decode: %w", dir, err)
		}
		r.Delivery, r.Redelivered = d.ID, true
		js.redeliver = append(js.redeliver, r)
	}
	if s.c.Spider != nil {
		s.c.Spider.State = job.State()
	}
	s.job = js
	return nil
}

// restoreFingerprints gives the dupefilter back the fingerprint of every
// request pending or in flight, after an unclean stop. A flush writes the
// fingerprints right after the requests (docs/jobdir.md), never before; a
// process killed between the two, or whose fingerprints a power cut lost,
// leaves requests in the job that the dupefilter does not know, which would
// be queued and crawled again when a page links to them (and their items
// written twice). Only a dupefilter that persists with the job can have
// lost any; queues that cannot list their requests (buckets kept as
// files) are skipped.
func (s *Scheduler) restoreFingerprints() error {
	if _, ok := s.df.(framework.Flusher); !ok {
		return nil
	}
	start := time.Now()
	walked, added := 0, 0
	// Requests are taken in batches, fingerprinted ahead on a second
	// goroutine when the dupefilter can (framework.BatchDupeFilter) while
	// this one records them in order.
	const batchMax = 4096
	var batch []*framework.Request
	bdf, _ := s.df.(framework.BatchDupeFilter)
	var fps []framework.Fingerprint
	var errs []error
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		record := func(seen bool, err error) error {
			if err == nil && !seen {
				added++
			}
			return err
		}
		if bdf == nil {
			for _, r := range batch {
				if err := record(s.df.RequestSeen(r)); err != nil {
					return err
				}
			}
		} else {
			fps, errs = slices.Grow(fps[:0], len(batch))[:len(batch)], slices.Grow(errs[:0], len(batch))[:len(batch)]
			err := bdf.Fingerprints(batch, fps, errs, func(i int) error {
				if errs[i] != nil {
					return errs[i]
				}
				return record(bdf.FingerprintSeen(batch[i], &fps[i]))
			})
			if err != nil {
				return err
			}
		}
		walked += len(batch)
		clear(batch)
		batch = batch[:0]
		return nil
	}
	restore := func(r *framework.Request) error {
		if r.DontFilter {
			return nil
		}
		if batch = append(batch, r); len(batch) == batchMax {
			return flush()
		}
		return nil
	}
	for _, r := range s.job.redeliver {
		if err := restore(r); err != nil {
			return err
		}
	}
	for _, q := range s.queues {
		w, ok := q.pq.(framework.PendingWalker)
		if !q.persistent || !ok {
			continue
		}
		var restoreErr error
		err := w.WalkPending(func(rec []byte) error {
			r, err := framework.DecodeRequest(rec, nil)
			if err != nil {
				return nil // the queue reports and skips it when it pops it
			}
			restoreErr = restore(r)
			return restoreErr
		})
		switch {
		case restoreErr != nil:
			return restoreErr
		case errors.Is(err, errors.ErrUnsupported):
		case err != nil:
			s.log.Warn().Err(err).Msg("Could not read every pending request to restore its fingerprint; the queue reports what it cannot read when it gets there")
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if added > 0 {
		s.log.Info().Int("requests", walked).Int("restored", added).Dur("took", time.Since(start)).
			Msg("The last run stopped without closing the job: restored the fingerprints of pending requests it had not written")
	} else {
		s.log.Debug().Int("requests", walked).Dur("took", time.Since(start)).
			Msg("The last run stopped without closing the job: every pending request's fingerprint was there")
	}
	return nil
}

// priorityQueueName returns the registry name SCHEDULER_PRIORITY_QUEUE
// resolves to (an alias gives its entry's name), as the manifest records it.
func (s *Scheduler) priorityQueueName() (string, error) {
	name, _, err := s.c.Settings.Component("SCHEDULER_PRIORITY_QUEUE")
	if err != nil {
		return "", err
	}
	e, err := s.c.Registry.Lookup(name)
	if err != nil {
		return "", fmt.Errorf("SCHEDULER_PRIORITY_QUEUE=%q: %w", name, err)
	}
	return e.Name, nil
}

// diskKey is the disk priority queue's key in dir.
func diskKey(dir string) string { return filepath.Join(dir, jobdir.QueueDir) }

// tick runs the interval flush (JOBDIR_FLUSH_INTERVAL): the first call after
// the interval hands everything buffered to the operating system. Nothing
// runs it between calls: a scheduler left idle keeps its buffers.
func (s *Scheduler) tick() error {
	js := s.job
	if js == nil {
		return nil
	}
	if js.lastFlush.Since(clock.Coarse()) < js.flushEvery {
		return nil
	}
	return s.Flush()
}

// beforePersistentPush writes the delivery records not yet written before a
// persistent queue is written to: a disk queue may make earlier pops durable
// when it writes, and a pop must never be durable before its delivery record.
func (s *Scheduler) beforePersistentPush() error {
	if s.job == nil {
		return nil
	}
	return s.job.journal.WriteDeliveries()
}

// nextRedelivered returns the next request in flight at the last stop.
func (s *Scheduler) nextRedelivered() *framework.Request {
	js := s.job
	if js == nil || len(js.redeliver) == 0 {
		return nil
	}
	r := js.redeliver[0]
	js.redeliver[0] = nil
	js.redeliver = js.redeliver[1:]
	s.c.Stats.Inc(framework.StatRedelivered, 1)
	return r
}

// delivered records r, just popped from q, in flight when q is persistent,
// and returns its delivery ID in the in-flight journal (0 when not recorded:
// no JOBDIR, q is not persistent or keeps it in flight itself). It reports
// false for a ghost: a request handed out before a crash whose pop had not
// become durable, which is dropped.
func (s *Scheduler) delivered(q *pendingQueue, r *framework.Request) (journal uint64, ok bool, err error) {
	js := s.job
	if js == nil || !q.persistent {
		return 0, true, nil
	}
	if t, ok := q.pq.(framework.InFlightTracker); ok {
		if t.Tracks(r) {
			return 0, true, nil
		}
	} else if _, ok := q.pq.(framework.Acker); ok {
		return 0, true, nil // the queue keeps all its requests in flight itself
	}
	if r.Delivery != 0 && js.journal.IsGhost(r.Delivery) {
		js.journal.Skip(r.Delivery)
		s.c.Stats.Inc(StatGhostsSkipped, 1)
		if a, ok := q.pq.(framework.Acker); ok {
			if err := a.Ack(r); err != nil {
				return 0, false, err
			}
		}
		return 0, false, nil
	}
	if r.Delivery == 0 {
		r.Delivery = js.journal.NewID()
	}
	if rec, ok := framework.TakeRecord(r); ok {
		js.journal.DeliverString(r.Delivery, rec)
	} else {
		rec, err := framework.EncodeRequest(r, s.c.Spider)
		if err != nil {
			return 0, false, fmt.Errorf("scheduler: record request %s in flight: %w", r, err)
		}
		js.journal.Deliver(r.Delivery, rec)
	}
	return r.Delivery, true, nil
}

// flushJob flushes in the order the invariants need: delivery records,
// then the persistent queues (the disk queue: its bucket journal, then its
// queues), then the dupefilter, then the flushed marker and the
// acknowledgements.
//
// Under JOBDIR_FSYNC=interval the job's files share one fsync clock
// (recordio.SyncTick): a flush at least the interval after the last tick
// writes every file, then fsyncs every file in that order, and no file
// fsyncs on its own in between, so that a power cut leaves the job as it
// was at a tick.
func (s *Scheduler) flushJob(force bool) error {
	js := s.job
	if t := js.dir.Fsync(); t.Mode == jobdir.FsyncInterval && t.Tick != nil && t.Tick.Due(time.Now(), t.Interval) {
		// A tick fsyncs every file of the job. Everything is first written,
		// back to back, and only then fsynced, in dependency order: a
		// process killed during the fsyncs has handed every write to the
		// operating system, so that no request sits there for the length
		// of an fsync without its fingerprint (which, lost with the process,
		// would let the request be queued, and crawled, twice).
		if err := s.writeJob(force); err != nil {
			return err
		}
		if t.Tick.Begin(time.Now(), t.Interval) {
			defer t.Tick.End()
		}
	}
	return s.writeJob(force)
}

// writeJob writes what is buffered in the order of docs/jobdir.md: the
// in-flight journal's deliveries, the queues, the fingerprints of their
// new requests, then the finishes. The fingerprints come right after the
// requests: between the two, a kill leaves requests the dupefilter forgets.
func (s *Scheduler) writeJob(force bool) error {
	js := s.job
	df, _ := s.df.(framework.Flusher)
	err := js.journal.Flush(func() error {
		if err := s.flushQueues(); err != nil {
			return err
		}
		if df != nil {
			return df.Flush()
		}
		return nil
	}, force)
	if err != nil {
		return err
	}
	js.lastFlush = clock.Exact()
	return nil
}

// closeJob closes the persistent queues between the delivery records and
// the acknowledgements, closes the journal and the other queues, saves the
// spider state and releases the lock. It returns the dupefilter's close
// error too, since the dupefilter must close after the queues and before the
// lock is released.
func (s *Scheduler) closeJob(reason string) error {
	js := s.job
	var errs []error
	if err := js.journal.Flush(func() error { return s.closeQueues(true) }, true); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, js.journal.Close(), s.closeQueues(false), s.df.Close(reason))
	if s.c.Spider != nil {
		errs = append(errs, js.dir.SaveState(s.c.Spider.State))
	}
	errs = append(errs, js.dir.Close())
	return errors.Join(errs...)
}

// Checkpoint flushes everything and saves the spider state (atomically), so
// that the job directory holds the crawl as of now. The engine calls it
// between callbacks, when the spider state is not being changed.
func (s *Scheduler) Checkpoint() error {
	if err := s.Flush(); err != nil {
		return err
	}
	if s.job != nil && s.c.Spider != nil {
		return s.job.dir.SaveState(s.c.Spider.State)
	}
	return nil
}
