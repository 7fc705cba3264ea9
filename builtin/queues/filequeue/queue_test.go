package filequeue

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
)

// testConfig is a queue config and the pool a test's queues share.
type testConfig struct {
	disk.Config
	Pool *Pool
}

// testDiskConfig returns a config over a fresh pool, so that tests do not
// share descriptors or buffer budgets.
func testDiskConfig() testConfig {
	return testConfig{Pool: NewPool(PoolConfig{})}
}

// open builds the queue at path, in c's pool (a new one when nil).
func (c testConfig) open(path string, lifo bool) (*Queue, error) {
	st, err := NewStore(c.Config, c.Pool)
	if err != nil {
		return nil, err
	}
	return st.Queue(path, lifo)
}

func openDisk(t testing.TB, path string, lifo bool, cfg testConfig) *Queue {
	t.Helper()
	q, err := cfg.open(path, lifo)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// queuelib's QueueTestMixin, FifoTestMixin and LifoTestMixin, with requests
// as elements, for both disk queues, with segments of every small size.
func TestDiskQueueQueuelib(t *testing.T) {
	a, b, c, d, e := "http://x/a", "http://x/b", "http://x/c", "http://x/d", "http://x/e"
	for _, k := range disktest.Kinds() {
		for _, seg := range []int64{0, 1, 100, 200} { // 0: default; 1: one record per segment
			name := fmt.Sprintf("%s/segment%d", k.Name, seg)
			cfg := func() testConfig { c := testDiskConfig(); c.SegmentBytes = seg; return c }
			newQ := func(t *testing.T) *Queue {
				q := openDisk(t, filepath.Join(t.TempDir(), "q"), k.LIFO, cfg())
				t.Cleanup(func() { _ = q.Close() })
				return q
			}
			t.Run(name+"/empty", func(t *testing.T) {
				disktest.SameList(t, disktest.PopURLs(t, newQ(t), 1), []string{"<nil>"})
			})
			t.Run(name+"/single_pushpop", func(t *testing.T) {
				q := newQ(t)
				disktest.MustPush(t, q, a)
				disktest.SameList(t, disktest.PopURLs(t, q, 1), []string{a})
			})
			t.Run(name+"/len", func(t *testing.T) {
				q := newQ(t)
				if q.Len() != 0 {
					t.Fatal("new queue not empty")
				}
				disktest.MustPush(t, q, a)
				if q.Len() != 1 {
					t.Fatalf("len %d, want 1", q.Len())
				}
				disktest.MustPush(t, q, b, c)
				if q.Len() != 3 {
					t.Fatalf("len %d, want 3", q.Len())
				}
				disktest.PopURLs(t, q, 3)
				if q.Len() != 0 {
					t.Fatalf("len %d, want 0", q.Len())
				}
			})
			t.Run(name+"/peek_one_element", func(t *testing.T) {
				q := newQ(t)
				if r, err := q.Peek(); r != nil || err != nil {
					t.Fatalf("peek of empty queue: %v, %v", r, err)
				}
				disktest.MustPush(t, q, a)
				if r, err := q.Peek(); err != nil || r == nil || r.URL != a {
					t.Fatalf("peek: %v, %v", r, err)
				}
				disktest.SameList(t, disktest.PopURLs(t, q, 2), []string{a, "<nil>"})
				if r, err := q.Peek(); r != nil || err != nil {
					t.Fatalf("peek of emptied queue: %v, %v", r, err)
				}
			})
			t.Run(name+"/push_pop1", func(t *testing.T) {
				q := newQ(t)
				disktest.MustPush(t, q, a, b, c)
				disktest.SameList(t, disktest.PopURLs(t, q, 4), append(disktest.Order(k.LIFO, a, b, c), "<nil>"))
			})
			t.Run(name+"/push_pop2", func(t *testing.T) {
				q := newQ(t)
				disktest.MustPush(t, q, a, b, c, d)
				first := []string{a, b}
				second := []string{c, d, e}
				if k.LIFO {
					first, second = []string{d, c}, []string{e, b, a}
				}
				disktest.SameList(t, disktest.PopURLs(t, q, 2), first)
				disktest.MustPush(t, q, e)
				disktest.SameList(t, disktest.PopURLs(t, q, 3), second)
			})
			t.Run(name+"/peek", func(t *testing.T) {
				q := newQ(t)
				disktest.MustPush(t, q, a, b, c)
				for _, want := range disktest.Order(k.LIFO, a, b, c) {
					for range 2 {
						r, err := q.Peek()
						if err != nil || r == nil || r.URL != want {
							t.Fatalf("peek: %v, %v; want %s", r, err, want)
						}
					}
					disktest.SameList(t, disktest.PopURLs(t, q, 1), []string{want})
				}
			})
			t.Run(name+"/binary_element", func(t *testing.T) {
				// queuelib pushes a pickle-like blob; here it is a request body.
				q := newQ(t)
				body := []byte("\x80\x04\x95\x1b\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04text\x94\x8c\x02\r\n\x94\x00\xff\xfe")
				r := disktest.Req(t, a)
				r.Body = body
				if err := q.Push(r); err != nil {
					t.Fatal(err)
				}
				got, err := q.Pop()
				if err != nil || got == nil || !bytes.Equal(got.Body, body) {
					t.Fatalf("pop: %v, %v", got, err)
				}
			})
		}
	}
}

// queuelib's PersistentTestMixin and Scrapy's test_squeues_request.py.
func TestDiskQueuePersistent(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name+"/close_open", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			q := openDisk(t, path, k.LIFO, testDiskConfig())
			disktest.MustPush(t, q, "http://x/a", "http://x/b", "http://x/c", "http://x/d")
			disktest.PopURLs(t, q, 2)
			disktest.MustClose(t, q)
			q = openDisk(t, path, k.LIFO, testDiskConfig())
			if q.Len() != 2 {
				t.Fatalf("len after reopen %d, want 2", q.Len())
			}
			disktest.MustPush(t, q, "http://x/e")
			disktest.PopURLs(t, q, 2)
			disktest.MustClose(t, q)
			q = openDisk(t, path, k.LIFO, testDiskConfig())
			if got := disktest.PopURLs(t, q, 1); got[0] == "<nil>" {
				t.Fatal("nothing left after the second reopen")
			}
			if q.Len() != 0 {
				t.Fatalf("len %d, want 0", q.Len())
			}
			disktest.MustClose(t, q)
		})
		t.Run(k.Name+"/cleanup", func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "slot", "q")
			q := openDisk(t, path, k.LIFO, testDiskConfig())
			disktest.MustPush(t, q, "http://x/1", "http://x/2", "http://x/3", "http://x/4", "http://x/5")
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the queue's path does not exist after a flush: %v", err)
			}
			disktest.PopURLs(t, q, 5)
			disktest.MustClose(t, q)
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("an empty queue left %s behind (%v)", path, err)
			}
			// The slot directory is empty, so a priority queue can remove it.
			if err := os.Remove(filepath.Join(dir, "slot")); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(k.Name+"/text_in_windows", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			q := openDisk(t, path, k.LIFO, testDiskConfig())
			r := disktest.Req(t, "http://x/crlf")
			r.Body = []byte("\r\n")
			r.Meta = map[string]any{"text": "a\r\nb\n\r"}
			if err := q.Push(r); err != nil {
				t.Fatal(err)
			}
			disktest.MustClose(t, q)
			q = openDisk(t, path, k.LIFO, testDiskConfig())
			got, err := q.Pop()
			if err != nil || got == nil || string(got.Body) != "\r\n" || got.Meta["text"] != "a\r\nb\n\r" {
				t.Fatalf("pop after reopen: %+v, %v", got, err)
			}
			disktest.MustClose(t, q)
		})
		t.Run(k.Name+"/one_element", func(t *testing.T) {
			q := openDisk(t, filepath.Join(t.TempDir(), "q"), k.LIFO, testDiskConfig())
			defer disktest.MustClose(t, q)
			if q.Len() != 0 {
				t.Fatal("not empty")
			}
			for _, f := range []func() (*framework.Request, error){q.Peek, q.Pop} {
				if r, err := f(); r != nil || err != nil {
					t.Fatalf("empty queue gave %v, %v", r, err)
				}
			}
			disktest.MustPush(t, q, "https://example.com")
			if q.Len() != 1 {
				t.Fatalf("len %d", q.Len())
			}
			p, _ := q.Peek()
			r, _ := q.Pop()
			if p == nil || r == nil || p.URL != "https://example.com" || r.URL != p.URL {
				t.Fatalf("peek %v, pop %v", p, r)
			}
			if q.Len() != 0 {
				t.Fatalf("len %d after pop", q.Len())
			}
		})
		t.Run(k.Name+"/order", func(t *testing.T) {
			q := openDisk(t, filepath.Join(t.TempDir(), "q"), k.LIFO, testDiskConfig())
			defer disktest.MustClose(t, q)
			urls := []string{"https://example.com/1", "https://example.com/2", "https://example.com/3"}
			disktest.MustPush(t, q, urls...)
			for i, want := range disktest.Order(k.LIFO, urls...) {
				if q.Len() != 3-i {
					t.Fatalf("len %d, want %d", q.Len(), 3-i)
				}
				p, _ := q.Peek()
				r, _ := q.Pop()
				if p == nil || r == nil || p.URL != want || r.URL != want {
					t.Fatalf("peek %v, pop %v, want %s", p, r, want)
				}
			}
		})
	}
}
