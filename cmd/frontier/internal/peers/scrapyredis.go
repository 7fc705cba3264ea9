package peers

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

//go:embed scrapyredis_bench.py
var scrapyRedisScript []byte

// ScrapyRedisOptions configures a scrapy-redis scheduler benchmark.
type ScrapyRedisOptions struct {
	// Python runs the benchmark; it needs Scrapy and redis-py (on Debian,
	// /usr/bin/python3 with python3-scrapy and python3-redis).
	Python string
	// Source is a scrapy-redis checkout (the folder holding src/scrapy_redis)
	// or its src folder (the --scrapy-redis flag).
	Source string
	// RedisURL is the Redis the benchmark runs against (redis://host:port/db).
	// It uses keys of its own and deletes them at the end.
	RedisURL string
	// Workers is the number of worker processes sharing the crawl; zero means 1.
	Workers int
	// Requests is the number of requests, split evenly over the workers; zero
	// means 100,000.
	Requests int
	// Queue is "priority" (scrapy-redis's default), "fifo" or "lifo"; empty
	// means "priority".
	Queue string
	// Log receives the benchmark's stderr as it runs; nil discards it (its
	// end is quoted in an error).
	Log io.Writer
}

// ScrapyRedisResult is what a scrapy-redis scheduler benchmark measured.
type ScrapyRedisResult struct {
	Version  string `json:"scrapy_redis"`
	RedisPy  string `json:"redis_py"`
	Requests int    `json:"requests"`
	Workers  int    `json:"workers"`
	Queue    string `json:"queue"`
	Accepted int    `json:"accepted"`
	Dequeued int    `json:"dequeued"`
	// EnqueueSeconds and DequeueSeconds run from the first worker's start of
	// the phase to the last worker's end.
	EnqueueSeconds   float64 `json:"enqueue_seconds"`
	DequeueSeconds   float64 `json:"dequeue_seconds"`
	EnqueuePerSecond float64 `json:"enqueue_per_second"`
	DequeuePerSecond float64 `json:"dequeue_per_second"`
	// BytesPerRequest is Redis memory per pending request, BytesPerFingerprint
	// per fingerprint in the dupefilter's set (INFO used_memory differences).
	BytesPerRequest     float64 `json:"bytes_per_request"`
	BytesPerFingerprint float64 `json:"bytes_per_fingerprint"`
	Fingerprints        int     `json:"fingerprints"`
	// DeliveredTwice and NeverDelivered count requests dequeued more than
	// once, or never.
	DeliveredTwice    int   `json:"delivered_twice"`
	NeverDelivered    int   `json:"never_delivered"`
	PerWorkerDequeued []int `json:"per_worker_dequeued"`
}

// scrapyRedisSource returns the folder to put on PYTHONPATH for the
// scrapy-redis checkout or src folder dir.
func scrapyRedisSource(dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("%w: no source given: pass --scrapy-redis DIR, a checkout of github.com/rmax/scrapy-redis (or its src folder)", ErrNoScrapyRedis)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("peers: scrapy-redis source %s: %w", dir, err)
	}
	for _, src := range []string{filepath.Join(abs, "src"), abs} {
		if st, err := os.Stat(filepath.Join(src, "scrapy_redis", "scheduler.py")); err == nil && !st.IsDir() {
			return src, nil
		}
	}
	return "", fmt.Errorf("%w: neither %s nor %s holds scrapy_redis/scheduler.py: pass --scrapy-redis DIR, a checkout of github.com/rmax/scrapy-redis (or its src folder)",
		ErrNoScrapyRedis, filepath.Join(abs, "src"), abs)
}

// CheckScrapyRedis reports what is missing to run the scrapy-redis
// benchmark with python and the scrapy-redis source at dir: the
// interpreter, Scrapy, redis-py or the source, each with how to get it.
func CheckScrapyRedis(python, dir string) error {
	if python == "" {
		return fmt.Errorf("%w: no python given", ErrNoScrapy)
	}
	if _, err := exec.LookPath(python); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNoScrapy, python, err)
	}
	if !HaveScrapy(python) {
		return fmt.Errorf("%w: %s cannot import scrapy (on Debian: apt-get install python3-scrapy)", ErrNoScrapy, python)
	}
	if exec.Command(python, "-c", "import redis").Run() != nil {
		return fmt.Errorf("%w: %s cannot import redis (on Debian: apt-get install python3-redis)", ErrNoPythonRedis, python)
	}
	_, err := scrapyRedisSource(dir)
	return err
}

// ScrapyRedis runs scrapy-redis's scheduler (scrapy_redis.scheduler.Scheduler
// with its RFPDupeFilter) against the Redis at opts.RedisURL with
// opts.Workers processes sharing one crawl of opts.Requests requests over
// 1000 hosts and 10 priorities: all enqueue, then all dequeue until the
// shared queue is empty. It returns the aggregate rates, Redis memory per
// pending request and per fingerprint, and the delivery counts. The
// benchmark script is embedded here; scrapy-redis itself is the user's
// checkout.
//
// When ctx ends the benchmark gets SIGINT, and SIGKILL 10 seconds later.
func ScrapyRedis(ctx context.Context, opts ScrapyRedisOptions) (ScrapyRedisResult, error) {
	if err := CheckScrapyRedis(opts.Python, opts.Source); err != nil {
		return ScrapyRedisResult{}, err
	}
	src, _ := scrapyRedisSource(opts.Source)
	if !strings.HasPrefix(opts.RedisURL, "redis://") && !strings.HasPrefix(opts.RedisURL, "rediss://") && !strings.HasPrefix(opts.RedisURL, "unix://") {
		return ScrapyRedisResult{}, fmt.Errorf("peers: Redis URL %q: want redis://host:port/db", opts.RedisURL)
	}
	workers, requests, queue := max(opts.Workers, 1), opts.Requests, opts.Queue
	if requests <= 0 {
		requests = 100_000
	}
	if queue == "" {
		queue = "priority"
	}
	dir, err := os.MkdirTemp("", "frontier-scrapy-redis-")
	if err != nil {
		return ScrapyRedisResult{}, fmt.Errorf("peers: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "scrapyredis_bench.py")
	if err := os.WriteFile(script, scrapyRedisScript, 0o644); err != nil {
		return ScrapyRedisResult{}, fmt.Errorf("peers: %w", err)
	}
	cmd := exec.CommandContext(ctx, opts.Python, script, "--url", opts.RedisURL,
		"--n", strconv.Itoa(requests), "--workers", strconv.Itoa(workers), "--queue", queue)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYTHONPATH="+src, "PYTHONHASHSEED=0")
	stdout, stderr, err := run(cmd, opts.Log, stderrTail)
	if ctx.Err() != nil {
		return ScrapyRedisResult{}, ctx.Err()
	}
	if err != nil {
		return ScrapyRedisResult{}, runError("scrapy-redis benchmark", err, stderr)
	}
	res, err := parseScrapyRedisResult(stdout)
	if err != nil {
		return ScrapyRedisResult{}, runError("scrapy-redis benchmark", err, stderr)
	}
	return res, nil
}

// parseScrapyRedisResult reads the benchmark's last JSON line.
func parseScrapyRedisResult(stdout []byte) (ScrapyRedisResult, error) {
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r ScrapyRedisResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return ScrapyRedisResult{}, fmt.Errorf("%w: %q: %v", ErrNoResult, line, err)
		}
		if r.Requests == 0 {
			continue
		}
		return r, nil
	}
	return ScrapyRedisResult{}, fmt.Errorf("%w in %d bytes of output", ErrNoResult, len(stdout))
}
