package crawl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"file and overrides", Options{SettingsFile: "settings.yaml", Environ: []string{}, Set: []string{"JOBDIR=x", "LOG_LEVEL="}}, true},
		{"settings alone", Options{Settings: framework.NewSettings()}, true},
		{"settings and a file", Options{Settings: framework.NewSettings(), SettingsFile: "settings.yaml"}, false},
		{"settings and overrides", Options{Settings: framework.NewSettings(), Set: []string{"JOBDIR=x"}}, false},
		{"settings and environment", Options{Settings: framework.NewSettings(), Environ: os.Environ()}, false},
		{"override without =", Options{Set: []string{"JOBDIR"}}, false},
		{"override without name", Options{Set: []string{"=x"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.opts.Validate()
			if (err == nil) != c.ok || err != nil && !errors.Is(err, ErrOptions) {
				t.Fatalf("Validate() = %v, want ok %t", err, c.ok)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	quiet := zerolog.Nop()
	for _, c := range []struct {
		name string
		opts Options
		is   error
	}{
		{"invalid options", Options{Set: []string{"JOBDIR"}}, ErrOptions},
		{"missing settings file", Options{SettingsFile: filepath.Join(t.TempDir(), "none.yaml")}, os.ErrNotExist},
		{"bad log level", Options{Set: []string{"LOG_LEVEL=LOUD"}}, framework.ErrSetting},
		{"unknown scheduler", Options{Set: []string{"SCHEDULER=nope"}, Logger: &quiet}, registry.ErrUnknown},
		{"bad flush interval", Options{Set: []string{"JOBDIR=" + t.TempDir(), "JOBDIR_FLUSH_INTERVAL=-1s"}, Logger: &quiet}, framework.ErrSetting},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Open(context.Background(), c.opts)
			if err == nil {
				f.Close()
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("Open: %v, want %v", err, c.is)
			}
		})
	}
}

// sliceScheduler is a user scheduler with only the required methods: a
// stack, with a Flush that fails when told to.
type sliceScheduler struct {
	rs []*framework.Request
}

func (s *sliceScheduler) Enqueue(r *framework.Request) (bool, error) {
	s.rs = append(s.rs, r)
	return true, nil
}

func (s *sliceScheduler) Next() (*framework.Request, error) {
	if len(s.rs) == 0 {
		return nil, nil
	}
	r := s.rs[len(s.rs)-1]
	s.rs = s.rs[:len(s.rs)-1]
	return r, nil
}

func (s *sliceScheduler) HasPending() bool { return len(s.rs) > 0 }

// failingFlushScheduler is a sliceScheduler whose Flush fails.
type failingFlushScheduler struct {
	sliceScheduler
	flushes int
}

var errFlush = errors.New("flush failed")

func (s *failingFlushScheduler) Flush() error {
	s.flushes++
	return errFlush
}

// userRegistry returns the built-ins and the test schedulers.
func userRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	r := registry.New()
	if err := builtin.Register(r); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]func() framework.Scheduler{
		"test.Slice":        func() framework.Scheduler { return &sliceScheduler{} },
		"test.FailingFlush": func() framework.Scheduler { return &failingFlushScheduler{} },
	} {
		r.MustRegister(registry.Entry{Name: name, Factory: framework.SchedulerFactory(func(context.Context, *framework.Crawler) (framework.Scheduler, error) {
			return s(), nil
		})})
	}
	return r
}

func openUser(t *testing.T, set ...string) *Frontier {
	t.Helper()
	quiet := zerolog.Nop()
	f, err := Open(context.Background(), Options{Set: set, Registry: userRegistry(t), Logger: &quiet})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A scheduler with none of the optional interfaces works through the front door.
func TestFrontierMinimalScheduler(t *testing.T) {
	f := openUser(t, "SCHEDULER=test.Slice")
	for i := range 3 {
		if ok, err := f.Enqueue(framework.MustRequest(fmt.Sprintf("https://example.org/%d", i))); !ok || err != nil {
			t.Fatalf("Enqueue: %t %v", ok, err)
		}
	}
	if n := f.Len(); n != 1 {
		t.Fatalf("Len() = %d, want 1 (pending, not counted)", n)
	}
	r, err := f.Next()
	if err != nil || r == nil {
		t.Fatalf("Next: %v %v", r, err)
	}
	if err := f.Finish(r, nil); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if err := f.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if n := f.InFlight(); n != 0 {
		t.Fatalf("InFlight() = %d", n)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := f.Enqueue(r); !errors.Is(err, framework.ErrClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
	if _, err := f.Next(); !errors.Is(err, framework.ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if f.Len() != 0 || f.HasPending() {
		t.Fatal("requests pending after Close")
	}
}

// A background flush that fails is returned by the next call, once.
func TestFrontierBackgroundFlushError(t *testing.T) {
	f := openUser(t, "SCHEDULER=test.FailingFlush", "JOBDIR="+t.TempDir(), "JOBDIR_FLUSH_INTERVAL=5ms")
	defer f.Close()
	if _, err := f.Enqueue(framework.MustRequest("https://example.org/")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		failed := f.flushErr != nil
		f.mu.Unlock()
		if failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no background flush in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := f.Next(); !errors.Is(err, errFlush) {
		t.Fatalf("Next after a failed background flush: %v", err)
	}
	if r, err := f.Next(); err != nil || r == nil {
		t.Fatalf("second Next: %v %v", r, err)
	}
}

// Many goroutines use one Frontier; run with -race.
func TestFrontierConcurrent(t *testing.T) {
	quiet := zerolog.Nop()
	f, err := Open(context.Background(), Options{
		Set:    []string{"JOBDIR=" + filepath.Join(t.TempDir(), "job"), "JOBDIR_FLUSH_INTERVAL=1ms"},
		Logger: &quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, err := f.Enqueue(framework.MustRequest(fmt.Sprintf("https://example.org/%d/%d", w, i))); err != nil {
					t.Error(err)
					return
				}
				r, err := f.Next()
				if err != nil || r == nil {
					t.Errorf("Next: %v %v", r, err)
					return
				}
				if err := f.Finish(r, nil); err != nil {
					t.Error(err)
					return
				}
				f.Len()
			}
		})
	}
	wg.Wait()
	if got := f.Crawler().Stats.Get(framework.StatDequeued); got != workers*each {
		t.Fatalf("%s = %d, want %d", framework.StatDequeued, got, workers*each)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
