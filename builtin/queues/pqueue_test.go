package queues

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

func testCrawler(t *testing.T) *framework.Crawler {
	t.Helper()
	return framework.NewCrawler(framework.NewSettings(), registry.New(), nil)
}

func newSPQ(t *testing.T, down, start framework.QueueFactory) *ScrapyPriorityQueue {
	t.Helper()
	pq, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), framework.PriorityQueueConfig{Downstream: down, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	return pq
}

func prioReq(url string, prio int, start bool) *framework.Request {
	r := req(url)
	r.Priority = prio
	if start {
		r.Meta = map[string]any{framework.MetaIsStartRequest: true}
	}
	return r
}

func TestSPQPushPopOne(t *testing.T) {
	pq := newSPQ(t, FifoMemoryFactory, nil)
	if r, _ := pq.Pop(); r != nil || pq.Len() != 0 {
		t.Fatal("not empty")
	}
	_ = pq.Push(prioReq("https://example.org/a", 1, false))
	if pq.Len() != 1 {
		t.Fatal(pq.Len())
	}
	r, _ := pq.Pop()
	if r.URL != "https://example.org/a" || r.Priority != 1 || pq.Len() != 0 {
		t.Fatal(r, pq.Len())
	}
	if len(pq.Priorities()) != 0 {
		t.Fatal(pq.Priorities())
	}
}

func TestSPQPeek(t *testing.T) {
	pq := newSPQ(t, FifoMemoryFactory, nil)
	for _, u := range []string{"https://example.org/a", "https://example.org/b", "https://example.org/c"} {
		_ = pq.Push(req(u))
	}
	for n := 3; n > 0; n-- {
		p, _ := pq.Peek()
		r, _ := pq.Pop()
		if p != r || pq.Len() != n-1 {
			t.Fatalf("peek %v, pop %v, len %d", p, r, pq.Len())
		}
	}
	if p, _ := pq.Peek(); p != nil {
		t.Fatal(p)
	}
}

func TestSPQPushPopPriorities(t *testing.T) {
	pq := newSPQ(t, FifoMemoryFactory, nil)
	for _, p := range []int{1, 2, 3} {
		_ = pq.Push(prioReq(fmt.Sprintf("https://example.org/%d", p), p, false))
	}
	r, _ := pq.Pop()
	if r.Priority != 3 {
		t.Fatal(r.Priority)
	}
	if got := pq.Priorities(); !slices.Equal(got, []int{2, 1}) {
		t.Fatal(got)
	}
}

// The test_pop_order cases of Scrapy's test_pqueues.py: LIFO regular queues,
// FIFO start queues, and regular before start at equal priority.
func TestSPQPopOrder(t *testing.T) {
	type in struct {
		start bool
		prio  int
	}
	for _, tc := range []struct {
		inputs []in
		want   []int
	}{
		{[]in{{}, {}}, []int{2, 1}},
		{[]in{{start: true}, {start: true}}, []int{1, 2}},
		{[]in{{prio: 1}, {start: true}}, []int{1, 2}},
		{[]in{{}, {start: true, prio: 1}}, []int{2, 1}},
		{[]in{{}, {start: true}}, []int{1, 2}},
		{[]in{{start: true}, {}}, []int{2, 1}},
	} {
		t.Run(fmt.Sprint(tc.inputs), func(t *testing.T) {
			pq := newSPQ(t, LifoMemoryFactory, FifoMemoryFactory)
			for i, x := range tc.inputs {
				_ = pq.Push(prioReq(fmt.Sprintf("https://example.org/%d", i+1), x.prio, x.start))
			}
			var got []int
			for {
				p, _ := pq.Peek()
				r, _ := pq.Pop()
				if p != r {
					t.Fatalf("peek %v != pop %v", p, r)
				}
				if r == nil {
					break
				}
				var n int
				fmt.Sscanf(r.URL, "https://example.org/%d", &n)
				got = append(got, n)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// rejectQueue fails every push as unserializable, as a disk queue does for a
// request it cannot encode.
type rejectQueue struct{ FifoMemoryQueue }

func (*rejectQueue) Push(*framework.Request) error { return framework.ErrUnserializable }

func TestSPQFailedPushLeavesNoBucket(t *testing.T) {
	pq := newSPQ(t, func(context.Context, *framework.Crawler, framework.QueueConfig) (framework.Queue, error) {
		return &rejectQueue{}, nil
	}, nil)
	if err := pq.Push(prioReq("https://example.org/", 3, false)); !errors.Is(err, framework.ErrUnserializable) {
		t.Fatal(err)
	}
	if pq.Len() != 0 || len(pq.Priorities()) != 0 {
		t.Fatal(pq.Len(), pq.Priorities())
	}
	if r, err := pq.Pop(); r != nil || err != nil {
		t.Fatal(r, err)
	}
}

// ackQueue is a memory FIFO that keeps popped requests until acknowledged,
// as a persistent queue does.
type ackQueue struct {
	FifoMemoryQueue
	out    map[*framework.Request]bool
	closed bool
}

func (q *ackQueue) Pop() (*framework.Request, error) {
	r, err := q.FifoMemoryQueue.Pop()
	if r != nil {
		q.out[r] = true
	}
	return r, err
}
func (q *ackQueue) Ack(r *framework.Request) error {
	if !q.out[r] {
		return framework.ErrNotInFlight
	}
	delete(q.out, r)
	return nil
}
func (q *ackQueue) InFlight() int { return len(q.out) }
func (q *ackQueue) Close() error  { q.closed = true; return nil }

func TestSPQRoutesAcks(t *testing.T) {
	var made []*ackQueue
	pq := newSPQ(t, func(context.Context, *framework.Crawler, framework.QueueConfig) (framework.Queue, error) {
		q := &ackQueue{out: map[*framework.Request]bool{}}
		made = append(made, q)
		return q, nil
	}, nil)
	_ = pq.Push(prioReq("https://example.org/a", 2, false))
	_ = pq.Push(prioReq("https://example.org/b", 1, false))
	a, _ := pq.Pop()
	b, _ := pq.Pop()
	if pq.InFlight() != 2 || made[0].closed {
		t.Fatal("emptied bucket closed while a request is in flight")
	}
	if err := pq.Ack(a); err != nil {
		t.Fatal(err)
	}
	if !made[0].closed || made[1].closed || pq.InFlight() != 1 {
		t.Fatal("bucket not closed after its last acknowledgement")
	}
	_ = pq.Ack(b)
	if !made[1].closed || pq.InFlight() != 0 {
		t.Fatal("second bucket not closed")
	}
}
