package crawl

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/schedulers"
	"github.com/frontier-go/frontier/framework"
)

// The durability tests: a child process (this test binary, re-executed)
// enqueues requests into a job directory, says "ready", then sleeps without
// calling anything; the parent waits more than the flush interval, kills it
// with SIGKILL and reopens the job. They check what README.md and
// docs/jobdir.md say a stop without Flush or Close keeps.

const (
	durabilityEnvDir  = "FRONTIER_DURABILITY_CHILD"
	durabilityEnvMode = "FRONTIER_DURABILITY_MODE"

	durabilityRequests = 10
	durabilityInterval = 100 * time.Millisecond
	// durabilityMargin is how long past the interval the parent waits
	// before the kill: time for a loaded machine to run the child's ticker.
	durabilityMargin = 400 * time.Millisecond
)

// durabilityModes are what the child does after its enqueues, and what a
// resume finds of them.
var durabilityModes = []struct {
	mode string
	// all: every request is in the job; otherwise the last one enqueued is
	// not (nothing flushed it).
	all bool
	// redelivered is how many come back marked Redelivered.
	redelivered int
}{
	// Through Frontier, which flushes in the background; the child also
	// takes one request out (Next) and does not finish it.
	{"frontier", true, 1},
	// The scheduler used directly and left idle: nothing flushes.
	{"scheduler-idle", false, 0},
	// The scheduler used directly, then Flush.
	{"scheduler-flush", true, 0},
	// The scheduler used directly, then, after the flush interval, a call
	// (Next: it flushes first, then takes a request out, whose delivery
	// nothing flushes).
	{"scheduler-call", true, 0},
}

func durabilitySettings(dir string) []string {
	return []string{
		"JOBDIR=" + dir,
		"JOBDIR_FLUSH_INTERVAL=" + durabilityInterval.String(),
		"LOG_LEVEL=WARNING",
	}
}

func durabilityURL(i int) string { return fmt.Sprintf("https://durable.example/%d", i) }

// TestDurabilityChild is the child; it runs only when the parent sets
// FRONTIER_DURABILITY_CHILD.
func TestDurabilityChild(t *testing.T) {
	dir := os.Getenv(durabilityEnvDir)
	if dir == "" {
		t.Skip("durability child")
	}
	if err := durabilityChild(dir, os.Getenv(durabilityEnvMode)); err != nil {
		fmt.Println("ERR", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute) // killed long before
	os.Exit(4)
}

// durabilityChild enqueues the requests and does what mode says.
func durabilityChild(dir, mode string) error {
	ctx := context.Background()
	opts := Options{Set: durabilitySettings(dir)}
	var enqueue func(*framework.Request) (bool, error)
	var s *schedulers.Scheduler
	if mode == "frontier" {
		f, err := Open(ctx, opts)
		if err != nil {
			return err
		}
		enqueue = f.Enqueue
		defer func() {
			if _, err := f.Next(); err != nil {
				fmt.Println("ERR", err)
			}
		}()
	} else {
		c, _, err := opts.crawler()
		if err != nil {
			return err
		}
		if s, err = schedulers.New(ctx, c); err != nil {
			return err
		}
		if err := s.Open(ctx); err != nil {
			return err
		}
		enqueue = s.Enqueue
	}
	for i := range durabilityRequests {
		if ok, err := enqueue(framework.MustRequest(durabilityURL(i))); !ok || err != nil {
			return fmt.Errorf("enqueue %d: %v %v", i, ok, err)
		}
	}
	switch mode {
	case "scheduler-flush":
		return s.Flush()
	case "scheduler-call":
		time.Sleep(2 * durabilityInterval)
		_, err := s.Next()
		return err
	}
	return nil
}

// TestDurabilityWithoutClose kills a child that enqueued requests and then
// did nothing, and checks what the job directory kept.
func TestDurabilityWithoutClose(t *testing.T) {
	if testing.Short() {
		t.Skip("durability: -short")
	}
	for _, m := range durabilityModes {
		t.Run(m.mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "job")
			killChild(t, dir, m.mode)
			got, redelivered := resumeURLs(t, dir)
			last := durabilityURL(durabilityRequests - 1)
			switch {
			case m.all && len(got) != durabilityRequests:
				t.Fatalf("after SIGKILL the job holds %d of %d requests: %q", len(got), durabilityRequests, got)
			case !m.all && slices.Contains(got, last):
				t.Fatalf("after SIGKILL the job holds %s, which nothing flushed: %q", last, got)
			case redelivered != m.redelivered:
				t.Fatalf("%d requests redelivered, want %d", redelivered, m.redelivered)
			}
		})
	}
}

// killChild runs the child in mode on dir, waits until it is ready and a
// flush interval and a margin more, and kills it with SIGKILL.
func killChild(t *testing.T, dir, mode string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityChild$")
	cmd.Env = append(os.Environ(), durabilityEnvDir+"="+dir, durabilityEnvMode+"="+mode)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l := sc.Text(); l == "ready" || len(l) > 3 && l[:4] == "ERR " {
				ready <- l
				return
			}
		}
		ready <- "exited"
	}()
	select {
	case l := <-ready:
		if l != "ready" {
			cmd.Process.Kill()
			t.Fatalf("child: %s", l)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child not ready after 30s")
	}
	time.Sleep(durabilityInterval + durabilityMargin)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// resumeURLs reopens the job in dir and returns the URLs it hands out and
// how many of them are marked Redelivered.
func resumeURLs(t *testing.T, dir string) (urls []string, redelivered int) {
	t.Helper()
	f, err := Open(context.Background(), Options{Set: durabilitySettings(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for {
		r, err := f.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			return urls, redelivered
		}
		if r.Redelivered {
			redelivered++
		}
		urls = append(urls, r.URL)
		if err := f.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
}
