package schedulers

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

var errDiskBroken = errors.New("disk broken")

// brokenDiskQueue fails the push of a request with meta "broken", as a disk
// queue whose write fails would.
type brokenDiskQueue struct{ queues.FifoMemoryQueue }

func (q *brokenDiskQueue) Push(r *framework.Request) error {
	if _, ok := r.Meta["broken"]; ok {
		return fmt.Errorf("writing %s: %w", r.URL, errDiskBroken)
	}
	return q.FifoMemoryQueue.Push(r)
}

// A push that fails after Enqueue handed its request off is returned by the
// next call that waits for the handoff, once; the requests around it are
// queued and counted.
func TestHandoffPushErrorReturnedOnce(t *testing.T) {
	c := newCrawler(t, map[string]any{
		"JOBDIR":                       t.TempDir(),
		"SCHEDULER_DISK_QUEUE":         "test.BrokenDisk",
		"SCHEDULER_START_DISK_QUEUE":   nil,
		"SCHEDULER_START_MEMORY_QUEUE": nil,
		"SCHEDULER_PRIORITY_QUEUE":     "scrapy.pqueues.ScrapyPriorityQueue",
	})
	c.Registry.MustRegister(registry.Entry{Name: "test.BrokenDisk",
		Factory: framework.QueueFactory(func(context.Context, *framework.Crawler, framework.QueueConfig) (framework.Queue, error) {
			return &brokenDiskQueue{}, nil
		})})
	s := openScheduler(t, c)
	if s.handoff == nil {
		t.Fatal("a scheduler with JOBDIR has no handoff")
	}
	for i, broken := range []bool{false, true, false} {
		r := framework.MustRequest(fmt.Sprintf("http://foo.com/%d", i))
		if broken {
			r.Meta = map[string]any{"broken": true}
		}
		if ok, err := s.Enqueue(r); !ok || err != nil {
			t.Fatalf("Enqueue %d: %v, %v; want accepted, the push being handed off", i, ok, err)
		}
	}
	if _, err := s.Next(); !errors.Is(err, errDiskBroken) {
		t.Fatalf("Next after the failed push: %v, want %v", err, errDiskBroken)
	}
	var got []string
	for {
		r, err := s.Next()
		if err != nil {
			t.Fatalf("Next after the error was returned: %v", err)
		}
		if r == nil {
			break
		}
		got = append(got, r.URL)
		if err := s.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(got) != "[http://foo.com/0 http://foo.com/2]" {
		t.Fatalf("delivered %v, want the two requests whose push succeeded, in order", got)
	}
	if n := c.Stats.Get(framework.StatEnqueued); n != 2 {
		t.Fatalf("scheduler/enqueued = %d, want 2", n)
	}
}

// Close stops the handoff's goroutine, and Enqueue after Close fails as
// without a handoff, with a job directory or without.
func TestHandoffStopsAtClose(t *testing.T) {
	for _, jobdir := range []bool{true, false} {
		t.Run(map[bool]string{true: "jobdir", false: "memory"}[jobdir], func(t *testing.T) {
			before := runtime.NumGoroutine()
			var s *Scheduler
			if jobdir {
				s = openJob(t, t.TempDir(), nil)
			} else {
				s = openScheduler(t, newCrawler(t, nil))
			}
			if s.handoff == nil {
				t.Fatal("no handoff")
			}
			for i := range 1000 {
				if _, err := s.Enqueue(framework.MustRequest(fmt.Sprintf("http://host%d.example/%d", i%7, i))); err != nil {
					t.Fatal(err)
				}
			}
			if n := s.Len(); n != 1000 {
				t.Fatalf("Len = %d after 1000 enqueues, want 1000", n)
			}
			if jobdir {
				closeJob(t, s)
			} else if err := s.Close("finished"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Enqueue(framework.MustRequest("http://late.example/")); err == nil {
				t.Error("Enqueue after Close: no error")
			}
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before {
				if time.Now().After(deadline) {
					buf := make([]byte, 1<<16)
					t.Fatalf("%d goroutines after Close, %d before Open:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
