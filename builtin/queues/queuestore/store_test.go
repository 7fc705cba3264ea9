package queuestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/queuetest"
	"github.com/frontier-go/frontier/internal/recordio"
)

// storeTestConfig returns a store config that never fsyncs (the tests cut
// no power) and never flushes on its own by time, so that what reaches the
// files is what the test flushed; seg sizes the segments (0: the default).
func storeTestConfig(seg int64) disk.Config {
	return disk.Config{Fsync: recordio.FsyncPolicy{Mode: recordio.FsyncNever}, FlushInterval: time.Hour, SegmentBytes: seg}
}

func openTestStore(t testing.TB, dir string, cfg disk.Config) *Store {
	t.Helper()
	s, err := Open(dir, cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// bucketOf returns the bucket of s named name (a key relative to its directory).
func bucketOf(t testing.TB, s *Store, name string, lifo bool) *Queue {
	t.Helper()
	q, err := s.Queue(filepath.Join(s.Dir(), filepath.FromSlash(name)), lifo)
	if err != nil {
		t.Fatalf("bucket %s: %v", name, err)
	}
	return q
}

func mustFlush(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

func mustCloseStore(t testing.TB, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
}

// popAll pops until the queue is empty, failing on any error.
func popAll(t testing.TB, q framework.Queue) []*framework.Request {
	t.Helper()
	var out []*framework.Request
	for {
		r, err := q.Pop()
		if err != nil {
			t.Fatalf("pop: %v", err)
		}
		if r == nil {
			return out
		}
		out = append(out, r)
	}
}

// crashCopy copies the files of the store in src to a new directory, as a
// crash would leave them: what the store wrote so far, nothing Close would.
func crashCopy(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// segFiles returns the names of the segment files in dir, in order.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "queue.*.log"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	slices.Sort(m)
	return m
}

// dirNames returns the names of the entries of dir, in order.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// writtenDeliveries returns the delivery ID of each record of bucket rel
// that is in the log, by URL, and the URLs of all its records in pop order.
func writtenDeliveries(t testing.TB, s *Store, rel string) (map[string]uint64, []string) {
	t.Helper()
	ids := map[string]uint64{}
	var order []string
	err := s.Records(rel, func(delivery uint64, rec []byte) error {
		r, err := framework.DecodeRequest(rec, nil)
		if err != nil {
			return err
		}
		order = append(order, r.URL)
		if delivery != 0 {
			ids[r.URL] = delivery
		}
		return nil
	})
	if err != nil {
		t.Fatalf("records of %s: %v", rel, err)
	}
	return ids, order
}

// storeOwnedQueue is a bucket that owns its store: closing it closes the
// store, so that the conformance suite's reopen opens the store afresh.
type storeOwnedQueue struct {
	*Queue
	s *Store
}

func (q storeOwnedQueue) Close() error { return errors.Join(q.Queue.Close(), q.s.Close()) }

// The conformance suite, against a bucket of a store reopened with its
// store: with flushes left to the suite, and with automatic flushes at
// every few pushes into segments of 1 KiB.
func TestStoreQueueConformance(t *testing.T) {
	small := storeTestConfig(1 << 10)
	small.FlushBytes = 8 // an automatic flush inside Push past 512 bytes
	for _, c := range []struct {
		name string
		cfg  disk.Config
	}{{"default", storeTestConfig(0)}, {"small", small}} {
		open := func(lifo bool) queuetest.New {
			return func(t *testing.T, key string) framework.Queue {
				s, err := Open(filepath.Dir(key), c.cfg)
				if err != nil {
					t.Fatal(err)
				}
				q, err := s.Queue(key, lifo)
				if err != nil {
					_ = s.Close()
					t.Fatal(err)
				}
				return storeOwnedQueue{q, s}
			}
		}
		t.Run(c.name+"/FIFO", func(t *testing.T) {
			queuetest.Run(t, open(false), queuetest.FIFO, queuetest.Persistent, queuetest.Many(1000), queuetest.Ops(1500))
		})
		t.Run(c.name+"/LIFO", func(t *testing.T) {
			queuetest.Run(t, open(true), queuetest.LIFO, queuetest.Persistent, queuetest.Many(1000), queuetest.Ops(1500))
		})
	}
}

// The order across chunks and the write buffer, spelled out: records in
// two flushed chunks and still buffered, pops and pushes interleaved, Peek
// and Len at every step, then a close and a reopen.
func TestStoreQueueOrderAcrossFlushes(t *testing.T) {
	u := func(i int) string { return fmt.Sprintf("http://x/%d", i) }
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestStore(t, dir, storeTestConfig(0))
			q := bucketOf(t, s, "q", k.LIFO)
			var model []string // in push order
			push := func(from, to int) {
				t.Helper()
				for i := from; i < to; i++ {
					disktest.MustPush(t, q, u(i))
					model = append(model, u(i))
				}
			}
			pop := func(n int) {
				t.Helper()
				for range n {
					want := model[0]
					if k.LIFO {
						want = model[len(model)-1]
					}
					p, err := q.Peek()
					if err != nil || p == nil || p.URL != want {
						t.Fatalf("peek: %v, %v; want %s", p, err, want)
					}
					r, err := q.Pop()
					if err != nil || r == nil || r.URL != want {
						t.Fatalf("pop: %v, %v; want %s", r, err, want)
					}
					if r.Delivery != p.Delivery || r.Delivery == 0 {
						t.Fatalf("pop of %s: delivery %d, peek gave %d", want, r.Delivery, p.Delivery)
					}
					if k.LIFO {
						model = model[:len(model)-1]
					} else {
						model = model[1:]
					}
					if q.Len() != len(model) {
						t.Fatalf("len %d, want %d", q.Len(), len(model))
					}
				}
			}
			push(0, 4)
			mustFlush(t, s)
			push(4, 7)
			mustFlush(t, s)
			push(7, 9) // buffered
			if q.Len() != 9 {
				t.Fatalf("len %d, want 9", q.Len())
			}
			pop(2)
			push(9, 11)
			pop(3)
			mustFlush(t, s)
			push(11, 12)
			pop(1)
			push(12, 15)
			mustFlush(t, s)
			pop(2)
			_, got := writtenDeliveries(t, s, "q")
			disktest.SameList(t, got, disktest.Order(k.LIFO, model...))
			mustCloseStore(t, s)
			s = openTestStore(t, dir, storeTestConfig(0))
			q = bucketOf(t, s, "q", k.LIFO)
			if q.Len() != len(model) {
				t.Fatalf("len %d after reopen, want %d", q.Len(), len(model))
			}
			pop(len(model))
			if r, err := q.Pop(); r != nil || err != nil {
				t.Fatalf("pop of an empty bucket: %v, %v", r, err)
			}
		})
	}
}

// A random mix of pushes, batches, pops, peeks, flushes and reopens checked
// against a model: the order, Len, Records, and the delivery IDs of records
// written to the log, which must survive flushes and reopens unchanged.
// Delivery IDs are never given twice.
func TestStoreQueueModel(t *testing.T) {
	for _, k := range disktest.Kinds() {
		for seed := range uint64(2) {
			t.Run(fmt.Sprintf("%s/seed%d", k.Name, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 11))
				cfg := storeTestConfig(int64(512 + rng.IntN(2048)))
				dir := t.TempDir()
				s := openTestStore(t, dir, cfg)
				other := bucketOf(t, s, "other", !k.LIFO) // a neighbour sharing the segments
				q := bucketOf(t, s, "a/q", k.LIFO)
				var model []string
				known := map[string]uint64{} // delivery IDs of records in the log
				seen := map[uint64]string{}
				next := 0
				learn := func() {
					t.Helper()
					ids, got := writtenDeliveries(t, s, "a/q")
					disktest.SameList(t, got, disktest.Order(k.LIFO, model...))
					for u, id := range ids {
						if was, ok := known[u]; ok && was != id {
							t.Fatalf("%s: delivery %d in the log, was %d", u, id, was)
						}
						known[u] = id
					}
				}
				for op := range 500 {
					switch x := rng.IntN(100); {
					case x < 35:
						n := 1 + rng.IntN(4)
						var rs []*framework.Request
						for range n {
							u := fmt.Sprintf("http://x/%d", next)
							next++
							model = append(model, u)
							rs = append(rs, disktest.Req(t, u))
						}
						if x < 25 {
							for _, r := range rs {
								if err := q.Push(r); err != nil {
									t.Fatal(err)
								}
							}
						} else if err := q.PushBatch(rs); err != nil {
							t.Fatal(err)
						}
						disktest.MustPush(t, other, fmt.Sprintf("http://other/%d", op))
					case x < 70:
						r, err := q.Pop()
						if err != nil {
							t.Fatal(err)
						}
						if len(model) == 0 {
							if r != nil {
								t.Fatalf("pop of an empty bucket: %s", r.URL)
							}
							continue
						}
						want := model[0]
						if k.LIFO {
							want, model = model[len(model)-1], model[:len(model)-1]
						} else {
							model = model[1:]
						}
						if r == nil || r.URL != want {
							t.Fatalf("op %d: pop %v, want %s", op, r, want)
						}
						if id, ok := known[want]; ok && r.Delivery != id {
							t.Fatalf("op %d: %s popped with delivery %d, the log says %d", op, want, r.Delivery, id)
						}
						if u, dup := seen[r.Delivery]; dup || r.Delivery == 0 {
							t.Fatalf("op %d: delivery %d of %s was given to %s", op, r.Delivery, want, u)
						}
						seen[r.Delivery] = want
					case x < 78:
						if _, err := other.Pop(); err != nil {
							t.Fatal(err)
						}
					case x < 85:
						if _, err := q.Peek(); err != nil {
							t.Fatal(err)
						}
					case x < 96:
						mustFlush(t, s)
						learn()
					default:
						mustCloseStore(t, s)
						s = openTestStore(t, dir, cfg)
						q = bucketOf(t, s, "a/q", k.LIFO)
						other = bucketOf(t, s, "other", !k.LIFO)
						learn()
					}
					if q.Len() != len(model) {
						t.Fatalf("op %d: len %d, want %d", op, q.Len(), len(model))
					}
				}
			})
		}
	}
}

// Peek returns what Pop returns: the same request, with the same Delivery,
// whether it comes from a chunk or the write buffer; a record in a chunk
// keeps its Delivery across a push that does not change the head.
func TestStoreQueuePeekIsPop(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			s := openTestStore(t, t.TempDir(), storeTestConfig(0))
			q := bucketOf(t, s, "q", k.LIFO)
			disktest.MustPush(t, q, "http://x/1", "http://x/2")
			mustFlush(t, s)
			disktest.MustPush(t, q, "http://x/3", "http://x/4")
			for range 4 {
				p, err := q.Peek()
				if err != nil || p == nil {
					t.Fatalf("peek: %v, %v", p, err)
				}
				p2, _ := q.Peek()
				r, err := q.Pop()
				if err != nil || r != p || p2 != p || r.Delivery == 0 {
					t.Fatalf("peek %v and %v, pop %v (%v)", p, p2, r, err)
				}
			}
			if p, err := q.Peek(); p != nil || err != nil {
				t.Fatalf("peek of an empty bucket: %v, %v", p, err)
			}
			// The head in a chunk: a push behind it (FIFO) or a pop of the
			// pushed record (LIFO) leaves its Delivery alone.
			disktest.MustPush(t, q, "http://x/5")
			mustFlush(t, s)
			p, _ := q.Peek()
			disktest.MustPush(t, q, "http://x/6")
			if k.LIFO {
				disktest.PopURLs(t, q, 1)
			}
			r, err := q.Pop()
			if err != nil || r == nil || r.URL != "http://x/5" || r.Delivery != p.Delivery {
				t.Fatalf("pop %v (%v) after peek %v, delivery %d", r, err, p, p.Delivery)
			}
		})
	}
}

// After Close and a reopen, the same records in the same order, each with
// the Delivery it had in the log; records buffered at Close are written by
// it.
func TestStoreQueueReopen(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestStore(t, dir, storeTestConfig(0))
			q := bucketOf(t, s, "q", k.LIFO)
			disktest.MustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
			mustFlush(t, s)
			disktest.MustPush(t, q, "http://x/4", "http://x/5")
			mustFlush(t, s)
			disktest.PopURLs(t, q, 1)
			disktest.MustPush(t, q, "http://x/6") // buffered at Close
			ids, _ := writtenDeliveries(t, s, "q")
			if len(ids) != 4 {
				t.Fatalf("%d records in the log, want 4", len(ids))
			}
			mustCloseStore(t, s)
			if err := q.Push(disktest.Req(t, "http://x/7")); !errors.Is(err, framework.ErrClosed) {
				t.Fatalf("push into a closed store: %v", err)
			}
			left := []string{"http://x/2", "http://x/3", "http://x/4", "http://x/5", "http://x/6"}
			if k.LIFO {
				left = []string{"http://x/1", "http://x/2", "http://x/3", "http://x/4", "http://x/6"}
			}
			want := disktest.Order(k.LIFO, left...)
			for round := range 2 {
				s = openTestStore(t, dir, storeTestConfig(0))
				if got := s.Buckets(); len(got) != 1 || got[0].Key != "q" || got[0].LIFO != k.LIFO || got[0].Len != 5 {
					t.Fatalf("round %d: buckets %+v", round, got)
				}
				q = bucketOf(t, s, "q", k.LIFO)
				if round == 1 {
					got := popAll(t, q)
					disktest.SameList(t, disktest.URLsOf(got), want)
					for _, r := range got {
						if id, ok := ids[r.URL]; ok && r.Delivery != id {
							t.Fatalf("%s: delivery %d after reopen, was %d", r.URL, r.Delivery, id)
						}
					}
				}
				mustCloseStore(t, s)
			}
			s = openTestStore(t, dir, storeTestConfig(0))
			if q := bucketOf(t, s, "q", k.LIFO); q.Len() != 0 {
				t.Fatalf("len %d after popping everything and a close", q.Len())
			}
		})
	}
}

// A crash (the files copied while the store is open): pops flushed stay
// popped; pops not flushed come back with the same Delivery; pushes not
// flushed are lost; everything flushed and not popped is there, in order.
func TestStoreQueueCrash(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestStore(t, dir, storeTestConfig(0))
			q := bucketOf(t, s, "q", k.LIFO)
			all := []string{"http://x/1", "http://x/2", "http://x/3", "http://x/4", "http://x/5", "http://x/6"}
			disktest.MustPush(t, q, all...)
			mustFlush(t, s)
			ids, _ := writtenDeliveries(t, s, "q")
			disktest.PopURLs(t, q, 2)
			mustFlush(t, s)
			var undurable []*framework.Request
			for range 2 {
				r, _ := q.Pop()
				if r.Delivery != ids[r.URL] {
					t.Fatalf("%s popped with delivery %d, the log says %d", r.URL, r.Delivery, ids[r.URL])
				}
				undurable = append(undurable, r)
			}
			disktest.MustPush(t, q, "http://x/7", "http://x/8") // never flushed
			crashed := crashCopy(t, dir)

			s2 := openTestStore(t, crashed, storeTestConfig(0))
			q2 := bucketOf(t, s2, "q", k.LIFO)
			got := popAll(t, q2)
			want := disktest.Order(k.LIFO, all...)[2:]
			disktest.SameList(t, disktest.URLsOf(got), want)
			for i, r := range got {
				if r.Delivery != ids[r.URL] {
					t.Fatalf("%s: delivery %d after the crash, was %d", r.URL, r.Delivery, ids[r.URL])
				}
				if i < 2 && (r.URL != undurable[i].URL || r.Delivery != undurable[i].Delivery) {
					t.Fatalf("undurable pop %d came back as %s/%d, was %s/%d", i, r.URL, r.Delivery, undurable[i].URL, undurable[i].Delivery)
				}
			}

			// The store that did not crash goes on: its pops are made
			// durable by Close.
			left := []string{"http://x/5", "http://x/6", "http://x/7", "http://x/8"}
			if k.LIFO {
				left = []string{"http://x/1", "http://x/2", "http://x/7", "http://x/8"}
			}
			disktest.SameList(t, disktest.URLsOf(popAll(t, q)), disktest.Order(k.LIFO, left...))
			mustCloseStore(t, s)
			s = openTestStore(t, dir, storeTestConfig(0))
			if n := bucketOf(t, s, "q", k.LIFO).Len(); n != 0 {
				t.Fatalf("%d records after a close with everything popped", n)
			}
		})
	}
}

// An automatic flush inside Push (past 64 × FlushBytes buffered) writes the
// buffered pushes, as Flush does, before the push that triggers it; a pop
// made before it is durable or comes back with its Delivery.
func TestStoreQueueAutomaticFlush(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := storeTestConfig(0)
			cfg.FlushBytes = 16 // past 1 KiB buffered, the next push flushes
			s := openTestStore(t, dir, cfg)
			q := bucketOf(t, s, "q", k.LIFO)
			big := func(u string) *framework.Request {
				r := disktest.Req(t, u)
				r.Body = make([]byte, 2000)
				return r
			}
			crashed := func() []*framework.Request {
				return popAll(t, bucketOf(t, openTestStore(t, crashCopy(t, dir), cfg), "q", k.LIFO))
			}
			for _, u := range []string{"http://x/1", "http://x/2"} {
				if err := q.Push(big(u)); err != nil {
					t.Fatal(err)
				}
			}
			if got := disktest.URLsOf(crashed()); !slices.Equal(got, []string{"http://x/1"}) {
				t.Fatalf("after the second push: %v on disk, want x/1 written by the automatic flush", got)
			}
			mustFlush(t, s)
			popped, _ := q.Pop()
			if err := q.Push(big("http://x/3")); err != nil { // 2 KiB buffered, nothing written
				t.Fatal(err)
			}
			if got := crashed(); len(got) != 2 {
				t.Fatalf("before the automatic flush: %v, want the 2 flushed", disktest.URLsOf(got))
			}
			if err := q.Push(big("http://x/4")); err != nil { // flushes x/3
				t.Fatal(err)
			}
			want := []string{"http://x/1", "http://x/2", "http://x/3"}
			got := crashed()
			if !slices.ContainsFunc(got, func(r *framework.Request) bool { return r.URL == popped.URL }) {
				want = slices.DeleteFunc(want, func(u string) bool { return u == popped.URL })
			}
			disktest.SameList(t, disktest.URLsOf(got), disktest.Order(k.LIFO, want...))
			for _, r := range got {
				if r.URL == popped.URL && r.Delivery != popped.Delivery {
					t.Fatalf("%s came back with delivery %d, was %d", r.URL, r.Delivery, popped.Delivery)
				}
			}
		})
	}
}

// Forty crash points (ten with -short) over three buckets of both kinds
// sharing small segments, with automatic flushes, checkpoints, reopens, and
// buckets closed when empty and made again under their key: after each,
// the crash invariants hold for every bucket (disktest.CrashModel).
func TestStoreCrashPoints(t *testing.T) {
	runs := 40
	if testing.Short() {
		runs = 10
	}
	root := t.TempDir()
	for run := range runs {
		rng := rand.New(rand.NewPCG(uint64(run), 5))
		cfg := storeTestConfig(int64(300 + rng.IntN(1500)))
		cfg.FlushBytes = 1 + rng.IntN(16)
		dir := filepath.Join(root, fmt.Sprint(run))
		s := openTestStore(t, dir, cfg)
		names := []string{"a", "b/c", "d"}
		qs := make([]*Queue, len(names))
		models := make([]*disktest.CrashModel, len(names))
		for i, name := range names {
			qs[i] = bucketOf(t, s, name, i == 1)
			models[i] = disktest.NewCrashModel(i == 1)
		}
		for op := range 1 + rng.IntN(150) {
			i := rng.IntN(len(qs))
			q, m := qs[i], models[i]
			switch x := rng.IntN(100); {
			case x < 85:
				disktest.RandomQueueOp(t, rng, x, q, m, fmt.Sprintf("%d/%d", i, op))
			case x < 88:
				if q.Len() == 0 { // leaves the store; the same key makes a new bucket
					disktest.MustClose(t, q)
					qs[i] = bucketOf(t, s, names[i], i == 1)
				}
			case x < 90:
				mustCloseStore(t, s)
				for _, m := range models {
					m.Flushed()
				}
				s = openTestStore(t, dir, cfg)
				for i, name := range names {
					qs[i] = bucketOf(t, s, name, i == 1)
				}
			default:
				mustFlush(t, s)
				for _, m := range models {
					m.Flushed()
				}
			}
		}
		crashed := crashCopy(t, dir)
		s2, err := Open(crashed, cfg)
		if err != nil {
			t.Fatalf("run %d: reopen after the crash: %v", run, err)
		}
		for i, name := range names {
			models[i].Check(t, popAll(t, bucketOf(t, s2, name, i == 1)))
		}
		mustCloseStore(t, s2)
		mustCloseStore(t, s)
	}
}

// Five hundred buckets of both kinds in 4 KiB segments: everything comes
// back in order after a reopen; the segments whose chunks were all popped
// are deleted by the checkpoint Close writes; once everything is popped,
// Close leaves the checkpoint alone in the directory.
func TestStoreManyBuckets(t *testing.T) {
	const n, per = 500, 3
	dir := t.TempDir()
	cfg := storeTestConfig(4 << 10)
	name := func(i int) string { return fmt.Sprintf("slot%d/%d", i%25, i) }
	url := func(i, j int) string { return fmt.Sprintf("http://b%d.example/%d", i, j) }
	lifo := func(i int) bool { return i%3 == 0 }
	// No compaction: on a run slower than the store's quiet period, it
	// would take sparse segments away while the test counts them.
	open := func() *Store {
		s := openTestStore(t, dir, cfg)
		s.compactQuiet = time.Hour
		return s
	}
	s := open()
	fill := func(from, to int) {
		for i := from; i < to; i++ {
			q := bucketOf(t, s, name(i), lifo(i))
			for j := range per {
				disktest.MustPush(t, q, url(i, j))
			}
			if i%25 == 24 {
				mustFlush(t, s)
			}
		}
		mustFlush(t, s)
	}
	fill(0, n/2)
	early := segFiles(t, dir)
	fill(n/2, n)
	all := segFiles(t, dir)
	if len(early) < 4 || len(all) <= len(early) || s.Segments() != len(all) {
		t.Fatalf("segments: %d after the first half, %d in all (the store says %d)", len(early), len(all), s.Segments())
	}
	mustCloseStore(t, s)

	want := func(i int) []string {
		var out []string
		for j := range per {
			out = append(out, url(i, j))
		}
		return disktest.Order(lifo(i), out...)
	}
	s = open()
	infos := s.Buckets()
	if len(infos) != n {
		t.Fatalf("%d buckets after reopen, want %d", len(infos), n)
	}
	for _, info := range infos {
		var i int
		if _, err := fmt.Sscanf(info.Key[strings.IndexByte(info.Key, '/')+1:], "%d", &i); err != nil || info.Key != name(i) {
			t.Fatalf("bucket key %q", info.Key)
		}
		if info.Len != per || info.LIFO != lifo(i) || info.Chunks != 1 {
			t.Fatalf("bucket %+v, want %d records in 1 chunk, LIFO %v", info, per, lifo(i))
		}
	}
	for i := range n / 2 {
		q := bucketOf(t, s, name(i), lifo(i))
		disktest.SameList(t, disktest.URLsOf(popAll(t, q)), want(i))
		disktest.MustClose(t, q) // an empty bucket leaves the store
	}
	mustCloseStore(t, s)
	left := segFiles(t, dir)
	for _, f := range early[:len(early)-1] { // the last may hold later buckets too
		if slices.Contains(left, f) {
			t.Fatalf("%s, holding popped chunks only, is still there after Close (left: %v)", f, left)
		}
	}

	s = open()
	if got := len(s.Buckets()); got != n/2 {
		t.Fatalf("%d buckets after the first half was drained, want %d", got, n/2)
	}
	for i := n / 2; i < n; i++ {
		q := bucketOf(t, s, name(i), lifo(i))
		disktest.SameList(t, disktest.URLsOf(popAll(t, q)), want(i))
		disktest.MustClose(t, q)
	}
	mustCloseStore(t, s)
	if got := dirNames(t, dir); !slices.Equal(got, []string{"queue.index"}) {
		t.Fatalf("after draining everything and Close the directory holds %v, want queue.index alone", got)
	}
	s = open()
	if len(s.Buckets()) != 0 || s.Segments() != 0 {
		t.Fatalf("an emptied store reopens with %d buckets, %d segments", len(s.Buckets()), s.Segments())
	}
	q := bucketOf(t, s, name(0), lifo(0))
	disktest.MustPush(t, q, "http://x/again")
	mustCloseStore(t, s)
	s = open()
	disktest.SameList(t, disktest.URLsOf(popAll(t, bucketOf(t, s, name(0), lifo(0)))), []string{"http://x/again"})
}

// The log as the test reads it: the format storeformat.go documents, read
// without the store's own parser.

// logFrame is one whole frame of a segment.
type logFrame struct {
	off, end int64
	id       uint64 // the frame's ID: a chunk's first delivery ID
	typ      byte
	bucket   uint64
	lifo     bool        // 'B'
	key      string      // 'B'
	no       uint32      // 'C'
	urls     []string    // 'C'
	live     [][2]uint32 // 'L': chunk, live count
}

// readLogFrames returns the whole frames of a segment from its start, and
// where the last of them ends.
func readLogFrames(t testing.TB, data []byte) ([]logFrame, int64) {
	t.Helper()
	var out []logFrame
	pos := 0
	for pos < len(data) {
		fr, k, err := recordio.Next(data[pos:])
		if err != nil {
			break
		}
		p := fr.Payload
		f := logFrame{off: int64(pos), end: int64(pos + k), id: fr.ID, typ: p[0]}
		p = p[1:]
		uv := func() uint64 {
			v, n := binary.Uvarint(p)
			if n <= 0 {
				t.Fatalf("frame at %d: bad uvarint", f.off)
			}
			p = p[n:]
			return v
		}
		switch f.typ {
		case 'H':
		case 'B':
			f.bucket = uv()
			f.lifo = p[0] == 'L'
			f.key = string(p[1:])
		case 'C':
			f.bucket, f.no = uv(), uint32(uv())
			count := int(uv())
			for len(p) > 0 {
				n := uv()
				r, err := framework.DecodeRequest(p[:n], nil)
				if err != nil {
					t.Fatalf("chunk at %d: %v", f.off, err)
				}
				f.urls = append(f.urls, r.URL)
				p = p[n:]
			}
			if len(f.urls) != count {
				t.Fatalf("chunk at %d: %d records, its header says %d", f.off, len(f.urls), count)
			}
		case 'L':
			f.bucket = uv()
			for len(p) > 0 {
				f.live = append(f.live, [2]uint32{uint32(uv()), uint32(uv())})
			}
		case 'X':
			f.bucket = uv()
		default:
			t.Fatalf("frame at %d: type %q", f.off, f.typ)
		}
		out = append(out, f)
		pos += k
	}
	end := int64(0)
	if len(out) > 0 {
		end = out[len(out)-1].end
	}
	return out, end
}

// logModel is what a log says each bucket holds.
type logModel struct {
	buckets map[uint64]*modelBucket
}

type modelBucket struct {
	key    string
	lifo   bool
	chunks []*modelChunk
}

type modelChunk struct {
	no   uint32
	base uint64
	urls []string
	live int
	seg  string
	end  int64
}

func newLogModel() *logModel { return &logModel{buckets: map[uint64]*modelBucket{}} }

func (m *logModel) apply(seg string, f logFrame) {
	b := m.buckets[f.bucket]
	switch f.typ {
	case 'B':
		if b == nil || b.key != f.key {
			m.buckets[f.bucket] = &modelBucket{key: f.key, lifo: f.lifo}
		} // else declared again at a segment's start (format 2)
	case 'C':
		b.chunks = append(b.chunks, &modelChunk{no: f.no, base: f.id, urls: f.urls, live: len(f.urls), seg: seg, end: f.end})
	case 'L':
		for _, l := range f.live {
			for i, c := range b.chunks {
				if c.no == l[0] {
					c.live = int(l[1])
					if c.live == 0 {
						b.chunks = slices.Delete(b.chunks, i, i+1)
					}
					break
				}
			}
		}
	case 'X':
		delete(m.buckets, f.bucket)
	}
}

// want returns what each bucket pops, by key: URLs and deliveries.
func (m *logModel) want() map[string][]string {
	out := map[string][]string{}
	for _, b := range m.buckets {
		var recs []string
		if b.lifo {
			for i := len(b.chunks) - 1; i >= 0; i-- {
				c := b.chunks[i]
				for j := c.live - 1; j >= 0; j-- {
					recs = append(recs, fmt.Sprintf("%s#%d", c.urls[j], c.base+uint64(j)))
				}
			}
		} else {
			for _, c := range b.chunks {
				for j := len(c.urls) - c.live; j < len(c.urls); j++ {
					recs = append(recs, fmt.Sprintf("%s#%d", c.urls[j], c.base+uint64(j)))
				}
			}
		}
		out[b.key] = recs
	}
	return out
}

// storeContents pops every bucket of s and returns what each popped, as
// logModel.want does; s must have been opened for writing.
func storeContents(t testing.TB, s *Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, info := range s.Buckets() {
		q := bucketOf(t, s, info.Key, info.LIFO)
		var recs []string
		for _, r := range popAll(t, q) {
			recs = append(recs, fmt.Sprintf("%s#%d", r.URL, r.Delivery))
		}
		out[info.Key] = recs
	}
	return out
}

// sameContents compares what buckets hold, ignoring buckets that hold nothing.
func sameContents(t testing.TB, got, want map[string][]string) {
	t.Helper()
	nonEmpty := func(m map[string][]string) map[string][]string {
		out := map[string][]string{}
		for k, v := range m {
			if len(v) > 0 {
				out[k] = v
			}
		}
		return out
	}
	if got, want = nonEmpty(got), nonEmpty(want); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("store holds\n%v\nwant\n%v", got, want)
	}
}

// tornSource writes a store of two buckets, one of each kind, with pushes
// and pops over three flushes and no checkpoint after its creation, and
// returns its directory (the store left open: a crash) and its segment.
func tornSource(t *testing.T) (string, string) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	a, b := bucketOf(t, s, "a", false), bucketOf(t, s, "b/c", true)
	disktest.MustPush(t, a, "http://a/1", "http://a/2", "http://a/3")
	disktest.MustPush(t, b, "http://b/1", "http://b/2")
	mustFlush(t, s)
	disktest.PopURLs(t, a, 1)
	disktest.PopURLs(t, b, 1)
	disktest.MustPush(t, a, "http://a/4")
	disktest.MustPush(t, b, "http://b/3", "http://b/4")
	mustFlush(t, s)
	disktest.PopURLs(t, a, 3) // the first chunk emptied
	disktest.PopURLs(t, b, 1)
	disktest.MustPush(t, a, "http://a/5")
	mustFlush(t, s)
	segs := segFiles(t, dir)
	if len(segs) != 1 {
		t.Fatalf("segments %v, want one", segs)
	}
	return dir, segs[0]
}

// The last segment cut at every byte: the store opens without an error,
// with every record whose frames are whole (pops whose live counts are
// whole applied) and each with its delivery ID; the torn rest is reported
// to Read's callback and counted in the stats, and Open cuts it
// off; the store then takes pushes and keeps them.
func TestStoreTornTailEveryByte(t *testing.T) {
	src, seg := tornSource(t)
	data, err := os.ReadFile(filepath.Join(src, seg))
	if err != nil {
		t.Fatal(err)
	}
	frames, end := readLogFrames(t, data)
	if end != int64(len(data)) || len(frames) < 8 {
		t.Fatalf("%d frames ending at %d of %d bytes", len(frames), end, len(data))
	}
	index, err := os.ReadFile(filepath.Join(src, "queue.index"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for cut := 0; cut <= len(data); cut++ {
		m := newLogModel()
		whole := int64(0)
		for _, f := range frames {
			if f.end <= int64(cut) {
				m.apply(seg, f)
				whole = f.end
			}
		}
		torn := int64(cut) - whole
		// The same directory for every cut: the checkpoint and the cut
		// segment, nothing else.
		for _, name := range dirNames(t, dir) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "queue.index"), index, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, seg), data[:cut], 0o644); err != nil {
			t.Fatal(err)
		}

		var reported, reports int64
		rs, err := Read(dir, func(file string, off, bytes int64, records int, what string) {
			reports++
			reported += bytes
			if file != filepath.Join(dir, seg) || off != whole || records != 0 {
				t.Errorf("cut %d: report %s at %d, %d bytes, %d records (%s)", cut, file, off, bytes, records, what)
			}
		})
		if err != nil {
			t.Fatalf("cut %d: read: %v", cut, err)
		}
		var lens int
		for _, info := range rs.Buckets() {
			lens += info.Len
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
		if reported != torn || reports > 1 {
			t.Fatalf("cut %d: %d bytes reported in %d reports, want %d torn", cut, reported, reports, torn)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, seg)); len(after) != cut {
			t.Fatalf("cut %d: Read changed the segment to %d bytes", cut, len(after))
		}

		cfg := storeTestConfig(0)
		stats := framework.NewMemoryStats()
		cfg.Stats = stats
		s, err := Open(dir, cfg)
		if err != nil {
			t.Fatalf("cut %d: open: %v", cut, err)
		}
		if got := stats.Get(disk.StatDroppedBytes); got != torn {
			t.Fatalf("cut %d: %s = %d, want %d", cut, disk.StatDroppedBytes, got, torn)
		}
		switch fi, err := os.Stat(filepath.Join(dir, seg)); {
		case int64(cut) < frames[0].end: // not even the header is whole
			if err == nil {
				t.Fatalf("cut %d: a segment without a whole header left with %d bytes", cut, fi.Size())
			}
		case err != nil || fi.Size() != whole:
			t.Fatalf("cut %d: segment of %v bytes after open, want %d (%v)", cut, fi, whole, err)
		}
		want := m.want()
		gotLens := 0
		for _, info := range s.Buckets() {
			gotLens += info.Len
		}
		if gotLens != lens {
			t.Fatalf("cut %d: Read counts %d records, Open %d", cut, lens, gotLens)
		}
		sameContents(t, storeContents(t, s), want)
		if cut%5 != 0 {
			mustCloseStore(t, s)
			continue
		}
		// The store goes on from where the cut left it.
		disktest.MustPush(t, bucketOf(t, s, "a", false), "http://a/after")
		mustCloseStore(t, s)
		s = openTestStore(t, dir, storeTestConfig(0))
		disktest.SameList(t, disktest.URLsOf(popAll(t, bucketOf(t, s, "a", false))), []string{"http://a/after"})
		mustCloseStore(t, s)
	}
}

// Bytes after the last whole frame that are no frame (garbage, zeros, a
// frame's head promising more than there is) are dropped and reported.
func TestStoreGarbageTail(t *testing.T) {
	src, seg := tornSource(t)
	data, _ := os.ReadFile(filepath.Join(src, seg))
	frames, _ := readLogFrames(t, data)
	m := newLogModel()
	for _, f := range frames {
		m.apply(seg, f)
	}
	head, _ := recordio.Append(nil, []byte("C\x01\x05\x01record"), recordio.Meta{})
	for _, tc := range []struct {
		name string
		tail []byte
	}{
		{"zeros", make([]byte, 100)},
		{"text", []byte("not a frame at all, just text appended by something")},
		{"head", head[:len(head)-1]},
		{"length", []byte{0xff, 0xff, 0xff, 0x00, 1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := crashCopy(t, src)
			if err := os.WriteFile(filepath.Join(dir, seg), append(slices.Clone(data), tc.tail...), 0o644); err != nil {
				t.Fatal(err)
			}
			var reported int64
			rs, err := Read(dir, func(_ string, off, bytes int64, _ int, _ string) {
				if off != int64(len(data)) {
					t.Errorf("reported at %d, want %d", off, len(data))
				}
				reported += bytes
			})
			if err != nil {
				t.Fatal(err)
			}
			_ = rs.Close()
			if reported != int64(len(tc.tail)) {
				t.Fatalf("%d bytes reported, want %d", reported, len(tc.tail))
			}
			cfg := storeTestConfig(0)
			stats := framework.NewMemoryStats()
			cfg.Stats = stats
			s := openTestStore(t, dir, cfg)
			if got := stats.Get(disk.StatDroppedBytes); got != int64(len(tc.tail)) {
				t.Fatalf("%s = %d, want %d", disk.StatDroppedBytes, got, len(tc.tail))
			}
			if fi, err := os.Stat(filepath.Join(dir, seg)); err != nil || fi.Size() != int64(len(data)) {
				t.Fatalf("segment after open: %v, %v; want %d bytes", fi, err, len(data))
			}
			sameContents(t, storeContents(t, s), m.want())
		})
	}
}

// corruptSource writes a bucket whose records (big enough for a chunk or
// two per 4 KiB segment) are in five chunks, the middle one in a segment
// that is not the last, and closes the store: its checkpoint lists every
// chunk.
func corruptSource(t *testing.T, lifo bool) (dir string, all []string) {
	dir = t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(4<<10))
	q := bucketOf(t, s, "q", lifo)
	for c := range 5 {
		for j := range 3 {
			u := fmt.Sprintf("http://x/%d", c*3+j)
			r := disktest.Req(t, u)
			r.Body = make([]byte, 500)
			if err := q.Push(r); err != nil {
				t.Fatal(err)
			}
			all = append(all, u)
		}
		mustFlush(t, s)
	}
	mustCloseStore(t, s)
	return dir, all
}

// chunkFrame finds the frame of chunk no in the segments of dir, and
// returns the segment and the frame.
func chunkFrame(t *testing.T, dir string, no uint32) (string, logFrame) {
	t.Helper()
	segs := segFiles(t, dir)
	for i, seg := range segs {
		data, _ := os.ReadFile(filepath.Join(dir, seg))
		frames, _ := readLogFrames(t, data)
		for _, f := range frames {
			if f.typ == 'C' && f.no == no {
				if i == len(segs)-1 {
					t.Fatalf("chunk %d is in the last segment %s", no, seg)
				}
				return seg, f
			}
		}
	}
	t.Fatalf("no chunk %d in %v", no, segs)
	return "", logFrame{}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x20
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A flipped byte in a chunk the checkpoint lists, in a segment that is not
// the last: Pop returns a *disk.CorruptRecordError naming the segment and the
// chunk, with its records dropped and counted, once; then the next records
// come, and a close and reopen do not meet the chunk again.
func TestStoreCorruptChunk(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir, all := corruptSource(t, k.LIFO)
			seg, f := chunkFrame(t, dir, 2)
			flipByte(t, filepath.Join(dir, seg), (f.off+f.end)/2)
			cfg := storeTestConfig(4 << 10)
			stats := framework.NewMemoryStats()
			cfg.Stats = stats
			s := openTestStore(t, dir, cfg)
			q := bucketOf(t, s, "q", k.LIFO)
			if q.Len() != 15 {
				t.Fatalf("len %d, want 15", q.Len())
			}
			want := disktest.Order(k.LIFO, all...)
			var got []string
			corrupt := 0
			for range 20 {
				r, err := q.Pop()
				var cre *disk.CorruptRecordError
				switch {
				case errors.As(err, &cre):
					corrupt++
					if cre.File != filepath.Join(dir, seg) || cre.Offset != f.off || cre.Dropped != 3 || !errors.Is(err, framework.ErrCorruptRecord) {
						t.Fatalf("corrupt record error %+v, want %s at %d with 3 dropped", cre, seg, f.off)
					}
					if q.Len() != 15-len(got)-3 {
						t.Fatalf("len %d after the corrupt chunk, want %d", q.Len(), 15-len(got)-3)
					}
				case err != nil:
					t.Fatal(err)
				case r != nil:
					got = append(got, r.URL)
				}
				if len(got) == 9 {
					break
				}
			}
			if corrupt != 1 {
				t.Fatalf("%d corrupt record errors, want 1", corrupt)
			}
			disktest.SameList(t, got, append(want[:6:6], want[9:12]...))
			if stats.Get(disk.StatDroppedRecords) != 3 {
				t.Fatalf("%s = %d, want 3", disk.StatDroppedRecords, stats.Get(disk.StatDroppedRecords))
			}
			mustCloseStore(t, s)
			s = openTestStore(t, dir, storeTestConfig(4<<10))
			disktest.SameList(t, disktest.URLsOf(popAll(t, bucketOf(t, s, "q", k.LIFO))), want[12:])
		})
	}
}

// A flipped byte in a chunk the log replays (a crash, no checkpoint since),
// in a segment that is not the last: that frame is skipped as corruption
// and reported, the frames after it and the next segment replayed, and the
// store opens with every record but the damaged chunk's (issue 10).
func TestStoreCorruptReplayedSegment(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := storeTestConfig(4 << 10)
			push := func(s *Store, prefix string, n, body int) {
				q := bucketOf(t, s, "q", k.LIFO)
				for i := range n {
					r := disktest.Req(t, fmt.Sprintf("http://%s/%d", prefix, i))
					r.Body = make([]byte, body)
					if err := q.Push(r); err != nil {
						t.Fatal(err)
					}
				}
				mustFlush(t, s)
			}
			s := openTestStore(t, dir, cfg)
			push(s, "a", 6, 500) // 3 KiB of the first segment
			mustCloseStore(t, s) // the checkpoint: replay starts after it
			s = openTestStore(t, dir, cfg)
			push(s, "b", 2, 100) // the rest of the first segment
			push(s, "c", 2, 300) // in the second: less than a segment since the checkpoint
			dir = crashCopy(t, dir)
			segs := segFiles(t, dir)
			if len(segs) != 2 {
				t.Fatalf("segments %v, want 2", segs)
			}
			seg, f := chunkFrame(t, dir, 1)
			if seg != segs[0] {
				t.Fatalf("chunk 1 is in %s", seg)
			}
			flipByte(t, filepath.Join(dir, seg), (f.off+f.end)/2)
			// The damaged chunk is corruption, not a torn tail: the frames
			// after it are kept.
			m := newLogModel()
			lost := f.end - f.off
			for _, name := range segs {
				data, _ := os.ReadFile(filepath.Join(dir, name))
				if name != seg {
					frames, _ := readLogFrames(t, data)
					for _, fr := range frames {
						m.apply(name, fr)
					}
					continue
				}
				before, end := readLogFrames(t, data[:f.off])
				after, _ := readLogFrames(t, data[f.end:])
				if end != f.off {
					t.Fatalf("frames of %s end at %d, the flipped one starts at %d", seg, end, f.off)
				}
				for _, fr := range before {
					m.apply(name, fr)
				}
				for _, fr := range after {
					fr.off, fr.end = fr.off+f.end, fr.end+f.end
					m.apply(name, fr)
				}
			}
			var reported int64
			rs, err := Read(dir, func(file string, off, bytes int64, _ int, _ string) {
				if file != filepath.Join(dir, seg) || off != f.off {
					t.Errorf("report of %s at %d, want %s at %d", file, off, seg, f.off)
				}
				reported += bytes
			})
			if err != nil {
				t.Fatal(err)
			}
			_ = rs.Close()
			if reported != lost {
				t.Fatalf("%d bytes reported, want %d", reported, lost)
			}
			want := m.want()
			if n := len(want["q"]); n != 10-len(f.urls) {
				t.Fatalf("the model holds %d records, want 10 but the %d of the damaged chunk: %v", n, len(f.urls), want)
			}
			s = openTestStore(t, dir, cfg)
			sameContents(t, storeContents(t, s), want)
		})
	}
}

// A checkpoint with any byte flipped, cut short anywhere, or holding whole
// frames no store writes is damage (issue 10): Read reports it naming the
// checkpoint and changes nothing; Open rebuilds the checkpoint from the
// segments, keeps the damaged one aside, and every request is still there.
func TestStoreCorruptIndex(t *testing.T) {
	src := t.TempDir()
	s := openTestStore(t, src, storeTestConfig(0))
	for i := range 3 {
		disktest.MustPush(t, bucketOf(t, s, fmt.Sprintf("k%d", i), i == 1), "http://x/1", "http://x/2")
	}
	mustCloseStore(t, s)
	index, err := os.ReadFile(filepath.Join(src, "queue.index"))
	if err != nil {
		t.Fatal(err)
	}
	want := storeContents(t, openTestStore(t, crashCopy(t, src), storeTestConfig(0)))
	check := func(t *testing.T, what string, bad []byte) {
		t.Helper()
		dir := crashCopy(t, src)
		path := filepath.Join(dir, "queue.index")
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		before := disktest.Snapshot(t, dir)
		named := false
		rs, err := Read(dir, func(file string, _, _ int64, _ int, what string) {
			named = named || (file == path && strings.Contains(what, "rebuilt"))
		})
		if err != nil {
			t.Fatalf("%s: read: %v", what, err)
		}
		_ = rs.Close()
		if !named || disktest.Snapshot(t, dir) != before {
			t.Fatalf("%s: read: the damaged checkpoint reported: %t; files unchanged: %t", what, named, disktest.Snapshot(t, dir) == before)
		}
		s, err := Open(dir, storeTestConfig(0))
		if err != nil {
			t.Fatalf("%s: open: %v", what, err)
		}
		sameContents(t, storeContents(t, s), want)
		_ = s.Close()
		kept, _ := filepath.Glob(filepath.Join(dir, "damaged-*", "queue.index"))
		if len(kept) != 1 {
			t.Fatalf("%s: damaged checkpoint kept aside: %v", what, kept)
		}
		if got, _ := os.ReadFile(kept[0]); string(got) != string(bad) {
			t.Fatalf("%s: the checkpoint kept aside is not the damaged one", what)
		}
	}
	for i := range index {
		bad := slices.Clone(index)
		bad[i] ^= 0x01
		check(t, fmt.Sprintf("byte %d flipped", i), bad)
	}
	for n := range len(index) {
		check(t, fmt.Sprintf("cut at %d", n), index[:n])
	}
	check(t, "a frame after the end", append(slices.Clone(index), index[:len(index)/2]...))
	// Whole frames no store writes.
	hdr, _, _ := recordio.Next(index)
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"bucket past the header's next bucket", []byte("B\x09F\x00k9")},
		{"unknown record type", []byte("Z\x01")},
		{"chunks of an unknown bucket", []byte("K\x07\x01\x00\x01\x00\x10\x01\x01\x05")},
	} {
		bad, _ := recordio.Append(nil, hdr.Payload, recordio.Meta{})
		bad, _ = recordio.Append(bad, tc.payload, recordio.Meta{})
		bad, _ = recordio.Append(bad, []byte("E\x00\x00"), recordio.Meta{})
		check(t, tc.name, bad)
	}
}

// A checkpoint or a segment written by a newer frontier is refused with
// disk.ErrVersion. One that is not a queue store's (issue 10: damaged, or
// another file in its place) is salvaged and reported: the checkpoint is
// rebuilt from the segments, a segment's valid frames are kept; nothing
// intact is lost.
func TestStoreForeignFiles(t *testing.T) {
	src := t.TempDir()
	s := openTestStore(t, src, storeTestConfig(0))
	disktest.MustPush(t, bucketOf(t, s, "q", false), "http://x/1")
	mustFlush(t, s)
	src = crashCopy(t, src) // replays the segment from its start
	mustCloseStore(t, s)
	index, _ := os.ReadFile(filepath.Join(src, "queue.index"))
	seg := segFiles(t, src)[0]
	segment, _ := os.ReadFile(filepath.Join(src, seg))
	// reframe returns data with its first frame's payload changed by edit.
	reframe := func(data []byte, edit func(p []byte) []byte) []byte {
		fr, k, err := recordio.Next(data)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := recordio.Append(nil, edit(slices.Clone(fr.Payload)), fr.Meta)
		return append(out, data[k:]...)
	}
	version := func(magic string) func(p []byte) []byte {
		return func(p []byte) []byte {
			if string(p[1:1+len(magic)]) != magic {
				t.Fatalf("payload %q does not start with %s", p, magic)
			}
			p[1+len(magic)]++
			return p
		}
	}
	for _, tc := range []struct {
		name  string
		file  string
		data  []byte
		want  error
		found string
	}{
		{"newer index", "queue.index", reframe(index, version("frontier.queue.index")), disk.ErrVersion, "format 3"},
		{"newer segment", seg, reframe(segment, version("frontier.queue.segment")), disk.ErrVersion, "format 3"},
		{"index of something else", "queue.index", reframe(index, func(p []byte) []byte { return append([]byte("Hsomething.else"), p[21:]...) }), nil, "checkpoint damaged"},
		{"segment of something else", seg, reframe(segment, func(p []byte) []byte { p[1] = 'F'; return p }), nil, "corrupt segment header"},
		{"segment named for another", seg, reframe(segment, func(p []byte) []byte { p[len(p)-1] = 7; return p }), nil, "corrupt segment header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := crashCopy(t, src)
			if err := os.WriteFile(filepath.Join(dir, tc.file), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				var reports []string
				r, err := Read(dir, func(_ string, _, _ int64, _ int, what string) { reports = append(reports, what) })
				if err != nil {
					t.Fatalf("read: %v, want it salvaged", err)
				}
				bs := r.Buckets()
				r.Close()
				if len(bs) != 1 || bs[0].Len != 1 || !strings.Contains(strings.Join(reports, "; "), tc.found) {
					t.Fatalf("read: buckets %+v, reports %q; want the bucket's request kept and %q reported", bs, reports, tc.found)
				}
				s, err := Open(dir, storeTestConfig(0))
				if err != nil {
					t.Fatalf("open: %v, want it salvaged", err)
				}
				defer s.Close()
				if q := bucketOf(t, s, "q", false); q.Len() != 1 {
					t.Fatalf("open: %d requests, want 1", q.Len())
				}
				return
			}
			before := disktest.Snapshot(t, dir)
			s, err := Open(dir, storeTestConfig(0))
			if s != nil {
				_ = s.Close()
			}
			if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.found) {
				t.Fatalf("open: %v, want %v mentioning %q", err, tc.want, tc.found)
			}
			if _, err := Read(dir, nil); !errors.Is(err, tc.want) {
				t.Fatalf("read: %v, want %v", err, tc.want)
			}
			if disktest.Snapshot(t, dir) != before {
				t.Fatal("a refused store's files were changed")
			}
		})
	}
}

// failingOpen makes s open its files through faultyFile, sharing budget:
// writes fail with ENOSPC once it is spent. truncErr, when set, fails
// Truncate too.
func failingOpen(s *Store, budget *int64, truncErr *error) {
	var mu sync.Mutex
	s.openFile = func(name string, flag int, perm os.FileMode) (disk.File, error) {
		f, err := disk.OpenRaw(name, flag, perm)
		if err != nil {
			return nil, err
		}
		return failingTruncate{disktest.FullDisk{File: f, Budget: budget, Mu: &mu}, truncErr}, nil
	}
}

type failingTruncate struct {
	disktest.FullDisk
	err *error
}

func (f failingTruncate) Truncate(size int64) error {
	if *f.err != nil {
		return *f.err
	}
	return f.FullDisk.Truncate(size)
}

// A full disk at every point of a flush that fills several segments: Flush
// returns the error; a crash then finds every record acknowledged before,
// no torn frame, and at most a prefix of the failed flush's records; once
// there is room, the next Flush writes the rest, and a reopen finds every
// record once, in order.
func TestStoreWriteError(t *testing.T) {
	first := []string{"http://x/1", "http://x/2", "http://x/3"}
	var second []string
	for i := range 12 {
		second = append(second, fmt.Sprintf("http://x/second/%d", i))
	}
	// The bytes the second flush writes, measured on a disk with room.
	measure := func(lifo bool) int64 {
		dir := t.TempDir()
		s := openTestStore(t, dir, storeTestConfig(1<<10))
		q := bucketOf(t, s, "q", lifo)
		disktest.MustPush(t, q, first...)
		mustFlush(t, s)
		size := func() (n int64) {
			for _, f := range segFiles(t, dir) {
				fi, _ := os.Stat(filepath.Join(dir, f))
				n += fi.Size()
			}
			return n
		}
		before := size()
		disktest.PopURLs(t, q, 1)
		for _, u := range second {
			r := disktest.Req(t, u)
			r.Body = make([]byte, 100)
			if err := q.Push(r); err != nil {
				t.Fatal(err)
			}
			if u == second[5] {
				mustFlush(t, s) // two chunks in the failed flush
			}
		}
		mustFlush(t, s)
		return size() - before
	}
	for _, k := range disktest.Kinds() {
		total := measure(k.LIFO)
		for room := int64(0); room < total; room += max(1, total/25) {
			t.Run(fmt.Sprintf("%s/room%d", k.Name, room), func(t *testing.T) {
				dir := t.TempDir()
				cfg := storeTestConfig(1 << 10)
				s := openTestStore(t, dir, cfg)
				budget := int64(1 << 30)
				var truncErr error
				failingOpen(s, &budget, &truncErr)
				q := bucketOf(t, s, "q", k.LIFO)
				disktest.MustPush(t, q, first...)
				mustFlush(t, s)
				popped, _ := q.Pop()
				budget = room
				var errs []error
				for _, u := range second {
					r := disktest.Req(t, u)
					r.Body = make([]byte, 100)
					if err := q.Push(r); err != nil {
						t.Fatal(err)
					}
					if u == second[5] {
						errs = append(errs, s.Flush())
					}
				}
				errs = append(errs, s.Flush())
				if err := errors.Join(errs...); !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("flush on a full disk: %v; want ENOSPC", err)
				}
				// A crash now.
				crashed := crashCopy(t, dir)
				var reports []string
				rs, rerr := Read(crashed, func(file string, off, bytes int64, records int, what string) {
					reports = append(reports, fmt.Sprintf("%s at %d: %s", filepath.Base(file), off, what))
				})
				if rerr != nil {
					t.Fatalf("read after a failed flush: %v", rerr)
				}
				_ = rs.Close()
				if len(reports) > 0 {
					t.Fatalf("a failed flush left torn frames: %v", reports)
				}
				s2 := openTestStore(t, crashed, cfg)
				got := disktest.URLsOf(popAll(t, bucketOf(t, s2, "q", k.LIFO)))
				got = disktest.Order(k.LIFO, got...)
				base := first
				if !slices.Contains(got, popped.URL) { // the pop was written before the disk filled
					base = slices.DeleteFunc(slices.Clone(first), func(u string) bool { return u == popped.URL })
				}
				if len(got) < len(base) || !slices.Equal(got[:len(base)], base) || !slices.Equal(got[len(base):], second[:len(got)-len(base)]) {
					t.Fatalf("after a failed flush and a crash: %v", got)
				}
				// Room again: the store goes on.
				budget = 1 << 30
				mustFlush(t, s)
				mustCloseStore(t, s)
				s = openTestStore(t, dir, cfg)
				want := append(slices.DeleteFunc(slices.Clone(first), func(u string) bool { return u == popped.URL }), second...)
				disktest.SameList(t, disktest.URLsOf(popAll(t, bucketOf(t, s, "q", k.LIFO))), disktest.Order(k.LIFO, want...))
			})
		}
	}
}

// A failed write that cannot be cut back off its segment breaks the store:
// every later call says so; the records flushed before survive a crash,
// and the torn frame is cut off and reported by the reopen.
func TestStoreWriteErrorUndoFails(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	budget := int64(1 << 30)
	var truncErr error
	failingOpen(s, &budget, &truncErr)
	q := bucketOf(t, s, "q", false)
	disktest.MustPush(t, q, "http://x/1", "http://x/2")
	mustFlush(t, s)
	budget, truncErr = 10, syscall.EIO
	disktest.MustPush(t, q, "http://x/3")
	err := s.Flush()
	if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EIO) {
		t.Fatalf("flush: %v", err)
	}
	budget, truncErr = 1<<30, nil
	if err := s.Flush(); err == nil {
		t.Fatal("a broken store flushes")
	}
	if err := q.Push(disktest.Req(t, "http://x/4")); err == nil {
		t.Fatal("a broken store takes a push")
	}
	if _, err := q.Pop(); err == nil {
		t.Fatal("a broken store pops")
	}
	crashed := crashCopy(t, dir)
	var reported int64
	rs, err := Read(crashed, func(_ string, _, bytes int64, _ int, _ string) { reported += bytes })
	if err != nil {
		t.Fatal(err)
	}
	_ = rs.Close()
	if reported != 10 {
		t.Fatalf("%d torn bytes reported, want the 10 written", reported)
	}
	s2 := openTestStore(t, crashed, storeTestConfig(0))
	disktest.SameList(t, disktest.URLsOf(popAll(t, bucketOf(t, s2, "q", false))), []string{"http://x/1", "http://x/2"})
}

// A bucket is a FIFO or a LIFO queue for good: asking for the other kind is
// an error wrapping disk.ErrNotQueue, in the same session and after a
// reopen. Keys must lie inside the store's directory.
func TestStoreBucketKind(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	lifo := bucketOf(t, s, "lifo", true)
	disktest.MustPush(t, lifo, "http://x/1")
	bucketOf(t, s, "empty", false)
	for _, tc := range []struct {
		key  string
		lifo bool
	}{{"lifo", false}, {"empty", true}} {
		if _, err := s.Queue(filepath.Join(dir, tc.key), tc.lifo); !errors.Is(err, disk.ErrNotQueue) || !strings.Contains(err.Error(), tc.key) {
			t.Fatalf("bucket %s as the other kind: %v", tc.key, err)
		}
	}
	mustCloseStore(t, s)
	s = openTestStore(t, dir, storeTestConfig(0))
	if _, err := s.Queue(filepath.Join(dir, "lifo"), false); !errors.Is(err, disk.ErrNotQueue) {
		t.Fatalf("a LIFO bucket asked for as FIFO after a reopen: %v", err)
	}
	disktest.SameList(t, disktest.PopURLs(t, bucketOf(t, s, "lifo", true), 2), []string{"http://x/1", "<nil>"})
	for _, key := range []string{dir, filepath.Dir(dir), filepath.Join(dir, "..", "elsewhere"), "relative"} {
		if q, err := s.Queue(key, false); err == nil {
			t.Fatalf("key %q outside the store gave bucket %s", key, q.Key())
		}
	}
}

// DropUnclaimed drops the buckets no Bucket call asked for since the store
// opened, durably at the next flush; the buckets asked for stay, and so do
// buckets created since.
func TestStoreDropUnclaimed(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	for _, name := range []string{"a", "b", "c/d", "e"} {
		disktest.MustPush(t, bucketOf(t, s, name, name == "b"), "http://"+strings.ReplaceAll(name, "/", "")+"/1")
	}
	mustCloseStore(t, s)

	s = openTestStore(t, dir, storeTestConfig(0))
	a := bucketOf(t, s, "a", false)
	disktest.MustPush(t, bucketOf(t, s, "new", false), "http://new/1")
	if got := s.DropUnclaimed(); !slices.Equal(got, []string{"b", "c/d", "e"}) {
		t.Fatalf("dropped %v", got)
	}
	if got := s.DropUnclaimed(); len(got) != 0 {
		t.Fatalf("dropped %v the second time", got)
	}
	keys := func(s *Store) []string {
		var out []string
		for _, info := range s.Buckets() {
			out = append(out, info.Key)
		}
		return out
	}
	if got := keys(s); !slices.Equal(got, []string{"a", "new"}) {
		t.Fatalf("buckets %v after the drop", got)
	}
	if a.Len() != 1 {
		t.Fatalf("a claimed bucket holds %d", a.Len())
	}
	// Not durable before a flush: a crash brings them back.
	s2 := openTestStore(t, crashCopy(t, dir), storeTestConfig(0))
	if got := keys(s2); !slices.Equal(got, []string{"a", "b", "c/d", "e"}) {
		t.Fatalf("buckets after a crash before the flush: %v", got)
	}
	mustFlush(t, s)
	s3 := openTestStore(t, crashCopy(t, dir), storeTestConfig(0))
	if got := keys(s3); !slices.Equal(got, []string{"a", "new"}) {
		t.Fatalf("buckets after a crash after the flush: %v", got)
	}
	mustCloseStore(t, s)
	s = openTestStore(t, dir, storeTestConfig(0))
	if got := keys(s); !slices.Equal(got, []string{"a", "new"}) {
		t.Fatalf("buckets after a reopen: %v", got)
	}
	if got := s.DropUnclaimed(); !slices.Equal(got, []string{"a", "new"}) {
		t.Fatalf("dropped %v with nothing claimed", got)
	}
	mustCloseStore(t, s)
	if segs := segFiles(t, dir); len(segs) != 0 {
		t.Fatalf("segments %v left after every bucket was dropped", segs)
	}
}

// A closed store refuses work; an empty bucket closed leaves the store and
// a closed bucket refuses work; Read writes nothing and refuses pops
// and pushes.
func TestStoreClosed(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	q := bucketOf(t, s, "q", false)
	disktest.MustPush(t, q, "http://x/1")
	empty := bucketOf(t, s, "empty", true)
	disktest.MustClose(t, empty)
	disktest.MustClose(t, empty)
	if err := empty.Push(disktest.Req(t, "http://x/2")); !errors.Is(err, framework.ErrClosed) {
		t.Fatalf("push into a closed bucket: %v", err)
	}
	if _, err := empty.Pop(); !errors.Is(err, framework.ErrClosed) {
		t.Fatalf("pop of a closed bucket: %v", err)
	}
	if got := len(s.Buckets()); got != 1 {
		t.Fatalf("%d buckets, want 1: a closed empty bucket leaves", got)
	}
	mustCloseStore(t, s)
	mustCloseStore(t, s)
	if err := s.Flush(); err == nil {
		t.Fatal("a closed store flushes")
	}
	if _, err := s.Queue(filepath.Join(dir, "q"), false); err == nil {
		t.Fatal("a closed store gives a bucket")
	}
	if _, err := q.Pop(); !errors.Is(err, framework.ErrClosed) {
		t.Fatalf("pop from a closed store: %v", err)
	}

	before := disktest.Snapshot(t, dir)
	rs, err := Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rq := bucketOf(t, rs, "q", false)
	if rq.Len() != 1 {
		t.Fatalf("len %d in a read-only store", rq.Len())
	}
	if _, err := rq.Pop(); err == nil {
		t.Fatal("a read-only store pops")
	}
	if err := rq.Push(disktest.Req(t, "http://x/3")); err == nil {
		t.Fatal("a read-only store takes a push")
	}
	_, got := writtenDeliveries(t, rs, "q")
	disktest.SameList(t, got, []string{"http://x/1"})
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	if disktest.Snapshot(t, dir) != before {
		t.Fatal("Read changed the files")
	}
}
