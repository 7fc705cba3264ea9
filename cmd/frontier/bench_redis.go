package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/cmd/frontier/internal/peers"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/redisbloom"
)

// envBenchWorker holds a bench worker's job when bench scheduler runs
// itself as one of --workers processes.
const envBenchWorker = "FRONTIER_BENCH_REDIS_WORKER"

// redisBenchJob is what one worker process does.
type redisBenchJob struct {
	Phase   string `json:"phase"` // "enqueue" or "dequeue"
	Worker  int    `json:"worker"`
	Workers int    `json:"workers"`
	URL     string `json:"url"`
	N       int    `json:"n"`
	Hosts   int    `json:"hosts"`
	Prios   int    `json:"prios"`
	Batch   int    `json:"batch"`
	Conns   int    `json:"conns"`
}

// redisBenchDone is a worker's report.
type redisBenchDone struct {
	Start, End int64 // unix nanoseconds of the timed work
	Ops        int
}

// redisBenchResult is bench scheduler's figures on Redis.
type redisBenchResult struct {
	N                   int                      `json:"n"`
	Hosts               int                      `json:"hosts"`
	Priorities          int                      `json:"priorities"`
	Workers             int                      `json:"workers"`
	Batch               int                      `json:"batch"`
	Conns               int                      `json:"conns_per_worker"`
	Accepted            int                      `json:"accepted"`
	Dequeued            int                      `json:"dequeued"`
	EnqueueSeconds      float64                  `json:"enqueue_seconds"`
	DequeueSeconds      float64                  `json:"dequeue_seconds"`
	EnqueuePerS         float64                  `json:"enqueue_per_s"`
	DequeuePerS         float64                  `json:"dequeue_per_s"`
	RoundTripPerS       float64                  `json:"round_trip_per_s"`
	ServerEnqueueMicros float64                  `json:"redis_cpu_us_per_enqueue"`
	ServerDequeueMicros float64                  `json:"redis_cpu_us_per_dequeue"`
	RecordBytes         float64                  `json:"record_bytes_avg"`
	UsedMemoryPerReq    float64                  `json:"used_memory_per_request"`
	QueueBytesPerReq    float64                  `json:"queue_bytes_per_pending"`
	ExactBytesPerFP     float64                  `json:"exact_bytes_per_fingerprint"`
	BloomBytesPerFP     float64                  `json:"bloom_bytes_per_fingerprint"`
	BloomFalsePositives float64                  `json:"bloom_false_positive_rate"`
	BloomSeconds        float64                  `json:"bloom_add_seconds"`
	ScrapyRedis         *peers.ScrapyRedisResult `json:"scrapy_redis,omitempty"`
}

// wantsRedisBench reports whether bench scheduler measures the Redis
// scheduler: --redis, or SCHEDULER naming it.
func wantsRedisBench(e *env, f benchFlags) bool {
	if f.redis != "" {
		return true
	}
	s, _ := e.settings.GetString("SCHEDULER")
	return s == "frontier.redis.Scheduler" || s == "scrapy_redis.scheduler.Scheduler"
}

// benchRedis runs the Redis variant of bench scheduler.
func benchRedis(ctx context.Context, e *env, f benchFlags, batchSet bool) error {
	if f.workers < 1 || f.conns < 1 {
		return usageErrorf("--workers and --conns must be at least 1")
	}
	if !batchSet {
		f.batch = 100
	}
	url := f.redis
	if url == "" {
		url, _ = e.settings.GetString("REDIS_URL")
	}
	if url == "" {
		u, stop, err := startBenchRedis()
		if err != nil {
			return err
		}
		defer stop()
		url = u
		fmt.Fprintf(e.stderr, "started redis-server on %s (no --redis or REDIS_URL)\n", url)
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return fmt.Errorf("bench: Redis URL %q: %w", url, err)
	}
	client := redis.NewClient(opt)
	defer client.Close()
	store, err := benchStore(ctx, client, f.n)
	if err != nil {
		return err
	}
	if err := store.Clear(ctx, true); err != nil {
		return err
	}
	if store, err = benchStore(ctx, client, f.n); err != nil {
		return err
	}
	res := redisBenchResult{N: f.n, Hosts: f.hosts, Priorities: f.prios, Workers: f.workers, Batch: f.batch, Conns: f.conns}
	rs := benchRequests(f.n, 0, f.hosts, f.prios)
	var recBytes int
	for _, r := range rs {
		rec, err := framework.EncodeRequest(r, nil)
		if err != nil {
			return err
		}
		recBytes += len(rec)
	}
	res.RecordBytes = float64(recBytes) / float64(f.n)
	mem0, err := usedMemory(ctx, client)
	if err != nil {
		return err
	}
	job := redisBenchJob{Workers: f.workers, URL: url, N: f.n, Hosts: f.hosts, Prios: f.prios, Batch: f.batch, Conns: f.conns}
	job.Phase = "enqueue"
	cpu0, err := redisfrontier.ServerCPU(ctx, client)
	if err != nil {
		return err
	}
	enq, err := runBenchWorkers(ctx, job)
	if err != nil {
		return err
	}
	cpu1, err := redisfrontier.ServerCPU(ctx, client)
	if err != nil {
		return err
	}
	mem1, err := usedMemory(ctx, client)
	if err != nil {
		return err
	}
	c, err := store.Counts(ctx)
	if err != nil {
		return err
	}
	res.Accepted = int(c.Pending)
	res.UsedMemoryPerReq = float64(mem1-mem0) / float64(f.n)
	_, qBytes, err := prefixMemory(ctx, client, store.Config().QueueKey)
	if err != nil {
		return err
	}
	_, dBytes, err := prefixMemory(ctx, client, store.Config().DupeKey)
	if err != nil {
		return err
	}
	fps, err := store.FingerprintCount(ctx)
	if err != nil {
		return err
	}
	res.QueueBytesPerReq = float64(qBytes) / float64(max(c.Pending, 1))
	res.ExactBytesPerFP = float64(dBytes) / float64(max(fps, 1))
	job.Phase = "dequeue"
	cpu2, err := redisfrontier.ServerCPU(ctx, client)
	if err != nil {
		return err
	}
	deq, err := runBenchWorkers(ctx, job)
	if err != nil {
		return err
	}
	cpu3, err := redisfrontier.ServerCPU(ctx, client)
	if err != nil {
		return err
	}
	res.EnqueueSeconds, res.Dequeued = enq.seconds(), 0
	res.DequeueSeconds = deq.seconds()
	for _, d := range deq {
		res.Dequeued += d.Ops
	}
	res.EnqueuePerS = float64(f.n) / res.EnqueueSeconds
	res.DequeuePerS = float64(res.Dequeued) / res.DequeueSeconds
	res.RoundTripPerS = float64(f.n) / (res.EnqueueSeconds + res.DequeueSeconds)
	res.ServerEnqueueMicros = (cpu1 - cpu0).Seconds() * 1e6 / float64(f.n)
	res.ServerDequeueMicros = (cpu3 - cpu2).Seconds() * 1e6 / float64(max(res.Dequeued, 1))
	fp, err := benchFingerprinter(ctx, e)
	if err != nil {
		return err
	}
	if err := benchBloom(ctx, fp, client, store.Config().DupeKey, rs, &res); err != nil {
		return err
	}
	if err := store.Clear(ctx, true); err != nil {
		return err
	}
	if f.scrapyRedis != "" {
		sr, err := peers.ScrapyRedis(ctx, peers.ScrapyRedisOptions{Python: f.scrapyRedis, Source: f.scrapyRedisSrc,
			RedisURL: url, Workers: f.workers, Requests: f.n, Log: nil})
		if err != nil {
			return err
		}
		res.ScrapyRedis = &sr
	}
	if f.asJSON {
		return json.NewEncoder(e.stdout).Encode(res)
	}
	printRedisBench(e, res)
	return nil
}

func printRedisBench(e *env, r redisBenchResult) {
	w := e.stdout
	fmt.Fprintf(w, "scheduler (Redis) n=%d hosts=%d priorities=%d workers=%d batch=%d conns/worker=%d\n", r.N, r.Hosts, r.Priorities, r.Workers, r.Batch, r.Conns)
	fmt.Fprintf(w, "  enqueue: %d requests in %.3fs = %.0f/s aggregate (%d accepted)\n", r.N, r.EnqueueSeconds, r.EnqueuePerS, r.Accepted)
	fmt.Fprintf(w, "  dequeue: %d in %.3fs = %.0f/s aggregate (each acknowledged)\n", r.Dequeued, r.DequeueSeconds, r.DequeuePerS)
	fmt.Fprintf(w, "  round trip: %.0f requests/s aggregate\n", r.RoundTripPerS)
	fmt.Fprintf(w, "  Redis CPU time (INFO cpu): %.2f µs per enqueue, %.2f µs per dequeue with its acknowledgement\n", r.ServerEnqueueMicros, r.ServerDequeueMicros)
	fmt.Fprintf(w, "  Redis memory: %.1f bytes per pending request in the queue keys (MEMORY USAGE; encoded record %.1f bytes, so +%.1f); %.1f bytes per request in INFO used_memory (queue and fingerprint)\n",
		r.QueueBytesPerReq, r.RecordBytes, r.QueueBytesPerReq-r.RecordBytes, r.UsedMemoryPerReq)
	fmt.Fprintf(w, "  fingerprints: %.1f bytes each in the exact set; %.2f bytes each in a Bloom filter at 1%% (false-positive rate measured %.4f on %d new keys, filled in %.2fs)\n",
		r.ExactBytesPerFP, r.BloomBytesPerFP, r.BloomFalsePositives, r.N, r.BloomSeconds)
	if sr := r.ScrapyRedis; sr != nil {
		fmt.Fprintf(w, "  scrapy-redis %s (redis-py %s), same run, %d workers: enqueue %.0f/s, dequeue %.0f/s, %.0f bytes per pending request, %.0f per fingerprint\n",
			sr.Version, sr.RedisPy, sr.Workers, sr.EnqueuePerSecond, sr.DequeuePerSecond, sr.BytesPerRequest, sr.BytesPerFingerprint)
		rt := float64(sr.Requests) / (sr.EnqueueSeconds + sr.DequeueSeconds)
		fmt.Fprintf(w, "  ratios: enqueue %.1fx, dequeue %.1fx, round trip %.1fx; memory per pending %.2fx, per fingerprint %.2fx (exact) of scrapy-redis's\n",
			r.EnqueuePerS/sr.EnqueuePerSecond, r.DequeuePerS/sr.DequeuePerSecond, r.RoundTripPerS/rt,
			r.QueueBytesPerReq/sr.BytesPerRequest, r.ExactBytesPerFP/sr.BytesPerFingerprint)
	}
}

// benchStore opens the bench's crawl, "bench" under its hash tag.
func benchStore(ctx context.Context, client redis.UniversalClient, n int) (*redisfrontier.Store, error) {
	return redisfrontier.OpenStore(ctx, client, redisfrontier.StoreConfig{
		QueueKey: "{frontier-bench}:requests", DupeKey: "{frontier-bench}:dupefilter", Capacity: n,
	}, zerolog.Nop())
}

// benchBloom adds the requests' fingerprints to a Bloom filter at 1%,
// then probes as many others, and measures its bytes per fingerprint.
func benchBloom(ctx context.Context, fp framework.Fingerprinter, client redis.UniversalClient, dupeKey string, rs []*framework.Request, res *redisBenchResult) error {
	f, err := redisbloom.New(client, redisfrontier.BloomKey(dupeKey), uint64(len(rs)), 0.01)
	if err != nil {
		return err
	}
	batch := make([][]byte, 0, 4096)
	t0 := time.Now()
	for i, r := range rs {
		x, err := fp.Fingerprint(r)
		if err != nil {
			return err
		}
		batch = append(batch, x[:])
		if len(batch) == cap(batch) || i == len(rs)-1 {
			if _, err := f.Add(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	res.BloomSeconds = time.Since(t0).Seconds()
	probes := 0
	for i, r := range rs {
		q := *r
		q.URL += "&probe=1"
		x, err := fp.Fingerprint(&q)
		if err != nil {
			return err
		}
		batch = append(batch, x[:])
		if len(batch) == cap(batch) || i == len(rs)-1 {
			maybe, err := f.Exists(ctx, batch)
			if err != nil {
				return err
			}
			for _, m := range maybe {
				if m {
					probes++
				}
			}
			batch = batch[:0]
		}
	}
	st, err := f.Stats(ctx)
	if err != nil {
		return err
	}
	res.BloomBytesPerFP = float64(st.Bytes) / float64(len(rs))
	res.BloomFalsePositives = float64(probes) / float64(len(rs))
	return nil
}

type benchDones []redisBenchDone

// seconds is the time from the first worker's start to the last one's end.
func (d benchDones) seconds() float64 {
	var lo, hi int64
	for i, x := range d {
		if i == 0 || x.Start < lo {
			lo = x.Start
		}
		if x.End > hi {
			hi = x.End
		}
	}
	return float64(hi-lo) / 1e9
}

// runBenchWorkers runs job.Workers processes of this program on job's
// phase and collects their reports. The workers start their timed work
// together, as the scrapy-redis harness's do: each says it is ready once
// set up, and all are told to go when all are.
func runBenchWorkers(ctx context.Context, job redisBenchJob) (benchDones, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ws := make([]*benchWorker, job.Workers)
	defer func() {
		for _, w := range ws {
			if w != nil {
				w.stop()
			}
		}
	}()
	for i := range ws {
		j := job
		j.Worker = i
		if ws[i], err = startBenchWorker(ctx, exe, j); err != nil {
			return nil, err
		}
	}
	for _, w := range ws {
		if err := w.ready(); err != nil {
			return nil, err
		}
	}
	for _, w := range ws {
		if err := w.start(); err != nil {
			return nil, err
		}
	}
	out := make(benchDones, job.Workers)
	var errs []error
	for i, w := range ws {
		out[i], err = w.report()
		errs = append(errs, err)
		ws[i] = nil
	}
	return out, errors.Join(errs...)
}

// benchWorker is a running bench worker process.
type benchWorker struct {
	job    redisBenchJob
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
}

// benchWorkerReady is the line a worker prints once set up; it then waits
// for a line on its standard input before its timed work.
const benchWorkerReady = "READY"

func startBenchWorker(ctx context.Context, exe string, job redisBenchJob) (*benchWorker, error) {
	spec, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	w := &benchWorker{job: job, cmd: exec.CommandContext(ctx, exe, "bench", "scheduler")}
	w.cmd.Env = append(os.Environ(), envBenchWorker+"="+string(spec))
	w.cmd.Stderr = &w.stderr
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	w.stdout = bufio.NewReader(out)
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench worker %d: %w", job.Worker, err)
	}
	return w, nil
}

// ready waits for the worker to be set up.
func (w *benchWorker) ready() error {
	line, err := w.stdout.ReadString('\n')
	if strings.TrimSpace(line) != benchWorkerReady {
		return w.failed(fmt.Errorf("said %q before being ready (%v)", line, err))
	}
	return nil
}

// start lets the worker begin its timed work.
func (w *benchWorker) start() error {
	if _, err := io.WriteString(w.stdin, "go\n"); err != nil {
		return w.failed(err)
	}
	return nil
}

// report waits for the worker to end and returns what it did.
func (w *benchWorker) report() (redisBenchDone, error) {
	var done redisBenchDone
	rest, err := io.ReadAll(w.stdout)
	if werr := w.cmd.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return done, w.failed(err)
	}
	if err := json.Unmarshal(rest, &done); err != nil {
		return done, w.failed(fmt.Errorf("printed %q: %w", rest, err))
	}
	return done, nil
}

// stop ends a worker that did not report.
func (w *benchWorker) stop() {
	_ = w.stdin.Close()
	if w.cmd.Process != nil {
		_ = w.cmd.Process.Kill()
	}
	_ = w.cmd.Wait()
}

func (w *benchWorker) failed(err error) error {
	return fmt.Errorf("bench worker %d (%s): %w: %s", w.job.Worker, w.job.Phase, err, strings.TrimSpace(w.stderr.String()))
}

// benchRedisWorker is a worker process: it does its share of its job's
// phase with job.Conns connections and prints its report.
func benchRedisWorker(ctx context.Context, e *env, spec string) error {
	var job redisBenchJob
	if err := json.Unmarshal([]byte(spec), &job); err != nil {
		return fmt.Errorf("bench worker: %s: %w", envBenchWorker, err)
	}
	opt, err := redis.ParseURL(job.URL)
	if err != nil {
		return err
	}
	opt.PoolSize = job.Conns + 2
	client := redis.NewClient(opt)
	defer client.Close()
	store, err := benchStore(ctx, client, job.N)
	if err != nil {
		return err
	}
	var done redisBenchDone
	switch job.Phase {
	case "enqueue":
		var fp framework.Fingerprinter
		if fp, err = benchFingerprinter(ctx, e); err == nil {
			done, err = benchWorkerEnqueue(ctx, e, fp, store, job)
		}
	case "dequeue":
		done, err = benchWorkerDequeue(ctx, e, store, job)
	default:
		err = fmt.Errorf("bench worker: phase %q", job.Phase)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(e.stdout).Encode(done)
}

// benchWorkerEnqueue enqueues the worker's share of the requests, each
// fingerprinted and encoded in the timed work (as the scrapy-redis
// harness's enqueue_request does), a batch per call.
func benchWorkerEnqueue(ctx context.Context, e *env, fp framework.Fingerprinter, store *redisfrontier.Store, job redisBenchJob) (redisBenchDone, error) {
	rs := benchRequests(job.N, 0, job.Hosts, job.Prios)
	rs = rs[job.Worker*job.N/job.Workers : (job.Worker+1)*job.N/job.Workers]
	var next int
	var mu sync.Mutex
	take := func() []*framework.Request {
		mu.Lock()
		defer mu.Unlock()
		a := next
		next = min(next+job.Batch, len(rs))
		return rs[a:next]
	}
	if err := benchWorkerWait(e); err != nil {
		return redisBenchDone{}, err
	}
	start := time.Now()
	err := parallel(job.Conns, func() error {
		items := make([]redisfrontier.Item, 0, job.Batch)
		for b := take(); len(b) > 0; b = take() {
			items = items[:0]
			for _, r := range b {
				rec, err := framework.EncodeRequest(r, nil)
				if err != nil {
					return err
				}
				x, err := fp.Fingerprint(r)
				if err != nil {
					return err
				}
				items = append(items, redisfrontier.Item{FP: x[:], Host: r.Slot(), Priority: r.Priority, Record: rec})
			}
			if _, err := store.Push(ctx, items); err != nil {
				return err
			}
		}
		return nil
	})
	return redisBenchDone{Start: start.UnixNano(), End: time.Now().UnixNano(), Ops: len(rs)}, err
}

// benchWorkerWait says the worker is ready and waits for the word to go.
func benchWorkerWait(e *env) error {
	if _, err := fmt.Fprintln(e.stdout, benchWorkerReady); err != nil {
		return err
	}
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("bench worker: waiting for the start: %w", err)
	}
	return nil
}

func benchWorkerDequeue(ctx context.Context, e *env, store *redisfrontier.Store, job redisBenchJob) (redisBenchDone, error) {
	owner := "bench-" + strconv.Itoa(os.Getpid())
	var mu sync.Mutex
	ops := 0
	if err := benchWorkerWait(e); err != nil {
		return redisBenchDone{}, err
	}
	start := time.Now()
	err := parallel(job.Conns, func() error {
		for {
			ls, err := store.Pop(ctx, owner, job.Batch, redisfrontier.PopOptions{Lease: time.Minute})
			if err != nil {
				return err
			}
			if len(ls) == 0 {
				return nil
			}
			ids := make([]string, len(ls))
			for i, l := range ls {
				if _, err := framework.DecodeRequest(l.Record, nil); err != nil {
					return err
				}
				ids[i] = l.ID
			}
			if _, err := store.Ack(ctx, ids); err != nil {
				return err
			}
			mu.Lock()
			ops += len(ls)
			mu.Unlock()
		}
	})
	return redisBenchDone{Start: start.UnixNano(), End: time.Now().UnixNano(), Ops: ops}, err
}

// benchFingerprinter is the settings' fingerprinter.
func benchFingerprinter(ctx context.Context, e *env) (framework.Fingerprinter, error) {
	c, err := e.crawler(nil)
	if err != nil {
		return nil, err
	}
	return c.Fingerprinter(ctx)
}

func parallel(n int, f func() error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f() }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func usedMemory(ctx context.Context, client redis.UniversalClient) (int64, error) {
	info, err := client.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("bench: INFO memory has no used_memory")
}

// prefixMemory sums MEMORY USAGE (all samples) over prefix's keys.
func prefixMemory(ctx context.Context, client redis.UniversalClient, prefix string) (keys int, bytes int64, err error) {
	it := client.Scan(ctx, 0, strings.NewReplacer("{", `\{`, "}", `\}`).Replace(prefix)+":*", 10000).Iterator()
	var names []string
	for it.Next(ctx) {
		names = append(names, it.Val())
	}
	if err := it.Err(); err != nil {
		return 0, 0, err
	}
	for lo := 0; lo < len(names); lo += 1000 {
		pipe := client.Pipeline()
		var cmds []*redis.IntCmd
		for _, k := range names[lo:min(lo+1000, len(names))] {
			cmds = append(cmds, pipe.MemoryUsage(ctx, k, 0))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, 0, err
		}
		for _, c := range cmds {
			bytes += c.Val()
		}
	}
	return len(names), bytes, nil
}

// startBenchRedis starts redis-server on a free loopback port in a
// temporary directory, without persistence, and returns its URL.
func startBenchRedis() (url string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("bench: no --redis URL or REDIS_URL, and redis-server is not on PATH: %w", err)
	}
	dir, err := os.MkdirTemp("", "frontier-bench-redis-")
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir, "--save", "", "--appendonly", "no",
		"--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	}
	url = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	opt, _ := redis.ParseURL(url)
	c := redis.NewClient(opt)
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c.Ping(context.Background()).Err() == nil {
			return url, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("bench: redis-server on port %d did not answer within 10s", port)
		}
	}
}
