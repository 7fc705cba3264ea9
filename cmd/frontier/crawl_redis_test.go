package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/frontier-go/frontier/internal/demosite"
	"github.com/frontier-go/frontier/internal/redistest"
)

// TestCrawlWorkersShareRedis runs three `frontier crawl` processes on one
// crawl through a real redis-server, against a real demo site, and kills
// one of them with SIGKILL mid-crawl: every page is fetched, a page is
// fetched twice only when the killed worker held it, the items of the
// workers together hold every page, and the survivors close by themselves
// once the shared frontier has drained (SCHEDULER_IDLE_BEFORE_CLOSE).
func TestCrawlWorkersShareRedis(t *testing.T) {
	bin := buildFrontier(t)
	rds := redistest.Start(t)
	site := demosite.New(demosite.Test(3000))
	srv, err := site.Serve(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	const workers, concurrency, prefetch = 3, 8, 8
	cmds := make([]*exec.Cmd, workers)
	done := make([]chan error, workers)
	items := make([]string, workers)
	for w := range workers {
		items[w] = filepath.Join(dir, fmt.Sprintf("items-%d.jsonl", w))
		cmd := exec.Command(bin, "crawl", "links", "-a", "start_urls="+srv.URL()+"/", "-o", items[w],
			"-s", "SCHEDULER=frontier.redis.Scheduler", "-s", "REDIS_URL="+rds.URL(),
			"-s", "SCHEDULER_PERSIST=true", "-s", "SCHEDULER_IDLE_BEFORE_CLOSE=1", "-s", "REDIS_VISIBILITY_TIMEOUT=2",
			"-s", fmt.Sprintf("REDIS_PREFETCH=%d", prefetch), "-s", fmt.Sprintf("CONCURRENT_REQUESTS=%d", concurrency),
			"-s", "DOWNLOAD_DELAY=0", "-s", "LOG_LEVEL=WARNING", "-s", "STATS_DUMP=false", "--log-format", "json")
		cmd.Dir = dir
		cmd.Stderr = &testLog{t: t, prefix: fmt.Sprintf("worker %d: ", w)}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[w], done[w] = cmd, make(chan error, 1)
		go func(w int) { done[w] <- cmds[w].Wait() }(w)
	}
	t.Cleanup(func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
		}
	})
	// Kill worker 0 once the crawl is under way.
	for deadline := time.Now().Add(time.Minute); site.Unique() < 300; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d pages fetched after a minute", site.Unique())
		}
	}
	if err := cmds[0].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done[0]
	for w := 1; w < workers; w++ {
		select {
		case err := <-done[w]:
			if err != nil {
				t.Fatalf("worker %d: %v", w, err)
			}
		case <-time.After(3 * time.Minute):
			t.Fatalf("worker %d did not close by itself after the crawl drained (%d of %d pages fetched)", w, site.Unique(), len(site.PageURLs(srv.URL())))
		}
	}
	want := site.PageURLs(srv.URL())
	if got := site.Unique(); got != int64(len(want)) {
		t.Errorf("%d pages fetched, want %d", got, len(want))
	}
	// The killed worker held at most its prefetch and its concurrency.
	bound := int64(prefetch + concurrency)
	t.Logf("%d pages, %d fetched twice (the killed worker's leases; bound %d)", len(want), site.Duplicates(), bound)
	if d := site.Duplicates(); d > bound {
		t.Errorf("%d pages fetched twice, more than the killed worker's %d leases", d, bound)
	}
	seen := map[string]int{}
	lines := 0
	for w, path := range items {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var it struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
				if w == 0 {
					continue // the killed worker's last line may be cut
				}
				t.Fatalf("%s: %v", path, err)
			}
			seen[it.URL]++
			lines++
		}
		f.Close()
	}
	for _, u := range want {
		if seen[u] == 0 {
			t.Errorf("%s: no item from any worker", u)
		}
	}
	if extra := int64(lines - len(want)); extra > bound {
		t.Errorf("%d items more than pages, more than the killed worker's %d leases", extra, bound)
	}
}
