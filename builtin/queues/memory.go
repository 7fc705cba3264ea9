package queues

import (
	"context"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
)

// FifoMemoryQueue is a first-in, first-out queue held in memory: a ring buffer
// that grows as needed and shrinks when mostly empty.
type FifoMemoryQueue struct {
	buf  []*framework.Request
	head int
	n    int
}

var (
	_ framework.Queue   = (*FifoMemoryQueue)(nil)
	_ framework.Peeker  = (*FifoMemoryQueue)(nil)
	_ framework.Batcher = (*FifoMemoryQueue)(nil)
)

// NewFifoMemoryQueue returns an empty queue.
func NewFifoMemoryQueue() *FifoMemoryQueue { return &FifoMemoryQueue{} }

// Push adds r at the tail.
func (q *FifoMemoryQueue) Push(r *framework.Request) error {
	if q.n == len(q.buf) {
		q.resize(max(8, 2*len(q.buf)))
	}
	q.buf[(q.head+q.n)%len(q.buf)] = r
	q.n++
	return nil
}

// Pop removes and returns the request at the head, or nil when empty.
func (q *FifoMemoryQueue) Pop() (*framework.Request, error) {
	if q.n == 0 {
		return nil, nil
	}
	r := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if len(q.buf) > 64 && q.n < len(q.buf)/4 {
		q.resize(len(q.buf) / 2)
	}
	return r, nil
}

// Peek returns the request Pop would return, or nil when empty.
func (q *FifoMemoryQueue) Peek() (*framework.Request, error) {
	if q.n == 0 {
		return nil, nil
	}
	return q.buf[q.head], nil
}

// PushBatch pushes rs in order.
func (q *FifoMemoryQueue) PushBatch(rs []*framework.Request) error {
	for _, r := range rs {
		_ = q.Push(r)
	}
	return nil
}

// PopBatch pops up to max requests.
func (q *FifoMemoryQueue) PopBatch(max int) ([]*framework.Request, error) {
	return disk.PopBatch(q, max)
}

// Len returns the number of queued requests.
func (q *FifoMemoryQueue) Len() int { return q.n }

// Close drops the queue's contents; memory queues do not persist.
func (q *FifoMemoryQueue) Close() error {
	q.buf, q.head, q.n = nil, 0, 0
	return nil
}

func (q *FifoMemoryQueue) resize(size int) {
	nb := make([]*framework.Request, size)
	for i := 0; i < q.n; i++ {
		nb[i] = q.buf[(q.head+i)%len(q.buf)]
	}
	q.buf, q.head = nb, 0
}

// LifoMemoryQueue is a last-in, first-out queue held in memory.
type LifoMemoryQueue struct {
	s []*framework.Request
}

var (
	_ framework.Queue   = (*LifoMemoryQueue)(nil)
	_ framework.Peeker  = (*LifoMemoryQueue)(nil)
	_ framework.Batcher = (*LifoMemoryQueue)(nil)
)

// NewLifoMemoryQueue returns an empty queue.
func NewLifoMemoryQueue() *LifoMemoryQueue { return &LifoMemoryQueue{} }

// Push adds r on top.
func (q *LifoMemoryQueue) Push(r *framework.Request) error {
	q.s = append(q.s, r)
	return nil
}

// Pop removes and returns the request on top, or nil when empty.
func (q *LifoMemoryQueue) Pop() (*framework.Request, error) {
	n := len(q.s)
	if n == 0 {
		return nil, nil
	}
	r := q.s[n-1]
	q.s[n-1] = nil
	q.s = q.s[:n-1]
	if cap(q.s) > 64 && len(q.s) < cap(q.s)/4 {
		q.s = append([]*framework.Request(nil), q.s...)
	}
	return r, nil
}

// Peek returns the request Pop would return, or nil when empty.
func (q *LifoMemoryQueue) Peek() (*framework.Request, error) {
	if len(q.s) == 0 {
		return nil, nil
	}
	return q.s[len(q.s)-1], nil
}

// PushBatch pushes rs in order.
func (q *LifoMemoryQueue) PushBatch(rs []*framework.Request) error {
	q.s = append(q.s, rs...)
	return nil
}

// PopBatch pops up to max requests.
func (q *LifoMemoryQueue) PopBatch(max int) ([]*framework.Request, error) {
	return disk.PopBatch(q, max)
}

// Len returns the number of queued requests.
func (q *LifoMemoryQueue) Len() int { return len(q.s) }

// Close drops the queue's contents; memory queues do not persist.
func (q *LifoMemoryQueue) Close() error {
	q.s = nil
	return nil
}

// FifoMemoryFactory builds FIFO memory queues; the key is ignored.
func FifoMemoryFactory(context.Context, *framework.Crawler, framework.QueueConfig) (framework.Queue, error) {
	return NewFifoMemoryQueue(), nil
}

// LifoMemoryFactory builds LIFO memory queues; the key is ignored.
func LifoMemoryFactory(context.Context, *framework.Crawler, framework.QueueConfig) (framework.Queue, error) {
	return NewLifoMemoryQueue(), nil
}
