package schedulers

import (
	"sync"

	"github.com/frontier-go/frontier/framework"
)

// handoff queues a job's accepted requests on a goroutine of its own, so
// that a run of Enqueue calls, or an EnqueueBatch (a callback's output),
// uses two cores: the caller's fingerprints each request and checks it
// against the set while the other pushes the ones before it into the
// queues, where the disk queues encode and buffer them. Pushes keep their
// order.
//
// Every other method of the scheduler first waits for the handed-off
// requests to be queued (drain), so that nothing else ever runs beside the
// handoff's goroutine: it is the only one touching the queues and the
// in-flight journal while it works, and what any method sees is what one
// goroutine doing everything in order would have seen. A request handed
// off is in memory, as it is in a disk queue's write buffer, until the next
// flush, which drains first; so the job directory's guarantees are those of
// the synchronous path. An error of a push is returned by the next call
// that drains (an Enqueue too, when its periodic flush comes due); the
// stats count a request as enqueued once it is queued.
type handoff struct {
	s     *Scheduler
	batch []*framework.Request // being filled by the caller
	work  chan []*framework.Request
	free  chan []*framework.Request // batches to reuse
	busy  sync.WaitGroup            // batches handed off and not yet queued
	exit  chan struct{}
	err   error // the first push error since the last drain; read after busy.Wait
}

// handoffBatch is the number of requests handed off at a time: large enough
// that a handoff costs little per request, small enough to stay in the
// caches.
const handoffBatch = 256

func newHandoff(s *Scheduler) *handoff {
	h := &handoff{
		s:    s,
		work: make(chan []*framework.Request, 8),
		free: make(chan []*framework.Request, 10),
		exit: make(chan struct{}),
	}
	go h.run()
	return h
}

// add hands r off to be queued.
func (h *handoff) add(r *framework.Request) {
	if h.batch == nil {
		select {
		case h.batch = <-h.free:
		default:
			h.batch = make([]*framework.Request, 0, handoffBatch)
		}
	}
	h.batch = append(h.batch, r)
	if len(h.batch) == handoffBatch {
		h.send()
	}
}

func (h *handoff) send() {
	h.busy.Add(1)
	h.work <- h.batch
	h.batch = nil
}

// wait waits until every request handed off is queued.
func (h *handoff) wait() {
	if len(h.batch) > 0 {
		h.send()
	}
	h.busy.Wait()
}

// drain waits until every request handed off is queued and returns the
// first push error since the last drain.
func (h *handoff) drain() error {
	h.wait()
	err := h.err
	h.err = nil
	return err
}

// stop drains and ends the goroutine.
func (h *handoff) stop() error {
	err := h.drain()
	close(h.work)
	<-h.exit
	return err
}

func (h *handoff) run() {
	defer close(h.exit)
	s := h.s
	var t tally
	for b := range h.work {
		for i, r := range b {
			if q, err := s.push(r); err != nil {
				if h.err == nil {
					h.err = err
				}
			} else {
				t.add(s, q)
			}
			b[i] = nil
		}
		t.flush(s) // before the batch counts as queued
		select {
		case h.free <- b[:0]:
		default:
		}
		h.busy.Done()
	}
}

// drain waits for the handed-off requests to be queued and returns a push
// error not yet returned; see handoff.
func (s *Scheduler) drain() error {
	if s.handoff == nil {
		return nil
	}
	return s.handoff.drain()
}

// settle waits for the handed-off requests to be queued, leaving a push
// error to the next call that can return it.
func (s *Scheduler) settle() {
	if s.handoff != nil {
		s.handoff.wait()
	}
}

// tally counts a batch's queued requests per queue until flush adds them
// to the stats: an atomic add per request and counter is a tenth of an
// enqueue, so the handoff's goroutine adds once per queue and batch.
type tally struct {
	q    [2]*pendingQueue // the queues seen, in order; a third is counted at once
	n    [2]int64
	used int
}

// add counts one request taken by q.
func (t *tally) add(s *Scheduler, q *pendingQueue) {
	for k := 0; k < t.used; k++ {
		if t.q[k] == q {
			t.n[k]++
			return
		}
	}
	if t.used == len(t.q) {
		q.enqueued(1)
		s.count.enqueued(1)
		return
	}
	t.q[t.used], t.n[t.used] = q, 1
	t.used++
}

// flush adds the counts to the stats.
func (t *tally) flush(s *Scheduler) {
	var total int64
	for k := 0; k < t.used; k++ {
		t.q[k].enqueued(t.n[k])
		total += t.n[k]
	}
	if total > 0 {
		s.count.enqueued(total)
	}
	*t = tally{}
}
