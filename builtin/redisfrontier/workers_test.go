package redisfrontier_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/redistest"
)

// The worker processes of these tests are this test binary re-executed
// with TestWorkerProcess selected and its settings in the environment.
const (
	envURL  = "REDISFRONTIER_TEST_WORKER_URL"
	envMode = "REDISFRONTIER_TEST_WORKER_MODE" // "drain" or "hold"
)

const (
	seedHosts   = 30
	seedPerHost = 20
)

// seedURL and childURL are the crawl of these tests: each seed's callback
// yields one child.
func seedURL(h, i int) string  { return fmt.Sprintf("http://h%d/seed/%d", h, i) }
func childURL(h, i int) string { return fmt.Sprintf("http://h%d/child/%d", h, i) }

func workerSettings(url string) map[string]any {
	return map[string]any{
		"REDIS_URL": url, "REDIS_VISIBILITY_TIMEOUT": 2, "REDIS_PREFETCH": 4,
		"REDIS_PARAMS": map[string]any{"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
	}
}

// TestWorkerProcess is a worker when run by the tests below: in drain mode
// it takes requests until the crawl has none, printing "GOT url
// redelivered" for each, and enqueues a seed's child before finishing it;
// in hold mode it takes 20 requests, prints them and waits to be killed.
func TestWorkerProcess(t *testing.T) {
	url := os.Getenv(envURL)
	if url == "" {
		t.Skip("run as a worker process by the multi-worker tests")
	}
	c := newCrawlerURL(t, url, workerSettings(url))
	s := openScheduler(t, c)
	out := bufio.NewWriter(os.Stdout)
	hold := os.Getenv(envMode) == "hold"
	taken := 0
	for {
		r, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			if !hold && !s.HasPending() {
				break
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		fmt.Fprintf(out, "GOT %s %v\n", r.URL, r.Redelivered)
		taken++
		if hold {
			if taken == 20 {
				out.Flush()
				select {} // until SIGKILL
			}
			continue
		}
		if strings.Contains(r.URL, "/seed/") {
			child, _ := framework.NewRequest(strings.Replace(r.URL, "/seed/", "/child/", 1))
			if _, err := s.Enqueue(child); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	out.Flush()
}

// newCrawlerURL is newCrawler for a Redis given by URL.
func newCrawlerURL(t testing.TB, url string, overrides map[string]any) *framework.Crawler {
	return newCrawler(t, urlOnly(url), overrides)
}

type urlOnly string

func (u urlOnly) URL() string { return string(u) }

type worker struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

func startWorker(t *testing.T, url, mode string) *worker {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envURL+"="+url, envMode+"="+mode)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &worker{cmd: cmd, lines: make(chan string, 100000), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "GOT ") {
				w.lines <- sc.Text()
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return w
}

// wait waits for the worker to exit and returns its lines.
func (w *worker) wait(t *testing.T) []string {
	t.Helper()
	<-w.done
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("worker: %v", err)
	}
	close(w.lines)
	var out []string
	for l := range w.lines {
		out = append(out, l)
	}
	return out
}

func seed(t *testing.T, url string) {
	t.Helper()
	s := openScheduler(t, newCrawlerURL(t, url, workerSettings(url)))
	var rs []*framework.Request
	for h := range seedHosts {
		for i := range seedPerHost {
			rs = append(rs, req(t, seedURL(h, i), 0))
		}
	}
	if err := s.EnqueueBatch(rs, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close("finished"); err != nil {
		t.Fatal(err)
	}
}

// deliveries counts the deliveries of each URL and the redelivered ones.
func deliveries(lines []string) (count map[string]int, redelivered map[string]bool) {
	count, redelivered = map[string]int{}, map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		count[f[1]]++
		if f[2] == "true" {
			redelivered[f[1]] = true
		}
	}
	return count, redelivered
}

func checkAllDelivered(t *testing.T, count map[string]int) {
	t.Helper()
	for h := range seedHosts {
		for i := range seedPerHost {
			for _, u := range []string{seedURL(h, i), childURL(h, i)} {
				if count[u] == 0 {
					t.Fatalf("%s never delivered", u)
				}
			}
		}
	}
}

func runDrainWorkers(t *testing.T, url string, n int, during func()) []string {
	t.Helper()
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = startWorker(t, url, "drain")
	}
	if during != nil {
		during()
	}
	var mu sync.Mutex
	var all []string
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lines := w.wait(t)
			mu.Lock()
			all = append(all, lines...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}

func TestWorkersShareOneCrawlExactlyOnce(t *testing.T) {
	srv := redistest.Start(t)
	seed(t, srv.URL())
	count, _ := deliveries(runDrainWorkers(t, srv.URL(), 3, nil))
	checkAllDelivered(t, count)
	for u, n := range count {
		if n != 1 {
			t.Fatalf("%s delivered %d times, want once (no lease expired)", u, n)
		}
	}
}

func TestKilledWorkerLosesNothing(t *testing.T) {
	srv := redistest.Start(t)
	seed(t, srv.URL())
	h := startWorker(t, srv.URL(), "hold")
	held := map[string]bool{}
	for len(held) < 20 {
		l := <-h.lines
		held[strings.Fields(l)[1]] = true
	}
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	count, redelivered := deliveries(runDrainWorkers(t, srv.URL(), 3, nil))
	checkAllDelivered(t, count)
	for u, n := range count {
		if n != 1 {
			t.Fatalf("%s delivered %d times by the live workers, want once", u, n)
		}
		if redelivered[u] != held[u] {
			t.Fatalf("%s redelivered = %v, held by the killed worker = %v: redelivery must be limited to its leases", u, redelivered[u], held[u])
		}
	}
}

func TestWorkersSurviveRedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	seed(t, srv.URL())
	count, _ := deliveries(runDrainWorkers(t, srv.URL(), 2, func() {
		time.Sleep(300 * time.Millisecond)
		srv.Kill()
		time.Sleep(700 * time.Millisecond)
		srv.Restart()
	}))
	checkAllDelivered(t, count)
}

func TestWorkerSurvivesRedisPause(t *testing.T) {
	srv := redistest.Start(t)
	seed(t, srv.URL())
	pid := redisPid(t, srv)
	count, _ := deliveries(runDrainWorkers(t, srv.URL(), 2, func() {
		time.Sleep(200 * time.Millisecond)
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}))
	checkAllDelivered(t, count)
}

func TestAcknowledgedSurvivesRedisKill(t *testing.T) {
	srv := redistest.Start(t)
	s := openScheduler(t, newCrawler(t, srv, workerSettings(srv.URL())))
	for i := range 10 {
		enqueue(t, s, req(t, urlf("a", "p", i), 0))
	}
	var first []*framework.Request
	for range 4 {
		r, err := s.Next()
		if err != nil || r == nil {
			t.Fatal(r, err)
		}
		first = append(first, r)
	}
	for _, r := range first[:2] {
		if err := s.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv.Kill()
	srv.Restart()
	c, err := s.Store().Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Pending != 6 || c.Leased != 2 {
		t.Fatalf("after kill and restart %+v, want 6 pending and 2 leased", c)
	}
	if ok := enqueue(t, s, req(t, urlf("a", "p", 0), 0)); ok[0] {
		t.Fatal("a fingerprint was lost by the restart")
	}
}

func redisPid(t *testing.T, srv *redistest.Server) int {
	t.Helper()
	info, err := client(t, srv).Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatal("no process_id in INFO server")
	return 0
}
