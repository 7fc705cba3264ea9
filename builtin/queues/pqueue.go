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
//
// Persistent (cfg.Job set: the disk queue of a job directory), the queue
// records its buckets in a bucket journal (Key/buckets.journal, package
// jobdir) when they are created and drained, and finds them there when it is
// built again, so that no bucket is known only at close (Scrapy's
// active.json). A drained bucket's files are deleted by the next Flush, once
// its owner has recorded the requests popped from it (see persist.go).
type ScrapyPriorityQueue struct {
	ctx   context.Context
	c     *framework.Crawler
	cfg   framework.PriorityQueueConfig
	reg   map[int]*bucket // by internal priority (-Request.Priority)
	start map[int]*bucket
	prios intHeap // internal priorities that have at least one bucket
	n     int

	inflight map[*framework.Request]*bucket // only for Acker downstream queues

	disk    *pqDisk // nil in memory
	touched bool    // in the downloader-aware queue's dirty slots
}

type bucket struct {
	q        framework.Queue
	prio     int
	isStart  bool
	inflight int
	dirty    bool // in pqDisk.dirty
}

var _ framework.InFlightTracker = (*ScrapyPriorityQueue)(nil)

var (
	_ framework.PriorityQueue = (*ScrapyPriorityQueue)(nil)
	_ framework.Peeker        = (*ScrapyPriorityQueue)(nil)
	_ framework.Acker         = (*ScrapyPriorityQueue)(nil)
	_ framework.Flusher       = (*ScrapyPriorityQueue)(nil)
)

// NewScrapyPriorityQueue returns a priority queue over cfg's downstream
// queues: empty in memory; persistent, holding the buckets its bucket journal
// lists (empty ones are dropped).
func NewScrapyPriorityQueue(ctx context.Context, c *framework.Crawler, cfg framework.PriorityQueueConfig) (*ScrapyPriorityQueue, error) {
	pq, err := emptySPQ(ctx, c, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Job != nil && cfg.Key != "" {
		if err := pq.openJournal(); err != nil {
			return nil, err
		}
	}
	return pq, nil
}

func emptySPQ(ctx context.Context, c *framework.Crawler, cfg framework.PriorityQueueConfig) (*ScrapyPriorityQueue, error) {
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
	pq.touch(b)
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
	if pq.disk != nil {
		if b := pq.disk.revive(p, isStart); b != nil {
			if err := pq.disk.addBucket(pq.disk.name(b)); err != nil {
				pq.disk.drained = append(pq.disk.drained, b)
				return nil, err
			}
			pq.insert(b)
			return b, nil
		}
	}
	key := pq.cfg.Key + "/" + bucketSuffix(p, isStart)
	factory := pq.cfg.Downstream
	if isStart {
		factory = pq.cfg.Start
	}
	b := &bucket{prio: p, isStart: isStart}
	if pq.disk != nil {
		// Recorded before the queue exists, so before it can write a byte.
		if err := pq.disk.addBucket(pq.disk.name(b)); err != nil {
			return nil, fmt.Errorf("queues: open bucket %q: %w", key, err)
		}
	}
	q, err := factory(pq.ctx, pq.c, pq.queueConfig(key))
	if err != nil {
		if pq.disk != nil {
			pq.disk.journal.Remove(pq.disk.name(b))
		}
		return nil, fmt.Errorf("queues: open bucket %q: %w", key, err)
	}
	b.q = q
	pq.insert(b)
	return b, nil
}

// bucketSuffix is a bucket's key below the priority queue's: the internal
// priority, and "s" for start requests.
func bucketSuffix(p int, isStart bool) string {
	if isStart {
		return strconv.Itoa(p) + "s"
	}
	return strconv.Itoa(p)
}

// insert makes b one of the queue's buckets.
func (pq *ScrapyPriorityQueue) insert(b *bucket) {
	m := pq.reg
	if b.isStart {
		m = pq.start
	}
	_, hadReg := pq.reg[b.prio]
	_, hadStart := pq.start[b.prio]
	m[b.prio] = b
	if !hadReg && !hadStart {
		heap.Push(&pq.prios, b.prio)
	}
}

// drop forgets an empty bucket with nothing in flight and closes it; a
// persistent queue closes it (deleting its files) at the next Flush.
func (pq *ScrapyPriorityQueue) drop(b *bucket) error {
	m, other := pq.reg, pq.start
	if b.isStart {
		m, other = pq.start, pq.reg
	}
	delete(m, b.prio)
	if _, ok := other[b.prio]; !ok {
		pq.prios.remove(b.prio)
	}
	if pq.disk != nil {
		pq.disk.drain(b)
		return nil
	}
	return b.q.Close()
}

// current returns the bucket Pop takes from next and its length (a disk
// queue's Len takes its store's lock: Pop does not ask twice), or nil when
// empty.
func (pq *ScrapyPriorityQueue) current() (*bucket, int) {
	for len(pq.prios) > 0 {
		p := pq.prios[0]
		for _, m := range [...]map[int]*bucket{pq.reg, pq.start} {
			if b, ok := m[p]; ok {
				if n := b.q.Len(); n > 0 {
					return b, n
				}
			}
		}
		// Only buckets kept open for acknowledgements remain at p: skip past
		// them without forgetting them.
		return pq.scan()
	}
	return nil, 0
}

// scan finds the non-empty bucket of lowest internal priority the slow way;
// it is reached only while emptied buckets wait for acknowledgements.
func (pq *ScrapyPriorityQueue) scan() (*bucket, int) {
	var (
		best  *bucket
		bestN int
	)
	for _, m := range []map[int]*bucket{pq.reg, pq.start} {
		for _, b := range m {
			n := b.q.Len()
			if n == 0 {
				continue
			}
			if best == nil || b.prio < best.prio || (b.prio == best.prio && !b.isStart) {
				best, bestN = b, n
			}
		}
	}
	return best, bestN
}

// Pop removes and returns the request with the highest priority, or nil.
func (pq *ScrapyPriorityQueue) Pop() (*framework.Request, error) {
	b, before := pq.current()
	if b == nil {
		return nil, nil
	}
	r, err := b.q.Pop()
	if err != nil || r == nil {
		return nil, errors.Join(err, pq.skipped(b, before))
	}
	pq.n--
	pq.touch(b)
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

// skipped accounts for the records bucket b skipped in a failed Pop (a
// corrupt record the queue reported and moved past, or a chunk dropped with
// its records), which held before of them: the count falls with the
// bucket's, so that Len never promises requests Pop will not return, and an
// emptied bucket is dropped.
func (pq *ScrapyPriorityQueue) skipped(b *bucket, before int) error {
	gone := before - b.q.Len()
	if gone <= 0 {
		return nil
	}
	pq.n -= gone
	if b.q.Len() == 0 && b.inflight == 0 {
		return pq.drop(b)
	}
	return nil
}

// Peek returns what Pop would return, without removing it.
func (pq *ScrapyPriorityQueue) Peek() (*framework.Request, error) {
	b, before := pq.current()
	if b == nil {
		return nil, nil
	}
	p, ok := b.q.(framework.Peeker)
	if !ok {
		return nil, ErrPeekUnsupported
	}
	r, err := p.Peek()
	if err != nil {
		// A Peek that met a chunk it cannot read drops it as a Pop does:
		// the count falls with it.
		return nil, errors.Join(err, pq.skipped(b, before))
	}
	return r, nil
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

// Tracks reports whether r, popped and not yet acknowledged, came from a
// bucket whose queue keeps it in flight (an Acker).
func (pq *ScrapyPriorityQueue) Tracks(r *framework.Request) bool {
	_, ok := pq.inflight[r]
	return ok
}

// Len returns the number of queued requests.
func (pq *ScrapyPriorityQueue) Len() int { return pq.n }

// Flush flushes every bucket that buffers writes. Persistent, it writes the
// bucket journal first, flushes only the buckets used since the last Flush,
// then closes the drained buckets (deleting their files).
func (pq *ScrapyPriorityQueue) Flush() error {
	if pq.disk != nil {
		return pq.disk.flush(pq, false)
	}
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

// Close closes every bucket. Persistent buckets keep their contents; a
// persistent queue records its empty buckets as drained and closes its journal.
func (pq *ScrapyPriorityQueue) Close() error {
	if pq.disk != nil {
		return pq.disk.close(pq)
	}
	return pq.closeBuckets()
}

func (pq *ScrapyPriorityQueue) closeBuckets() error {
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
