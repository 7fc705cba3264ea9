package filequeue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// A queue built and closed without being used does no I/O at all.
func TestDiskQueueUnusedDoesNoIO(t *testing.T) {
	for _, k := range disktest.Kinds() {
		dir := t.TempDir()
		path := filepath.Join(dir, "slot", "0")
		cfg := testDiskConfig()
		q := openDisk(t, path, k.LIFO, cfg)
		if err := q.Flush(); err != nil {
			t.Fatal(err)
		}
		disktest.MustClose(t, q)
		if _, err := os.Stat(filepath.Join(dir, "slot")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: an unused queue created files", k.Name)
		}
		if st := cfg.Pool.Stats(); st != (PoolStats{}) {
			t.Fatalf("%s: %+v", k.Name, st)
		}
		if err := q.Push(disktest.Req(t, "http://x/")); !errors.Is(err, framework.ErrClosed) {
			t.Fatalf("push after close: %v", err)
		}
		if _, err := q.Pop(); !errors.Is(err, framework.ErrClosed) {
			t.Fatalf("pop after close: %v", err)
		}
		disktest.MustClose(t, q) // idempotent
	}
}

// An unserializable request is an error wrapping ErrUnserializable and
// leaves the queue unchanged; in a batch, nothing of the batch is added.
func TestDiskQueueUnserializable(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			q := openDisk(t, path, k.LIFO, testDiskConfig())
			disktest.MustPush(t, q, "http://x/1")
			bad := disktest.Req(t, "http://x/bad")
			bad.Meta = map[string]any{"f": func() {}}
			if err := q.Push(bad); !errors.Is(err, framework.ErrUnserializable) {
				t.Fatalf("push: %v", err)
			}
			big := disktest.Req(t, "http://x/big")
			big.Body = make([]byte, recordio.MaxPayload)
			if err := q.Push(big); !errors.Is(err, framework.ErrUnserializable) {
				t.Fatalf("push of a record over 64 MiB: %v", err)
			}
			err := q.PushBatch([]*framework.Request{disktest.Req(t, "http://x/2"), bad, disktest.Req(t, "http://x/3")})
			if !errors.Is(err, framework.ErrUnserializable) || !strings.Contains(err.Error(), "request 1 of 3") {
				t.Fatalf("push batch: %v", err)
			}
			if q.Len() != 1 {
				t.Fatalf("len %d after failed pushes, want 1", q.Len())
			}
			if err := q.PushBatch([]*framework.Request{disktest.Req(t, "http://x/2"), disktest.Req(t, "http://x/3")}); err != nil {
				t.Fatal(err)
			}
			disktest.MustClose(t, q)
			q = openDisk(t, path, k.LIFO, testDiskConfig())
			rs, err := q.PopBatch(10)
			if err != nil {
				t.Fatal(err)
			}
			disktest.SameList(t, disktest.URLsOf(rs), disktest.Order(k.LIFO, "http://x/1", "http://x/2", "http://x/3"))
			disktest.MustClose(t, q)
		})
	}
}

// Delivery identifiers are stable across a reopen and distinct across
// queues and pushes, before and after a restart.
func TestDiskQueueDeliveryIDs(t *testing.T) {
	dir := t.TempDir()
	seen := map[uint64]string{}
	var before []*framework.Request
	for i, k := range disktest.Kinds() {
		path := filepath.Join(dir, k.Name)
		q := openDisk(t, path, k.LIFO, testDiskConfig())
		for j := range 50 {
			disktest.MustPush(t, q, fmt.Sprintf("http://x/%d/%d", i, j))
		}
		for {
			r, err := q.Peek()
			if err != nil || r == nil {
				break
			}
			if p, _ := q.Pop(); p != r {
				t.Fatal("pop does not return the peeked request")
			}
			if other, dup := seen[r.Delivery]; dup || r.Delivery == 0 {
				t.Fatalf("delivery %d of %s also given to %s", r.Delivery, r.URL, other)
			}
			seen[r.Delivery] = r.URL
			before = append(before, r)
		}
		_ = q.lay.release() // crash: every pop comes back
	}
	for _, k := range disktest.Kinds() {
		for _, r := range reopenAll(t, filepath.Join(dir, k.Name), k.LIFO) {
			if seen[r.Delivery] != r.URL {
				t.Fatalf("%s came back with delivery %d (was given to %q)", r.URL, r.Delivery, seen[r.Delivery])
			}
		}
	}
	q := openDisk(t, filepath.Join(dir, "new"), false, testDiskConfig())
	disktest.MustPush(t, q, "http://x/new")
	r, _ := q.Pop()
	if _, dup := seen[r.Delivery]; dup {
		t.Fatalf("a new record got delivery %d again", r.Delivery)
	}
	disktest.MustClose(t, q)
	if len(before) != 100 {
		t.Fatalf("%d deliveries", len(before))
	}
}

// FIFO segments: a new file when one fills up, the files behind the head
// deleted once the pops are durable (queuelib's test_chunks).
func TestDiskQueueSegments(t *testing.T) {
	for _, perSeg := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint(perSeg), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			cfg := testDiskConfig()
			frame := int64(recordio.Overhead + len(mustEncode(t, "http://x/0")))
			cfg.SegmentBytes = headerSize + int64(perSeg)*frame
			q := openDisk(t, path, false, cfg)
			for i := range 5 {
				disktest.MustPush(t, q, fmt.Sprintf("http://x/%d", i))
			}
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			if n := len(queueFiles(t, path)); n != (5+perSeg-1)/perSeg {
				t.Fatalf("%d segment files, want %d", n, (5+perSeg-1)/perSeg)
			}
			disktest.PopURLs(t, q, 4)
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			if n := len(queueFiles(t, path)); n != 1 {
				t.Fatalf("%d segment files after popping to the last, want 1", n)
			}
			disktest.MustClose(t, q)
			q = openDisk(t, path, false, cfg)
			disktest.SameList(t, drain(t, q), []string{"http://x/4"})
			disktest.MustClose(t, q)
		})
	}
}

func mustEncode(t *testing.T, url string) []byte {
	t.Helper()
	b, err := framework.EncodeRequest(disktest.Req(t, url), nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The fsync policy: always fsyncs at every flush; interval and never leave
// it to later, and the pool's Sync makes everything durable at once.
func TestDiskQueueFsyncPolicy(t *testing.T) {
	for _, tc := range []struct {
		mode       recordio.FsyncMode
		wantSyncs  bool
		wantLedger bool
	}{
		{recordio.FsyncAlways, true, false},
		{recordio.FsyncInterval, false, true},
		{recordio.FsyncNever, false, true},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := testDiskConfig()
			cfg.Fsync = recordio.FsyncPolicy{Mode: tc.mode, Interval: time.Hour}
			for _, k := range disktest.Kinds() {
				q := openDisk(t, filepath.Join(dir, "slot", k.Name), k.LIFO, cfg)
				disktest.MustPush(t, q, "http://x/1")
				if err := q.Flush(); err != nil {
					t.Fatal(err)
				}
				disktest.MustClose(t, q)
			}
			st := cfg.Pool.Stats()
			if (st.Syncs > 0) != tc.wantSyncs {
				t.Fatalf("%d fsyncs after two flushes", st.Syncs)
			}
			cfg.Pool.mu.Lock()
			pending := len(cfg.Pool.unsynced)
			cfg.Pool.mu.Unlock()
			if (pending > 0) != tc.wantLedger {
				t.Fatalf("%d queues waiting for a sync", pending)
			}
			if err := cfg.Pool.Sync(); err != nil {
				t.Fatal(err)
			}
			cfg.Pool.mu.Lock()
			pending = len(cfg.Pool.unsynced)
			cfg.Pool.mu.Unlock()
			if pending != 0 {
				t.Fatalf("%d queues still unsynced after Sync", pending)
			}
		})
	}
}

// The pool's buffer budget flushes the queues that buffered first.
func TestDiskPoolBudget(t *testing.T) {
	dir := t.TempDir()
	pool := NewPool(PoolConfig{BufferBytes: 4 << 10})
	cfg := testConfig{Pool: pool, Config: disk.Config{FlushInterval: time.Hour, FlushBytes: 1 << 20}}
	var qs []*Queue
	for i := range 40 {
		q := openDisk(t, filepath.Join(dir, fmt.Sprint(i)), i%2 == 1, cfg)
		qs = append(qs, q)
		for j := range 5 {
			disktest.MustPush(t, q, fmt.Sprintf("http://x/%d/%d", i, j))
		}
		if pool.Buffered() > 4<<10+1024 {
			t.Fatalf("%d bytes buffered, budget 4 KiB", pool.Buffered())
		}
	}
	if pool.Stats().Writes == 0 {
		t.Fatal("the budget never flushed anything")
	}
	for _, q := range qs {
		disktest.MustClose(t, q)
	}
	if pool.Buffered() != 0 {
		t.Fatalf("%d bytes still buffered after closing every queue", pool.Buffered())
	}
}

// Queues used from different goroutines share a pool safely: its small
// descriptor, write and read budgets make each queue flush and evict the
// others' buffers (run with -race).
func TestDiskPoolConcurrentQueues(t *testing.T) {
	dir := t.TempDir()
	pool := NewPool(PoolConfig{MaxOpenFiles: 4, BufferBytes: 2 << 10, ReadBufferBytes: 8 << 10})
	const workers, perWorker = 6, 4
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			var qs []*Queue
			for i := range perWorker {
				q, err := testConfig{Pool: pool, Config: disk.Config{FlushBytes: 512, PopCommitDelay: time.Millisecond}}.
					open(filepath.Join(dir, fmt.Sprintf("w%d", w), fmt.Sprint(i)), i%2 == 0)
				if err != nil {
					errs <- err
					return
				}
				qs = append(qs, q)
			}
			want := map[string]bool{}
			for n := range 300 {
				q := qs[n%perWorker]
				u := fmt.Sprintf("http://w%d/%d", w, n)
				if err := q.Push(framework.MustRequest(u)); err != nil {
					errs <- err
					return
				}
				want[u] = true
				if n%3 == 0 {
					r, err := q.Pop()
					if err != nil || r == nil || !want[r.URL] {
						errs <- fmt.Errorf("pop: %v, %v", r, err)
						return
					}
					delete(want, r.URL)
				}
			}
			for _, q := range qs {
				for {
					r, err := q.Pop()
					if err != nil {
						errs <- err
						return
					}
					if r == nil {
						break
					}
					if !want[r.URL] {
						errs <- fmt.Errorf("%s popped twice or never pushed", r.URL)
						return
					}
					delete(want, r.URL)
				}
				if err := q.Close(); err != nil {
					errs <- err
					return
				}
			}
			if len(want) != 0 {
				errs <- fmt.Errorf("%d requests lost", len(want))
				return
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if pool.OpenFiles() != 0 || pool.Buffered() != 0 || pool.ReadBuffered() != 0 {
		t.Fatalf("after closing: %d files, %d bytes buffered, %d read", pool.OpenFiles(), pool.Buffered(), pool.ReadBuffered())
	}
}
