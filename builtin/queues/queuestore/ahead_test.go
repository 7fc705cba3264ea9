package queuestore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
)

// twoProcs makes decoding ahead possible for the test: it is off with one
// processor.
func twoProcs(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		old := runtime.GOMAXPROCS(2)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

// decodeAheadNow hands the batch being filled to the decoder and waits
// (a few seconds at most) until the records handed off are decoded, so that
// the takes that follow find them so.
func decodeAheadNow(s *Store) {
	s.mu.Lock()
	d := &s.dec
	if len(d.batch) > 0 {
		d.work <- d.batch // the decoder takes no lock
		d.batch = nil
	}
	var as []*ahead
	for _, b := range s.buckets {
		if b.ahead != nil {
			as = append(as, b.ahead)
		}
	}
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for _, a := range as {
		for a.state.Load() < aheadDone && time.Now().Before(deadline) {
			runtime.Gosched()
		}
	}
}

func testSpider(callbacks ...string) *framework.Spider {
	sp := framework.NewSpider("ahead")
	for _, c := range callbacks {
		sp.HandleCallback(c, func(context.Context, *framework.Response, framework.Output) error { return nil })
	}
	return sp
}

// Records decoded ahead of their pops come out as the pops would have read
// them: the same requests, in order, with their delivery IDs in the log,
// whatever happens between a pop and the next one of its bucket (pushes,
// peeks, flushes, compaction, a reopen), and never more held than the
// bound. The test fails if no pop used a record decoded ahead.
func TestStoreDecodeAhead(t *testing.T) {
	twoProcs(t)
	for seed := range uint64(4) {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 29))
			cfg := storeTestConfig(int64(4096 + rng.IntN(16384)))
			cfg.Spider = testSpider("parse")
			dir := t.TempDir()
			maxAhead := aheadMax
			if seed%2 == 1 {
				maxAhead = 1 + rng.IntN(8) // fewer than the buckets
			}
			open := func() *Store {
				s := openTestStore(t, dir, cfg)
				s.compactQuiet = 0
				s.dec.max = maxAhead
				return s
			}
			s := open()
			const buckets = 24
			keys := make([]string, buckets)
			qs := make([]*Queue, buckets)
			model := make([][]string, buckets)
			lifo := func(i int) bool { return i%3 == 0 }
			openQueues := func() {
				for i := range keys {
					keys[i] = fmt.Sprintf("b%02d", i)
					qs[i] = bucketOf(t, s, keys[i], lifo(i))
				}
			}
			openQueues()
			known := map[string]uint64{} // delivery IDs of records in the log
			learn := func() {
				t.Helper()
				for _, k := range keys {
					ids, _ := writtenDeliveries(t, s, k)
					for u, id := range ids {
						known[u] = id
					}
				}
			}
			head := func(i int) string {
				if lifo(i) {
					return model[i][len(model[i])-1]
				}
				return model[i][0]
			}
			check := func(op, i int, r *framework.Request, what string) {
				t.Helper()
				want := head(i)
				if r == nil || r.URL != want || r.Callback != "parse" {
					t.Fatalf("op %d: %s of %s: %v, want %s", op, what, keys[i], r, want)
				}
				if id, ok := known[want]; ok && r.Delivery != id {
					t.Fatalf("op %d: %s of %s: delivery %d, the log says %d", op, what, want, r.Delivery, id)
				}
			}
			next, turn, taken := 0, 0, 0
			for op := range 2500 {
				switch x := rng.IntN(100); {
				case x < 22:
					i := rng.IntN(buckets)
					for range 1 + rng.IntN(12) {
						u := fmt.Sprintf("http://x/%d", next)
						next++
						r := framework.MustRequest(u)
						r.Callback = "parse"
						if err := qs[i].Push(r); err != nil {
							t.Fatal(err)
						}
						model[i] = append(model[i], u)
					}
				case x < 78:
					// The buckets in turn, as a priority queue's slots.
					i := turn % buckets
					turn++
					r, err := qs[i].Pop()
					if err != nil {
						t.Fatal(err)
					}
					if len(model[i]) == 0 {
						if r != nil {
							t.Fatalf("op %d: pop of empty %s: %s", op, keys[i], r.URL)
						}
						continue
					}
					check(op, i, r, "pop")
					if lifo(i) {
						model[i] = model[i][:len(model[i])-1]
					} else {
						model[i] = model[i][1:]
					}
				case x < 82:
					i := rng.IntN(buckets)
					r, err := qs[i].Peek()
					if err != nil {
						t.Fatal(err)
					}
					if len(model[i]) > 0 {
						check(op, i, r, "peek")
					}
				case x < 90:
					mustFlush(t, s)
					learn()
				case x < 99:
					decodeAheadNow(s)
				default:
					taken += s.dec.taken
					mustCloseStore(t, s)
					s = open()
					openQueues()
					learn()
				}
				s.mu.Lock()
				live := s.dec.live
				s.mu.Unlock()
				if live > maxAhead {
					t.Fatalf("op %d: %d records decoded ahead, the bound is %d", op, live, maxAhead)
				}
			}
			if taken += s.dec.taken; taken == 0 {
				t.Fatal("no pop used a record decoded ahead")
			}
			t.Logf("%d pops used a record decoded ahead", taken)
		})
	}
}

// A record decoded ahead that does not decode (its callback is gone from
// the spider) is reported and skipped by its pop, as one read by the pop is.
func TestStoreDecodeAheadUndecodable(t *testing.T) {
	twoProcs(t)
	for _, lifo := range []bool{false, true} {
		t.Run(kindName(lifo), func(t *testing.T) {
			dir := t.TempDir()
			cfg := storeTestConfig(0)
			cfg.Spider = testSpider("parse", "gone")
			s := openTestStore(t, dir, cfg)
			q := bucketOf(t, s, "q", lifo)
			urls := []string{"http://x/1", "http://x/2", "http://x/3"}
			if lifo {
				urls[0], urls[2] = urls[2], urls[0]
			}
			for i, u := range urls {
				r := framework.MustRequest(u)
				r.Callback = "parse"
				if i == 1 {
					r.Callback = "gone"
				}
				if err := q.Push(r); err != nil {
					t.Fatal(err)
				}
			}
			mustCloseStore(t, s)

			cfg.Spider = testSpider("parse")
			s = openTestStore(t, dir, cfg)
			var reports []string
			s.onReport = func(file string, off, bytes int64, records int, what string) {
				reports = append(reports, fmt.Sprintf("%d %s", records, what))
			}
			q = bucketOf(t, s, "q", lifo)
			if r, err := q.Pop(); err != nil || r == nil || r.URL != "http://x/1" {
				t.Fatalf("first pop: %v, %v", r, err)
			}
			decodeAheadNow(s)
			if a := s.buckets[q.b.id].ahead; a == nil || a.state.Load() != aheadDone || a.r != nil {
				t.Fatalf("the second record was not decoded ahead and found bad: %+v", a)
			}
			_, err := q.Pop()
			var bad *disk.CorruptRecordError
			if !errors.As(err, &bad) || !errors.Is(err, framework.ErrUnknownCallback) {
				t.Fatalf("second pop: %v, want the corrupt record error of an unknown callback", err)
			}
			if len(reports) != 1 || reports[0] != "1 undecodable record skipped" {
				t.Fatalf("reports %q", reports)
			}
			if r, err := q.Pop(); err != nil || r == nil || r.URL != "http://x/3" {
				t.Fatalf("third pop: %v, %v", r, err)
			}
			if q.Len() != 0 {
				t.Fatalf("len %d after three pops", q.Len())
			}
		})
	}
}

// Close ends the decoder's goroutine.
func TestStoreDecodeAheadStopsAtClose(t *testing.T) {
	twoProcs(t)
	s := openTestStore(t, t.TempDir(), storeTestConfig(0))
	var qs []*Queue
	for i := range 3 {
		q := bucketOf(t, s, fmt.Sprintf("q%d", i), i == 0)
		for j := range 4 {
			if err := q.Push(framework.MustRequest(fmt.Sprintf("http://x/%d/%d", i, j))); err != nil {
				t.Fatal(err)
			}
		}
		qs = append(qs, q)
	}
	mustFlush(t, s)
	for _, q := range qs {
		if _, err := q.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	exit := s.dec.exit
	if exit == nil {
		t.Fatal("no decoder started")
	}
	mustCloseStore(t, s)
	select {
	case <-exit:
	case <-time.After(5 * time.Second):
		t.Fatal("the decoder runs on after Close")
	}
}
