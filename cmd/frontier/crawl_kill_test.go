package main

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/internal/demosite"
)

// buildFrontier builds the command into a temporary directory, once per
// test, so that a test can kill it as a user would.
func buildFrontier(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the command in child processes")
	}
	bin := filepath.Join(t.TempDir(), "frontier")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// concurrency of the crawls killed below; the requests a kill can leave in
// flight are the engine's bound on requests between Next and Finish.
const killConcurrency = 16

// stopAndResume crawls a 3,000-page site with a job directory and an item
// feed, stopping the crawler with sig at random moments stops times, then
// runs the same command until it finishes. It returns the site.
func stopAndResume(t *testing.T, sig syscall.Signal, stops int, extra ...string) (*demosite.Site, string, string) {
	bin := buildFrontier(t)
	site := demosite.New(demosite.Test(3000))
	srv, err := site.Serve(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	items := filepath.Join(dir, "items.jsonl")
	args := []string{"crawl", "links", "-a", "start_urls=" + srv.URL() + "/",
		"-s", "JOBDIR=" + filepath.Join(dir, "job"), "-o", items,
		"-s", "CONCURRENT_REQUESTS=16", "-s", "DOWNLOAD_DELAY=0.001", "-s", "RANDOMIZE_DOWNLOAD_DELAY=false",
		"-s", "LOG_LEVEL=WARNING", "-s", "STATS_DUMP=false", "--log-format", "json"}
	args = append(args, extra...)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for run := 0; ; run++ {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Stderr = &testLog{t: t, prefix: "crawl: "}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if run < stops {
			select {
			case err := <-done:
				t.Fatalf("run %d ended before its stop: %v", run, err)
			case <-time.After(time.Duration(150+rng.IntN(500)) * time.Millisecond):
			}
			cmd.Process.Signal(sig)
			err := <-done
			if sig == syscall.SIGINT && err != nil {
				t.Fatalf("run %d: after SIGINT: %v (want exit 0)", run, err)
			}
			continue
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("last run: %v", err)
			}
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatal("last run did not finish")
		}
		return site, srv.URL(), items
	}
}

// testLog writes a child's stderr to the test log.
type testLog struct {
	t      *testing.T
	prefix string
}

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Log(l.prefix + string(p))
	return len(p), nil
}

// checkItems checks that the item file holds every page of the site
// exactly once.
func checkItems(t *testing.T, site *demosite.Site, base, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var it struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			t.Fatalf("item line %d: %v: %q", lines, err, sc.Text())
		}
		seen[it.URL]++
	}
	want := site.PageURLs(base)
	for _, u := range want {
		if seen[u] != 1 {
			t.Errorf("%s: %d items, want 1", u, seen[u])
		}
	}
	if lines != len(want) {
		t.Errorf("%d items, want %d", lines, len(want))
	}
}

// TestCrawlKilledAndResumed kills the crawler with SIGKILL at random
// moments and reruns the same command until it finishes: every page is
// fetched, the pages fetched again are at most those in flight at each
// kill, and the item file holds every page exactly once. Under
// JOBDIR_FSYNC=always a kill often lands between a flush's queue write and
// its fingerprints' (the fsync between them takes milliseconds).
func TestCrawlKilledAndResumed(t *testing.T) {
	for _, policy := range []string{"interval", "always"} {
		t.Run(policy, func(t *testing.T) {
			const kills = 4
			site, base, items := stopAndResume(t, syscall.SIGKILL, kills, "-s", "JOBDIR_FSYNC="+policy)
			if got, want := site.Unique(), int64(len(site.PageURLs(base))); got != want {
				t.Errorf("%d pages fetched, want %d", got, want)
			}
			bound := int64(kills * (2*killConcurrency + 64))
			t.Logf("%d kills: %d pages fetched again (bound %d)", kills, site.Duplicates(), bound)
			if d := site.Duplicates(); d > bound {
				t.Errorf("%d pages fetched again after %d kills, more than the %d that can be in flight", d, kills, bound)
			}
			checkItems(t, site, base, items)
		})
	}
}

// TestCrawlInterruptedAndResumed is the same with SIGINT, Ctrl-C: no page
// is fetched twice at all.
func TestCrawlInterruptedAndResumed(t *testing.T) {
	site, base, items := stopAndResume(t, syscall.SIGINT, 3)
	if got, want := site.Unique(), int64(len(site.PageURLs(base))); got != want {
		t.Errorf("%d pages fetched, want %d", got, want)
	}
	if d := site.Duplicates(); d != 0 {
		t.Errorf("%d pages fetched twice after Ctrl-C and resume, want 0", d)
	}
	checkItems(t, site, base, items)
}
