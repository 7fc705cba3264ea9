package queues

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// diskKinds are the two disk queues, built over a test's own pool.
var diskKinds = []struct {
	name string
	lifo bool
}{{"fifo", false}, {"lifo", true}}

// testDiskConfig returns a config over a fresh pool, so that tests do not
// share descriptors or buffer budgets.
func testDiskConfig() DiskConfig {
	return DiskConfig{Pool: NewDiskPool(DiskPoolConfig{})}
}

func openDisk(t testing.TB, path string, lifo bool, cfg DiskConfig) *DiskQueue {
	t.Helper()
	q, err := newDiskQueue(path, lifo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func dreq(t testing.TB, url string) *framework.Request {
	t.Helper()
	r, err := framework.NewRequest(url)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustPush(t testing.TB, q framework.Queue, urls ...string) {
	t.Helper()
	for _, u := range urls {
		if err := q.Push(dreq(t, u)); err != nil {
			t.Fatalf("push %s: %v", u, err)
		}
	}
}

// popURLs pops n times and returns the URLs, "<nil>" for an empty pop.
func popURLs(t testing.TB, q framework.Queue, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		r, err := q.Pop()
		if err != nil {
			t.Fatalf("pop: %v", err)
		}
		if r == nil {
			out = append(out, "<nil>")
		} else {
			out = append(out, r.URL)
		}
	}
	return out
}

func sameList(t testing.TB, got, want []string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func mustClose(t testing.TB, q framework.Queue) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func order(lifo bool, urls ...string) []string {
	out := append([]string(nil), urls...)
	if lifo {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// queuelib's QueueTestMixin, FifoTestMixin and LifoTestMixin, with requests
// as elements, for both disk queues, with segments of every small size.
func TestDiskQueueQueuelib(t *testing.T) {
	a, b, c, d, e := "http://x/a", "http://x/b", "http://x/c", "http://x/d", "http://x/e"
	for _, k := range diskKinds {
		for _, seg := range []int64{0, 1, 100, 200} { // 0: default; 1: one record per segment
			name := fmt.Sprintf("%s/segment%d", k.name, seg)
			cfg := func() DiskConfig { c := testDiskConfig(); c.SegmentBytes = seg; return c }
			newQ := func(t *testing.T) *DiskQueue {
				q := openDisk(t, filepath.Join(t.TempDir(), "q"), k.lifo, cfg())
				t.Cleanup(func() { _ = q.Close() })
				return q
			}
			t.Run(name+"/empty", func(t *testing.T) {
				sameList(t, popURLs(t, newQ(t), 1), []string{"<nil>"})
			})
			t.Run(name+"/single_pushpop", func(t *testing.T) {
				q := newQ(t)
				mustPush(t, q, a)
				sameList(t, popURLs(t, q, 1), []string{a})
			})
			t.Run(name+"/len", func(t *testing.T) {
				q := newQ(t)
				if q.Len() != 0 {
					t.Fatal("new queue not empty")
				}
				mustPush(t, q, a)
				if q.Len() != 1 {
					t.Fatalf("len %d, want 1", q.Len())
				}
				mustPush(t, q, b, c)
				if q.Len() != 3 {
					t.Fatalf("len %d, want 3", q.Len())
				}
				popURLs(t, q, 3)
				if q.Len() != 0 {
					t.Fatalf("len %d, want 0", q.Len())
				}
			})
			t.Run(name+"/peek_one_element", func(t *testing.T) {
				q := newQ(t)
				if r, err := q.Peek(); r != nil || err != nil {
					t.Fatalf("peek of empty queue: %v, %v", r, err)
				}
				mustPush(t, q, a)
				if r, err := q.Peek(); err != nil || r == nil || r.URL != a {
					t.Fatalf("peek: %v, %v", r, err)
				}
				sameList(t, popURLs(t, q, 2), []string{a, "<nil>"})
				if r, err := q.Peek(); r != nil || err != nil {
					t.Fatalf("peek of emptied queue: %v, %v", r, err)
				}
			})
			t.Run(name+"/push_pop1", func(t *testing.T) {
				q := newQ(t)
				mustPush(t, q, a, b, c)
				sameList(t, popURLs(t, q, 4), append(order(k.lifo, a, b, c), "<nil>"))
			})
			t.Run(name+"/push_pop2", func(t *testing.T) {
				q := newQ(t)
				mustPush(t, q, a, b, c, d)
				first := []string{a, b}
				second := []string{c, d, e}
				if k.lifo {
					first, second = []string{d, c}, []string{e, b, a}
				}
				sameList(t, popURLs(t, q, 2), first)
				mustPush(t, q, e)
				sameList(t, popURLs(t, q, 3), second)
			})
			t.Run(name+"/peek", func(t *testing.T) {
				q := newQ(t)
				mustPush(t, q, a, b, c)
				for _, want := range order(k.lifo, a, b, c) {
					for range 2 {
						r, err := q.Peek()
						if err != nil || r == nil || r.URL != want {
							t.Fatalf("peek: %v, %v; want %s", r, err, want)
						}
					}
					sameList(t, popURLs(t, q, 1), []string{want})
				}
			})
			t.Run(name+"/binary_element", func(t *testing.T) {
				// queuelib pushes a pickle-like blob; here it is a request body.
				q := newQ(t)
				body := []byte("\x80\x04\x95\x1b\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04text\x94\x8c\x02\r\n\x94\x00\xff\xfe")
				r := dreq(t, a)
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
	for _, k := range diskKinds {
		t.Run(k.name+"/close_open", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			q := openDisk(t, path, k.lifo, testDiskConfig())
			mustPush(t, q, "http://x/a", "http://x/b", "http://x/c", "http://x/d")
			popURLs(t, q, 2)
			mustClose(t, q)
			q = openDisk(t, path, k.lifo, testDiskConfig())
			if q.Len() != 2 {
				t.Fatalf("len after reopen %d, want 2", q.Len())
			}
			mustPush(t, q, "http://x/e")
			popURLs(t, q, 2)
			mustClose(t, q)
			q = openDisk(t, path, k.lifo, testDiskConfig())
			if got := popURLs(t, q, 1); got[0] == "<nil>" {
				t.Fatal("nothing left after the second reopen")
			}
			if q.Len() != 0 {
				t.Fatalf("len %d, want 0", q.Len())
			}
			mustClose(t, q)
		})
		t.Run(k.name+"/cleanup", func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "slot", "q")
			q := openDisk(t, path, k.lifo, testDiskConfig())
			mustPush(t, q, "http://x/1", "http://x/2", "http://x/3", "http://x/4", "http://x/5")
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the queue's path does not exist after a flush: %v", err)
			}
			popURLs(t, q, 5)
			mustClose(t, q)
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("an empty queue left %s behind (%v)", path, err)
			}
			// The slot directory is empty, so a priority queue can remove it.
			if err := os.Remove(filepath.Join(dir, "slot")); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(k.name+"/text_in_windows", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			q := openDisk(t, path, k.lifo, testDiskConfig())
			r := dreq(t, "http://x/crlf")
			r.Body = []byte("\r\n")
			r.Meta = map[string]any{"text": "a\r\nb\n\r"}
			if err := q.Push(r); err != nil {
				t.Fatal(err)
			}
			mustClose(t, q)
			q = openDisk(t, path, k.lifo, testDiskConfig())
			got, err := q.Pop()
			if err != nil || got == nil || string(got.Body) != "\r\n" || got.Meta["text"] != "a\r\nb\n\r" {
				t.Fatalf("pop after reopen: %+v, %v", got, err)
			}
			mustClose(t, q)
		})
		t.Run(k.name+"/one_element", func(t *testing.T) {
			q := openDisk(t, filepath.Join(t.TempDir(), "q"), k.lifo, testDiskConfig())
			defer mustClose(t, q)
			if q.Len() != 0 {
				t.Fatal("not empty")
			}
			for _, f := range []func() (*framework.Request, error){q.Peek, q.Pop} {
				if r, err := f(); r != nil || err != nil {
					t.Fatalf("empty queue gave %v, %v", r, err)
				}
			}
			mustPush(t, q, "https://example.com")
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
		t.Run(k.name+"/order", func(t *testing.T) {
			q := openDisk(t, filepath.Join(t.TempDir(), "q"), k.lifo, testDiskConfig())
			defer mustClose(t, q)
			urls := []string{"https://example.com/1", "https://example.com/2", "https://example.com/3"}
			mustPush(t, q, urls...)
			for i, want := range order(k.lifo, urls...) {
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
