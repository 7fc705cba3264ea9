package queues

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/frontier-go/frontier/framework"
)

// ScrapyPriorityQueue is Scrapy's priority queue: one downstream queue per
// priority (and, when a start queue factory is set, one more per priority for
// start requests). Higher priorities pop first; at equal priority regular
// requests pop before start requests. Peek returns exactly what Pop would,
// unlike Scrapy's.
//
// Downstream keys are Key + "/" + the negated priority ("…/0", "…/-3"), plus
// "s" for start buckets ("…/0s"), as Scrapy names them on disk.
type ScrapyPriorityQueue struct {
	ctx   context.Context
	c     *framework.Crawler
	cfg   framework.PriorityQueueConfig
	reg   map[int]*bucket // by internal priority (-Request.Priority)
	start map[int]*bucket
	prios intHeap // internal priorities that have at least one bucket
	n     int

	inflight map[*framework.Request]*bucket // only for Acker downstream queues
}

type bucket struct {
	q        framework.Queue
	prio     int
	isStart  bool
	inflight int
}

var (
	_ framework.PriorityQueue = (*ScrapyPriorityQueue)(nil)
	_ framework.Peeker        = (*ScrapyPriorityQueue)(nil)
	_ framework.Acker         = (*ScrapyPriorityQueue)(nil)
	_ framework.Flusher       = (*ScrapyPriorityQueue)(nil)
)

// NewScrapyPriorityQueue returns an empty priority queue over cfg's downstream queues.
func NewScrapyPriorityQueue(ctx context.Context, c *framework.Crawler, cfg framework.PriorityQueueConfig) (*ScrapyPriorityQueue, error) {
	if cfg.Downstream == nil {
		return nil, ErrNoDownstream
	}
	return &ScrapyPriorityQueue{
		ctx:      ctx,
		c:        c,
		cfg:      cfg,
		reg:      map[int]*bucket{},
		start:    map[int]*bucket{},
		inflight: map[*framework.Request]*bucket{},
	}, nil
}

// ScrapyPriorityQueueFactory is the registry factory of [ScrapyPriorityQueue].
func ScrapyPriorityQueueFactory(ctx context.Context, c *framework.Crawler, cfg framework.PriorityQueueConfig) (framework.PriorityQueue, error) {
	return NewScrapyPriorityQueue(ctx, c, cfg)
}

// Push adds r to the bucket of its priority. An error from the downstream
// queue (such as an unserializable request) leaves the queue unchanged.
func (pq *ScrapyPriorityQueue) Push(r *framework.Request) error {
	b, created, err := pq.bucketFor(r)
	if err != nil {
		return err
	}
	if err := b.q.Push(r); err != nil {
		if created {
			pq.drop(b)
		}
		return err
	}
	pq.n++
	return nil
}

func (pq *ScrapyPriorityQueue) bucketFor(r *framework.Request) (*bucket, bool, error) {
	p := -r.Priority
	isStart := pq.cfg.Start != nil && r.IsStart()
	m := pq.reg
	if isStart {
		m = pq.start
	}
	if b, ok := m[p]; ok {
		return b, false, nil
	}
	b, err := pq.open(p, isStart)
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// open creates the bucket of internal priority p.
func (pq *ScrapyPriorityQueue) open(p int, isStart bool) (*bucket, error) {
	key := pq.cfg.Key + "/" + strconv.Itoa(p)
	factory, m := pq.cfg.Downstream, pq.reg
	if isStart {
		key += "s"
		factory, m = pq.cfg.Start, pq.start
	}
	q, err := factory(pq.ctx, pq.c, key)
	if err != nil {
		return nil, fmt.Errorf("queues: open bucket %q: %w", key, err)
	}
	_, hadReg := pq.reg[p]
	_, hadStart := pq.start[p]
	b := &bucket{q: q, prio: p, isStart: isStart}
	m[p] = b
	if !hadReg && !hadStart {
		heap.Push(&pq.prios, p)
	}
	return b, nil
}

// drop closes and forgets an empty bucket with nothing in flight.
func (pq *ScrapyPriorityQueue) drop(b *bucket) error {
	m, other := pq.reg, pq.start
	if b.isStart {
		m, other = pq.start, pq.reg
	}
	delete(m, b.prio)
	if _, ok := other[b.prio]; !ok {
		pq.prios.remove(b.prio)
	}
	return b.q.Close()
}

// current returns the bucket Pop takes from next, or nil when empty.
func (pq *ScrapyPriorityQueue) current() *bucket {
	for len(pq.prios) > 0 {
		p := pq.prios[0]
		if b, ok := pq.reg[p]; ok && b.q.Len() > 0 {
			return b
		}
		if b, ok := pq.start[p]; ok && b.q.Len() > 0 {
			return b
		}
		// Only buckets kept open for acknowledgements remain at p: skip past
		// them without forgetting them.
		return pq.scan()
	}
	return nil
}

// scan finds the non-empty bucket of lowest internal priority the slow way;
// it is reached only while emptied buckets wait for acknowledgements.
func (pq *ScrapyPriorityQueue) scan() *bucket {
	var best *bucket
	for _, m := range []map[int]*bucket{pq.reg, pq.start} {
		for _, b := range m {
			if b.q.Len() == 0 {
				continue
			}
			if best == nil || b.prio < best.prio || (b.prio == best.prio && !b.isStart) {
				best = b
			}
		}
	}
	return best
}

// Pop removes and returns the request with the highest priority, or nil.
func (pq *ScrapyPriorityQueue) Pop() (*framework.Request, error) {
	b := pq.current()
	if b == nil {
		return nil, nil
	}
	r, err := b.q.Pop()
	if err != nil || r == nil {
		return nil, err
	}
	pq.n--
	if _, ok := b.q.(framework.Acker); ok {
		pq.inflight[r] = b
		b.inflight++
	}
	if b.q.Len() == 0 && b.inflight == 0 {
		if err := pq.drop(b); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Peek returns what Pop would return, without removing it.
func (pq *ScrapyPriorityQueue) Peek() (*framework.Request, error) {
	b := pq.current()
	if b == nil {
		return nil, nil
	}
	p, ok := b.q.(framework.Peeker)
	if !ok {
		return nil, ErrPeekUnsupported
	}
	return p.Peek()
}

// Ack passes the acknowledgement of r to the bucket it came from, when that
// bucket's queue keeps requests in flight; otherwise it does nothing.
func (pq *ScrapyPriorityQueue) Ack(r *framework.Request) error {
	b, ok := pq.inflight[r]
	if !ok {
		return nil
	}
	delete(pq.inflight, r)
	b.inflight--
	err := b.q.(framework.Acker).Ack(r)
	if b.q.Len() == 0 && b.inflight == 0 {
		err = errors.Join(err, pq.drop(b))
	}
	return err
}

// InFlight returns the number of requests popped from acknowledging buckets
// and not yet acknowledged.
func (pq *ScrapyPriorityQueue) InFlight() int { return len(pq.inflight) }

// Len returns the number of queued requests.
func (pq *ScrapyPriorityQueue) Len() int { return pq.n }

// Flush flushes every bucket that buffers writes.
func (pq *ScrapyPriorityQueue) Flush() error {
	var errs []error
	for _, m := range []map[int]*bucket{pq.reg, pq.start} {
		for _, b := range m {
			if f, ok := b.q.(framework.Flusher); ok {
				errs = append(errs, f.Flush())
			}
		}
	}
	return errors.Join(errs...)
}

// Close closes every bucket. Persistent buckets keep their contents.
func (pq *ScrapyPriorityQueue) Close() error {
	var errs []error
	for _, m := range []map[int]*bucket{pq.reg, pq.start} {
		for p, b := range m {
			errs = append(errs, b.q.Close())
			delete(m, p)
		}
	}
	pq.prios = pq.prios[:0]
	return errors.Join(errs...)
}

// Priorities returns the priorities (Request.Priority values) that hold
// buckets, highest first; for inspection and tests.
func (pq *ScrapyPriorityQueue) Priorities() []int {
	seen := map[int]bool{}
	var out []int
	for _, m := range []map[int]*bucket{pq.reg, pq.start} {
		for p := range m {
			if !seen[p] {
				seen[p] = true
				out = append(out, -p)
			}
		}
	}
	slices.SortFunc(out, func(a, b int) int { return b - a })
	return out
}

// intHeap is a min-heap of distinct ints.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *intHeap) remove(v int) {
	for i, x := range *h {
		if x == v {
			heap.Remove(h, i)
			return
		}
	}
}
