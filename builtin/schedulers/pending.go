package schedulers

import (
	"errors"

	"github.com/frontier-go/frontier/framework"
)

// The names of the scheduler's priority queues, as its stats name them
// (scheduler/enqueued/<name>, scheduler/dequeued/<name>).
const (
	queueDisk   = "disk"
	queueMemory = "memory"
)

// pendingQueue is one of the priority queues a [Scheduler] keeps its pending
// requests in, with what the scheduler needs to know about it. The scheduler
// holds them in a list, in the order Enqueue offers them a request: the disk
// queue (with JOBDIR), then memory. Adding a kind of queue (a shared one, on
// Redis or in a plugin) is adding an entry to that list.
type pendingQueue struct {
	// name is the queue's name in stats and logs: "disk", "memory".
	name string
	pq   framework.PriorityQueue
	// persistent reports whether the queue keeps its requests outside the
	// process (the job directory's disk queue). With JOBDIR, its pops are
	// recorded in the in-flight journal (unless it keeps them in flight
	// itself), and it is flushed and closed between the journal's delivery
	// records and its acknowledgements (see flushJob).
	persistent bool
	// acceptsAll reports whether the queue takes every request. A queue that
	// does not may refuse a request it cannot serialise
	// (framework.ErrUnserializable), which Enqueue then offers to the next
	// queue of the list; the last queue must accept all.
	acceptsAll bool

	enqueued, dequeued func(int64)
}

// newPendingQueue returns pq under name, its counters bound to stats.
func newPendingQueue(st framework.Stats, name string, pq framework.PriorityQueue, persistent, acceptsAll bool) *pendingQueue {
	return &pendingQueue{
		name: name, pq: pq, persistent: persistent, acceptsAll: acceptsAll,
		enqueued: framework.CounterFunc(st, framework.StatEnqueued+"/"+name),
		dequeued: framework.CounterFunc(st, framework.StatDequeued+"/"+name),
	}
}

// push offers r to the queues in order and returns the one that took it. A
// queue that does not accept all may refuse r as unserialisable: r is
// offered to the next queue, and counted once in scheduler/unserializable.
// Before a persistent queue is written to, the in-flight journal writes its
// delivery records (beforePersistentPush).
func (s *Scheduler) push(r *framework.Request) (*pendingQueue, error) {
	refused := false
	for _, q := range s.queues {
		if q.persistent {
			if err := s.beforePersistentPush(); err != nil {
				return nil, err
			}
		}
		err := q.pq.Push(r)
		if err == nil {
			return q, nil
		}
		if q.acceptsAll || !errors.Is(err, framework.ErrUnserializable) {
			return nil, err
		}
		if !refused {
			refused = true
			s.unserializable(r, err)
		}
	}
	return nil, errors.New("scheduler: no queue accepts every request") // a programmer error: the last queue accepts all
}

// unserializable counts r, refused by a queue as unserialisable, and logs
// the first one when SCHEDULER_DEBUG is set.
func (s *Scheduler) unserializable(r *framework.Request, err error) {
	if s.logUnserializable {
		s.log.Warn().Err(err).Str("request", r.String()).
			Msg("Unable to serialize request - no more unserializable requests will be logged (stats being collected)")
		s.logUnserializable = false
	}
	s.count.unserializable(1)
}

// pick chooses the queue Next pops from: the one whose head has the highest
// priority. At equal priority the later queue of the list wins, so memory
// before disk (Scrapy pops memory first); when a queue with requests cannot
// peek, the last queue with requests wins. It returns nil when every queue
// is empty.
func (s *Scheduler) pick() (*pendingQueue, error) {
	var last *pendingQueue
	ready, peekable := 0, true
	for i := len(s.queues) - 1; i >= 0; i-- {
		q := s.queues[i]
		if q.pq.Len() == 0 {
			continue
		}
		if ready++; last == nil {
			last = q
		}
		if _, ok := q.pq.(framework.Peeker); !ok {
			peekable = false
		}
	}
	if ready <= 1 || !peekable {
		return last, nil
	}
	var (
		best *pendingQueue
		head *framework.Request
	)
	for i := len(s.queues) - 1; i >= 0; i-- {
		q := s.queues[i]
		if q.pq.Len() == 0 {
			continue
		}
		h, err := q.pq.(framework.Peeker).Peek()
		if err != nil {
			return nil, err
		}
		if best == nil || h != nil && (head == nil || h.Priority > head.Priority) {
			best, head = q, h
		}
	}
	return best, nil
}

// flushQueues flushes the persistent queues that buffer writes, in order.
func (s *Scheduler) flushQueues() error {
	for _, q := range s.queues {
		if f, ok := q.pq.(framework.Flusher); ok && q.persistent {
			if err := f.Flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// closeQueues closes the persistent queues, or the others, in order. With
// JOBDIR, a queue that is not persistent and still holds requests is logged:
// they are lost.
func (s *Scheduler) closeQueues(persistent bool) error {
	var errs []error
	for _, q := range s.queues {
		if q.persistent != persistent {
			continue
		}
		if n := q.pq.Len(); n > 0 && s.job != nil && !persistent {
			s.log.Warn().Int("requests", n).Msgf("Requests kept in %s (unserializable) are not saved in JOBDIR and are lost", q.name)
		}
		errs = append(errs, q.pq.Close())
	}
	return errors.Join(errs...)
}

// journaled returns the persistent queue the requests handed out again from
// the in-flight journal are counted against and acknowledged to: the journal
// does not record which queue a request came from, and the first persistent
// queue (the disk queue) is the only one today.
func (s *Scheduler) journaled() *pendingQueue {
	for _, q := range s.queues {
		if q.persistent {
			return q
		}
	}
	return nil
}
