package queues

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// flipMiddleChunk flips a byte inside the middle chunk frame of the queue
// store's segments under key.
func flipMiddleChunk(t *testing.T, key string) {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(key, "queue.*.log"))
	type at struct {
		file string
		off  int64
		size int
	}
	var chunks []at
	for _, seg := range segs {
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recordio.Scan(data, 0, func(off int64, f recordio.Frame) error {
			if f.Payload[0] == 'C' {
				chunks = append(chunks, at{seg, off, f.Size()})
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(chunks) < 3 {
		t.Fatalf("%d chunks, want 3 or more", len(chunks))
	}
	c := chunks[len(chunks)/2]
	data, _ := os.ReadFile(c.file)
	data[c.off+int64(c.size)/2] ^= 0x20
	if err := os.WriteFile(c.file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// drainCounting pops while Len says requests are pending, as a
// `for HasPending() { Next() }` loop does, and fails when Len promises more
// than Pop returns (the loop would spin).
func drainCounting(t *testing.T, q framework.PriorityQueue) (got, errs int) {
	t.Helper()
	for spins := 0; q.Len() > 0; spins++ {
		if spins > 1000 {
			t.Fatalf("Len stays at %d and Pop returns nothing: stranded requests", q.Len())
		}
		r, err := q.Pop()
		switch {
		case err != nil:
			errs++
		case r != nil:
			got++
		}
	}
	return got, errs
}

// Issue 10: a corrupt record inside a queue segment: Pop reported it once
// and then nothing while Len stayed above zero, and the downloader-aware
// queue stranded the intact requests behind it on every reopen. The bad
// chunk is skipped (reported, counted), the count falls with it, and every
// intact request is popped, now and after a reopen.
func TestPersistentQueuesSkipCorruptChunk(t *testing.T) {
	for _, kind := range []string{"spq", "dapq"} {
		t.Run(kind, func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "requests.queue")
			open := func() framework.PriorityQueue {
				var q framework.PriorityQueue
				var err error
				if kind == "spq" {
					q, err = NewScrapyPriorityQueue(context.Background(), testCrawler(t), persistentCfg(key, FifoDiskFactory, nil))
				} else {
					q, err = NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), persistentCfg(key, FifoDiskFactory, nil))
				}
				if err != nil {
					t.Fatal(err)
				}
				return q
			}
			q := open()
			for batch := range 3 {
				for i := range 10 {
					if err := q.Push(slotReq("example.com", fmt.Sprintf("https://example.com/%d/%d", batch, i))); err != nil {
						t.Fatal(err)
					}
				}
				if err := q.(framework.Flusher).Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			flipMiddleChunk(t, key)
			q = open()
			if q.Len() != 30 {
				t.Fatalf("reopened with %d requests, want the 30 the index lists", q.Len())
			}
			got, errs := drainCounting(t, q)
			if got != 20 || errs != 1 {
				t.Fatalf("popped %d requests with %d errors, want the 20 intact ones and one error", got, errs)
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			q = open()
			defer q.Close()
			if q.Len() != 0 {
				t.Fatalf("after a reopen %d requests are promised", q.Len())
			}
		})
	}
}

// Issue 10: a Peek that meets an unreadable chunk drops it, as a Pop does;
// the count must fall with it, or Len promises requests no Pop returns.
func TestPersistentQueuesPeekSkipsCorruptChunk(t *testing.T) {
	for _, kind := range []string{"spq", "dapq"} {
		t.Run(kind, func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "requests.queue")
			open := func() interface {
				framework.PriorityQueue
				framework.Peeker
			} {
				if kind == "spq" {
					q, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), persistentCfg(key, FifoDiskFactory, nil))
					if err != nil {
						t.Fatal(err)
					}
					return q
				}
				q, err := NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), persistentCfg(key, FifoDiskFactory, nil))
				if err != nil {
					t.Fatal(err)
				}
				return q
			}
			q := open()
			for batch := range 3 {
				for i := range 10 {
					if err := q.Push(slotReq("example.com", fmt.Sprintf("https://example.com/%d/%d", batch, i))); err != nil {
						t.Fatal(err)
					}
				}
				if err := q.(framework.Flusher).Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			flipMiddleChunk(t, key)
			q = open()
			defer q.Close()
			got, errs := 0, 0
			for spins := 0; q.Len() > 0; spins++ {
				if spins > 1000 {
					t.Fatalf("Len stays at %d: stranded requests", q.Len())
				}
				if _, err := q.Peek(); err != nil {
					errs++
					continue
				}
				r, err := q.Pop()
				if err != nil || r == nil {
					t.Fatalf("Peek found a request, Pop returned %v, %v", r, err)
				}
				got++
			}
			if got != 20 || errs != 1 {
				t.Fatalf("popped %d requests with %d Peek errors, want the 20 intact ones and one error", got, errs)
			}
		})
	}
}
