package queues

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// slotView is the engine's active-download view, counted by the test.
type slotView map[string]int

func (v slotView) Active(slot string) int { return v[slot] }

func newDAPQ(t *testing.T, view framework.SlotActivity) *DownloaderAwarePriorityQueue {
	t.Helper()
	c := testCrawler(t)
	c.Downloader = view
	q, err := NewDownloaderAwarePriorityQueue(context.Background(), c, framework.PriorityQueueConfig{Downstream: FifoMemoryFactory, Key: ""})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func slotReq(slot, url string) *framework.Request {
	r := req(url)
	r.Meta = map[string]any{framework.MetaDownloadSlot: slot}
	return r
}

// modes runs a test with an engine's view and with the queue's own counting.
func modes(t *testing.T, f func(t *testing.T, view slotView, q *DownloaderAwarePriorityQueue)) {
	t.Run("engine_view", func(t *testing.T) { v := slotView{}; f(t, v, newDAPQ(t, v)) })
	t.Run("standalone", func(t *testing.T) { f(t, nil, newDAPQ(t, nil)) })
}

func popSlots(t *testing.T, q *DownloaderAwarePriorityQueue) []string {
	t.Helper()
	var out []string
	for {
		r, err := q.Pop()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			return out
		}
		out = append(out, r.Slot())
	}
}

func TestDAPQPushPop(t *testing.T) {
	modes(t, func(t *testing.T, _ slotView, q *DownloaderAwarePriorityQueue) {
		for i, u := range []string{"https://example.com/1", "https://example.com/2", "https://example.com/3"} {
			_ = q.Push(req(u))
			if q.Len() != i+1 {
				t.Fatal(q.Len())
			}
		}
		for _, u := range []string{"https://example.com/1", "https://example.com/2", "https://example.com/3"} {
			r, _ := q.Pop()
			if r.URL != u {
				t.Fatalf("got %s, want %s", r.URL, u)
			}
		}
		if r, _ := q.Pop(); r != nil || q.Len() != 0 {
			t.Fatal(r)
		}
	})
}

func TestDAPQPeek(t *testing.T) {
	modes(t, func(t *testing.T, _ slotView, q *DownloaderAwarePriorityQueue) {
		for _, s := range []string{"a", "b", "c"} {
			_ = q.Push(slotReq(s, "https://example.com/"+s))
		}
		for range 3 {
			p, _ := q.Peek()
			r, _ := q.Pop()
			if p != r {
				t.Fatalf("peek %v != pop %v", p, r)
			}
		}
		if p, _ := q.Peek(); p != nil {
			t.Fatal(p)
		}
	})
}

func TestDAPQTieBreakingRotatesSlots(t *testing.T) {
	modes(t, func(t *testing.T, _ slotView, q *DownloaderAwarePriorityQueue) {
		for _, s := range []string{"a", "b", "a", "b"} {
			_ = q.Push(slotReq(s, "https://example.com/"+s))
		}
		if got := popSlots(t, q); !slices.Equal(got, []string{"a", "b", "a", "b"}) {
			t.Fatal(got)
		}
	})
}

func TestDAPQTieBreakingKeepsRotationAfterSelectedSlotIsDeleted(t *testing.T) {
	modes(t, func(t *testing.T, _ slotView, q *DownloaderAwarePriorityQueue) {
		for _, s := range []string{"a", "a", "b", "c"} {
			_ = q.Push(slotReq(s, "https://example.com/"+s))
		}
		if got := popSlots(t, q); !slices.Equal(got, []string{"a", "b", "c", "a"}) {
			t.Fatal(got)
		}
	})
}

func TestDAPQPopPrefersSlotWithFewerActiveDownloads(t *testing.T) {
	v := slotView{"a": 1, "c": 1}
	q := newDAPQ(t, v)
	for _, s := range []string{"a", "b", "c"} {
		_ = q.Push(slotReq(s, "https://example.com/"+s))
	}
	if r, _ := q.Pop(); r.Slot() != "b" {
		t.Fatal(r.Slot())
	}
}

func TestDAPQContains(t *testing.T) {
	q := newDAPQ(t, nil)
	if q.Contains("example-slot") {
		t.Fatal("empty queue contains a slot")
	}
	_ = q.Push(slotReq("example-slot", "https://example.com/"))
	if !q.Contains("example-slot") || q.Contains("other-slot") {
		t.Fatal(q.Slots())
	}
}

// isFair reports whether every window of `slots` pops holds distinct slots
// (Scrapy's _is_scheduling_fair).
func isFair(order []string, slots int) bool {
	for i := 0; i+slots <= len(order); i += slots {
		w := slices.Clone(order[i : i+slots])
		slices.Sort(w)
		if len(slices.Compact(w)) != slots {
			return false
		}
	}
	return true
}

func TestIsFair(t *testing.T) {
	if !isFair(strings.Split("a,c,b,b,a,c", ","), 3) || isFair(strings.Split("a,a,b,c,c,b", ","), 3) {
		t.Fatal("isFair")
	}
}

// Scrapy's DownloaderAwareSchedulerTestMixin.test_logic at the queue level:
// popping while the popped slot's downloads stay active is fair, and
// finishing them leaves no slot active.
func TestDAPQLogic(t *testing.T) {
	modes(t, func(t *testing.T, v slotView, q *DownloaderAwarePriorityQueue) {
		for _, s := range []string{"a", "a", "b", "b", "c", "c"} {
			_ = q.Push(slotReq(s, "https://example.com/"+s))
		}
		var order []string
		var popped []*framework.Request
		for {
			r, _ := q.Pop()
			if r == nil {
				break
			}
			if v != nil {
				v[r.Slot()]++
			}
			order = append(order, r.Slot())
			popped = append(popped, r)
		}
		if !isFair(order, 3) {
			t.Fatalf("unfair order %v", order)
		}
		for _, r := range popped {
			if v != nil {
				v[r.Slot()]--
			}
			if err := q.Ack(r); err != nil {
				t.Fatal(err)
			}
		}
		if q.InFlight() != 0 || len(q.counts) != 0 {
			t.Fatalf("in flight %d, active %v", q.InFlight(), q.counts)
		}
	})
}

func TestDAPQRefusesPerIP(t *testing.T) {
	c := testCrawler(t)
	c.Settings.Set("CONCURRENT_REQUESTS_PER_IP", 1, framework.Source{Kind: framework.SourceCode})
	_, err := NewDownloaderAwarePriorityQueue(context.Background(), c, framework.PriorityQueueConfig{Downstream: FifoMemoryFactory})
	if !errors.Is(err, ErrPerIP) || !strings.Contains(err.Error(), "does not support CONCURRENT_REQUESTS_PER_IP") {
		t.Fatal(err)
	}
}

// Scrapy's _path_safe doctests, and its documented examples.
func TestPathSafe(t *testing.T) {
	for in, want := range map[string]string{
		"example.com": "example.com-5ababd603b22780302dd8d83498e5172",
		"":            "-d41d8cd98f00b204e9800998ecf8427e",
		"a b/c?":      "a_b_c_-75373650fef45113b62b6bf744c334e8",
	} {
		if got := PathSafe(in); got != want {
			t.Errorf("PathSafe(%q) = %q, want %q", in, got, want)
		}
	}
	for _, keep := range []string{"simple.org", "dash-underscore_.org"} {
		if !strings.HasPrefix(PathSafe(keep), keep+"-") {
			t.Errorf("PathSafe(%q) = %q", keep, PathSafe(keep))
		}
	}
	if !strings.HasPrefix(PathSafe("some@symbol?"), "some_symbol_-") {
		t.Error(PathSafe("some@symbol?"))
	}
}

// The slot tree agrees with a scan of every slot over many random operations.
func TestDAPQManySlotsAgreesWithScan(t *testing.T) {
	view := slotView{}
	withView, own := newDAPQ(t, view), newDAPQ(t, nil)
	hosts := []string{"h0", "h1", "h2", "h3", "h4", "h5", "h6"}
	for i := 0; i < 500; i++ {
		s := hosts[(i*7+i/3)%len(hosts)]
		_ = withView.Push(slotReq(s, "https://example.com/"+s))
		_ = own.Push(slotReq(s, "https://example.com/"+s))
	}
	var outV, outO []*framework.Request
	for step := 0; ; step++ {
		a, _ := withView.Pop()
		b, _ := own.Pop()
		if (a == nil) != (b == nil) {
			t.Fatal("lengths differ")
		}
		if a == nil {
			break
		}
		if a.Slot() != b.Slot() {
			t.Fatalf("step %d: view picked %s, tree picked %s", step, a.Slot(), b.Slot())
		}
		view[a.Slot()]++
		outV, outO = append(outV, a), append(outO, b)
		if step%3 == 2 { // finish the oldest download
			view[outV[0].Slot()]--
			_ = own.Ack(outO[0])
			outV, outO = outV[1:], outO[1:]
		}
	}
}
