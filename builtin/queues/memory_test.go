package queues

import (
	"fmt"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func req(url string) *framework.Request { return framework.MustRequest(url) }

func urls(t *testing.T, q framework.Queue, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		r, err := q.Pop()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			out = append(out, "<nil>")
			continue
		}
		out = append(out, r.URL)
	}
	return out
}

func eq(t *testing.T, got, want []string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The queuelib QueueTestMixin, FifoTestMixin and LifoTestMixin cases.
func TestMemoryQueues(t *testing.T) {
	a, b, c, d, e := "http://x/a", "http://x/b", "http://x/c", "http://x/d", "http://x/e"
	for _, tc := range []struct {
		name           string
		new            func() framework.Queue
		pushPop1       []string
		pushPop2First  []string
		pushPop2Second []string
	}{
		{"fifo", func() framework.Queue { return NewFifoMemoryQueue() }, []string{a, b, c, "<nil>"}, []string{a, b}, []string{c, d, e}},
		{"lifo", func() framework.Queue { return NewLifoMemoryQueue() }, []string{c, b, a, "<nil>"}, []string{d, c}, []string{e, b, a}},
	} {
		t.Run(tc.name+"/empty", func(t *testing.T) {
			eq(t, urls(t, tc.new(), 1), []string{"<nil>"})
		})
		t.Run(tc.name+"/single_pushpop", func(t *testing.T) {
			q := tc.new()
			_ = q.Push(req(a))
			eq(t, urls(t, q, 1), []string{a})
		})
		t.Run(tc.name+"/len", func(t *testing.T) {
			q := tc.new()
			if q.Len() != 0 {
				t.Fatal("not empty")
			}
			_ = q.Push(req(a))
			if q.Len() != 1 {
				t.Fatal(q.Len())
			}
			_ = q.Push(req(b))
			_ = q.Push(req(c))
			if q.Len() != 3 {
				t.Fatal(q.Len())
			}
			urls(t, q, 3)
			if q.Len() != 0 {
				t.Fatal(q.Len())
			}
		})
		t.Run(tc.name+"/peek_one_element", func(t *testing.T) {
			q := tc.new()
			p := q.(framework.Peeker)
			if r, _ := p.Peek(); r != nil {
				t.Fatal(r)
			}
			_ = q.Push(req(a))
			if r, _ := p.Peek(); r.URL != a {
				t.Fatal(r)
			}
			urls(t, q, 1)
			if r, _ := p.Peek(); r != nil {
				t.Fatal(r)
			}
		})
		t.Run(tc.name+"/push_pop1", func(t *testing.T) {
			q := tc.new()
			for _, u := range []string{a, b, c} {
				_ = q.Push(req(u))
			}
			eq(t, urls(t, q, 4), tc.pushPop1)
		})
		t.Run(tc.name+"/push_pop2", func(t *testing.T) {
			q := tc.new()
			for _, u := range []string{a, b, c, d} {
				_ = q.Push(req(u))
			}
			eq(t, urls(t, q, 2), tc.pushPop2First)
			_ = q.Push(req(e))
			eq(t, urls(t, q, 3), tc.pushPop2Second)
		})
		t.Run(tc.name+"/peek_stable", func(t *testing.T) {
			q := tc.new()
			p := q.(framework.Peeker)
			for _, u := range []string{a, b, c} {
				_ = q.Push(req(u))
			}
			for range 3 {
				if r, _ := p.Peek(); r.URL != tc.pushPop1[0] {
					t.Fatal(r)
				}
			}
		})
		t.Run(tc.name+"/batch", func(t *testing.T) {
			q := tc.new()
			bq := q.(framework.Batcher)
			_ = bq.PushBatch([]*framework.Request{req(a), req(b), req(c)})
			rs, _ := bq.PopBatch(5)
			var got []string
			for _, r := range rs {
				got = append(got, r.URL)
			}
			eq(t, got, tc.pushPop1[:3])
		})
	}
}

// TestFifoMemoryQueueGrowShrink crosses the ring buffer's resize points.
func TestFifoMemoryQueueGrowShrink(t *testing.T) {
	q := NewFifoMemoryQueue()
	pushed, popped := 0, 0
	for round := 0; round < 5; round++ {
		for i := 0; i < 1000; i++ {
			_ = q.Push(req(fmt.Sprintf("http://x/%d", pushed)))
			pushed++
		}
		for i := 0; i < 900; i++ {
			r, _ := q.Pop()
			if want := fmt.Sprintf("http://x/%d", popped); r == nil || r.URL != want {
				t.Fatalf("pop %d: got %v, want %s", popped, r, want)
			}
			popped++
		}
	}
	for q.Len() > 0 {
		r, _ := q.Pop()
		if want := fmt.Sprintf("http://x/%d", popped); r.URL != want {
			t.Fatalf("got %s, want %s", r.URL, want)
		}
		popped++
	}
	if popped != pushed {
		t.Fatalf("popped %d of %d", popped, pushed)
	}
}
