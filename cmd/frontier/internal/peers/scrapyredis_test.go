package peers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/internal/redistest"
)

// scrapyRedisSourceEnv names the environment variable that points the
// scrapy-redis test at a scrapy-redis checkout (or its src folder).
const scrapyRedisSourceEnv = "FRONTIER_SCRAPY_REDIS_SRC"

func TestParseScrapyRedisResult(t *testing.T) {
	out := "noise\n" + `{"scrapy_redis": "0.9.1", "requests": 2000, "workers": 2, "accepted": 2000, "dequeued": 2000, "enqueue_per_second": 1231.5, "dequeue_per_second": 2803.2, "bytes_per_request": 301.5, "bytes_per_fingerprint": 90.1, "per_worker_dequeued": [966, 1034]}` + "\n"
	r, err := parseScrapyRedisResult([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 2000 || r.Workers != 2 || r.EnqueuePerSecond != 1231.5 || r.BytesPerFingerprint != 90.1 || len(r.PerWorkerDequeued) != 2 {
		t.Fatalf("parsed %+v", r)
	}
	for _, bad := range []string{"", "Traceback (most recent call last):\n", `{"note": 1}`, `{"requests": "many"}`} {
		if _, err := parseScrapyRedisResult([]byte(bad)); !errors.Is(err, ErrNoResult) {
			t.Errorf("parse %q: err = %v, want ErrNoResult", bad, err)
		}
	}
}

// TestScrapyRedisMissing: each missing piece is named with how to get it.
func TestScrapyRedisMissing(t *testing.T) {
	empty := t.TempDir()
	if err := CheckScrapyRedis("/nonexistent/python3", empty); !errors.Is(err, ErrNoScrapy) {
		t.Errorf("missing python: err = %v, want ErrNoScrapy", err)
	}
	if !HaveScrapy(python) {
		t.Skipf("%s cannot import scrapy: apt-get install python3-scrapy", python)
	}
	err := CheckScrapyRedis(python, empty)
	if errors.Is(err, ErrNoPythonRedis) {
		if !strings.Contains(err.Error(), "python3-redis") {
			t.Errorf("error %q does not say how to install redis-py", err)
		}
		t.Skip("python3-redis is not installed")
	}
	if !errors.Is(err, ErrNoScrapyRedis) || !strings.Contains(err.Error(), "--scrapy-redis") || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty source folder: err = %v, want ErrNoScrapyRedis naming the folder and the flag", err)
	}
	if err := CheckScrapyRedis(python, ""); !errors.Is(err, ErrNoScrapyRedis) {
		t.Errorf("no source: err = %v, want ErrNoScrapyRedis", err)
	}
}

// TestScrapyRedisSourceLayouts accepts a checkout and its src folder.
func TestScrapyRedisSourceLayouts(t *testing.T) {
	root := t.TempDir()
	pkg := filepath.Join(root, "src", "scrapy_redis")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "scheduler.py"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root, filepath.Join(root, "src")} {
		got, err := scrapyRedisSource(dir)
		if err != nil || got != filepath.Join(root, "src") {
			t.Errorf("scrapyRedisSource(%s) = %s, %v; want %s", dir, got, err, filepath.Join(root, "src"))
		}
	}
}

// TestScrapyRedis runs the benchmark with 2 workers on a real redis-server:
// every request is delivered once, and the figures are plausible.
func TestScrapyRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("runs scrapy-redis: not with -short")
	}
	src := os.Getenv(scrapyRedisSourceEnv)
	if src == "" {
		t.Skipf("set %s to a scrapy-redis checkout to run scrapy-redis", scrapyRedisSourceEnv)
	}
	if err := CheckScrapyRedis(python, src); err != nil {
		t.Skip(err)
	}
	srv := redistest.Start(t)
	const n = 3000
	res, err := ScrapyRedis(context.Background(), ScrapyRedisOptions{Python: python, Source: src, RedisURL: srv.URL(), Workers: 2, Requests: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scrapy-redis %s, %d requests, %d workers: %.0f enqueues/s, %.0f dequeues/s, %.1f B per pending request, %.1f B per fingerprint (a loaded machine)",
		res.Version, res.Requests, res.Workers, res.EnqueuePerSecond, res.DequeuePerSecond, res.BytesPerRequest, res.BytesPerFingerprint)
	if res.Accepted != n || res.Dequeued != n || res.DeliveredTwice != 0 || res.NeverDelivered != 0 || res.Fingerprints != n {
		t.Errorf("result %+v: want %d accepted, dequeued and fingerprinted, each once", res, n)
	}
	if len(res.PerWorkerDequeued) != 2 || res.EnqueuePerSecond <= 0 || res.DequeuePerSecond <= 0 || res.BytesPerRequest <= 0 || res.BytesPerFingerprint <= 0 {
		t.Errorf("result %+v: missing figures", res)
	}
}
