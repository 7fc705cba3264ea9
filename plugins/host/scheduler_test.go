package host

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/schedulers"
	"github.com/frontier-go/frontier/framework"
)

// openScheduler builds and opens the default scheduler over e's registry with
// the given settings.
func openScheduler(t *testing.T, e *env, settings map[string]any) *schedulers.Scheduler {
	t.Helper()
	s := framework.NewSettings()
	for k, v := range settings {
		s.Set(k, v, framework.Source{Kind: framework.SourceCode})
	}
	c := framework.NewCrawler(s, e.reg, nil)
	ensureFingerprinter(t, e.reg)
	sch, err := schedulers.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sch
}

func schedReq(i int) *framework.Request {
	r := framework.MustRequest(fmt.Sprintf("https://host%d.example/page/%d", i%3, i))
	r.Priority = i % 4
	return r
}

// drain takes every pending request, finishing each, and returns their
// numbers in order.
func drain(t *testing.T, s *schedulers.Scheduler) []*framework.Request {
	t.Helper()
	var out []*framework.Request
	for {
		r, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			return out
		}
		out = append(out, r)
		if err := s.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// The default scheduler with JOBDIR uses the plugin's SQLite queue as
// SCHEDULER_DISK_QUEUE under Scrapy's priority queue: every request comes
// back once, by priority, and duplicates are filtered.
func TestSchedulerRoundTripWithPluginDiskQueue(t *testing.T) {
	e := newEnv(t, zerolog.Nop(), sqliteDecl(t))
	sch := openScheduler(t, e, map[string]any{
		"JOBDIR":                     t.TempDir(),
		"SCHEDULER_DISK_QUEUE":       "sqlitequeue.FifoDiskQueue",
		"SCHEDULER_START_DISK_QUEUE": "sqlitequeue.FifoDiskQueue",
		"SCHEDULER_PRIORITY_QUEUE":   "scrapy.pqueues.ScrapyPriorityQueue",
	})
	const n = 300
	for i := range n {
		ok, err := sch.Enqueue(schedReq(i))
		if err != nil || !ok {
			t.Fatalf("Enqueue(%d) = %v, %v", i, ok, err)
		}
	}
	if ok, err := sch.Enqueue(schedReq(7)); ok || err != nil {
		t.Fatalf("duplicate Enqueue = %v, %v", ok, err)
	}
	if sch.Len() != n {
		t.Fatalf("Len = %d", sch.Len())
	}
	got := drain(t, sch)
	if len(got) != n {
		t.Fatalf("drained %d, want %d", len(got), n)
	}
	seen := map[string]bool{}
	for i, r := range got {
		if seen[r.URL] {
			t.Fatalf("%s handed out twice", r.URL)
		}
		seen[r.URL] = true
		if i > 0 && r.Priority > got[i-1].Priority {
			t.Fatalf("priority %d after %d", r.Priority, got[i-1].Priority)
		}
	}
	if err := sch.Close("finished"); err != nil {
		t.Fatal(err)
	}
}

// A job directory whose disk queue is the plugin's resumes: stop with
// requests pending and in flight, start a new scheduler (and a new plugin
// process) on the same JOBDIR, and every request not finished comes back,
// those in flight marked redelivered, none finished.
func TestSchedulerResumeWithPluginQueues(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]any
	}{
		{"plugin disk queue", map[string]any{
			"SCHEDULER_DISK_QUEUE":     "sqlitequeue.LifoDiskQueue",
			"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
		}},
		{"plugin priority queue and dupefilter", map[string]any{
			"SCHEDULER_PRIORITY_QUEUE": "sqlitequeue.PriorityQueue",
			"DUPEFILTER_CLASS":         "sqlitequeue.DupeFilter",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.settings["JOBDIR"] = t.TempDir()
			d := sqliteDecl(t)
			e := newEnv(t, zerolog.Nop(), d)
			sch := openScheduler(t, e, tc.settings)
			const n = 200
			for i := range n {
				if ok, err := sch.Enqueue(schedReq(i)); err != nil || !ok {
					t.Fatalf("Enqueue(%d) = %v, %v", i, ok, err)
				}
			}
			finished := map[string]bool{}
			inflight := map[string]bool{}
			for i := range 50 {
				r, err := sch.Next()
				if err != nil || r == nil {
					t.Fatalf("Next = %v, %v", r, err)
				}
				if i < 30 {
					finished[r.URL] = true
					if err := sch.Finish(r, nil); err != nil {
						t.Fatal(err)
					}
				} else {
					inflight[r.URL] = true
				}
			}
			if err := sch.Close("shutdown"); err != nil {
				t.Fatal(err)
			}
			if err := e.m.Close(); err != nil {
				t.Fatal(err)
			}

			e2 := newEnv(t, zerolog.Nop(), d)
			sch = openScheduler(t, e2, tc.settings)
			defer sch.Close("finished")
			if got := sch.Len() + sch.InFlight(); got < n-len(finished) {
				t.Fatalf("after resume %d pending, want %d", got, n-len(finished))
			}
			rest := drain(t, sch)
			seen := map[string]bool{}
			for _, r := range rest {
				if finished[r.URL] || seen[r.URL] {
					t.Fatalf("%s came back (finished or twice)", r.URL)
				}
				seen[r.URL] = true
				if r.Redelivered != inflight[r.URL] {
					t.Fatalf("%s: Redelivered = %v, in flight at the stop: %v", r.URL, r.Redelivered, inflight[r.URL])
				}
			}
			if len(rest) != n-len(finished) {
				t.Fatalf("resumed %d requests, want %d", len(rest), n-len(finished))
			}
			// The dupefilter remembers what the first run enqueued.
			if ok, err := sch.Enqueue(schedReq(3)); ok || err != nil {
				t.Fatalf("Enqueue of a request of the first run = %v, %v", ok, err)
			}
		})
	}
}

// A plugin killed while the scheduler uses it fails the scheduler's calls
// with a PluginExitedError, not a hang or a panic; the job resumes with a
// new process, and nothing the plugin acknowledged is lost.
func TestSchedulerPluginKilled(t *testing.T) {
	settings := map[string]any{
		"JOBDIR":                   t.TempDir(),
		"SCHEDULER_DISK_QUEUE":     "sqlitequeue.FifoDiskQueue",
		"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
	}
	d := sqliteDecl(t)
	e := newEnv(t, zerolog.Nop(), d)
	sch := openScheduler(t, e, settings)
	const n = 100
	for i := range n {
		if _, err := sch.Enqueue(schedReq(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sch.Flush(); err != nil { // the plugin has them all now
		t.Fatal(err)
	}
	finished := map[string]bool{}
	for range 10 {
		r, err := sch.Next()
		if err != nil || r == nil {
			t.Fatalf("Next = %v, %v", r, err)
		}
		if err := sch.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
		finished[r.URL] = true
	}
	if err := sch.Flush(); err != nil { // acknowledgements reach the plugin
		t.Fatal(err)
	}
	if err := syscall.Kill(pluginPID(t, e.m, "sqlitequeue"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for err == nil && time.Now().Before(deadline) {
		var r *framework.Request
		if r, err = sch.Next(); err == nil && r != nil {
			err = sch.Finish(r, nil)
			if err == nil {
				err = sch.Flush()
			}
		}
	}
	var pe *PluginExitedError
	if !errors.As(err, &pe) || pe.Plugin != "sqlitequeue" {
		t.Fatalf("error after the kill = %v, want a PluginExitedError", err)
	}
	if cerr := sch.Close("shutdown"); !errors.Is(cerr, ErrPluginExited) {
		t.Fatalf("Close after the kill = %v", cerr)
	}

	e2 := newEnv(t, zerolog.Nop(), d)
	sch = openScheduler(t, e2, settings)
	defer sch.Close("finished")
	rest := drain(t, sch)
	seen := map[string]bool{}
	for _, r := range rest {
		if finished[r.URL] {
			t.Fatalf("%s was finished and came back", r.URL)
		}
		seen[r.URL] = true
	}
	for i := range n {
		if u := schedReq(i).URL; !finished[u] && !seen[u] {
			t.Fatalf("%s lost", u)
		}
	}
}
