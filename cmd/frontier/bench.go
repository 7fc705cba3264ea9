package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/builtin/schedulers"
	"github.com/frontier-go/frontier/cmd/frontier/internal/jobtools"
	"github.com/frontier-go/frontier/framework"
)

// benchFlags are bench scheduler's flags.
type benchFlags struct {
	n, hosts, prios, batch  int
	runs                    int
	dup, scrapy, cpuprofile string
	memprofile              string
	asJSON                  bool
	compare                 string // --compare-disk-queue
	// Redis: the server, worker processes and connections per worker, and
	// the scrapy-redis peer.
	redis, scrapyRedis, scrapyRedisSrc string
	workers, conns                     int
}

func newBenchCommand(e *env) *cobra.Command {
	var f benchFlags
	sched := &cobra.Command{
		Use:   "scheduler",
		Short: "Measure the scheduler's throughput and memory",
		Long: `Scheduler pushes N requests over hosts and priorities through the scheduler
the settings select, then drains it, finishing every request, and prints the
throughput and the memory per pending request. By default it runs twice: with
no duplicates and with half of the calls repeating an earlier URL.

With -s JOBDIR=DIR, each run takes a fresh job directory under DIR and removes
it at the end, and the figures include the close, the reopen with every
request pending, and the bytes on disk. On a terminal, a progress line shows
each phase. --scrapy runs Scrapy's scheduler on the same workload and prints
the ratios.`,
		Example: `  frontier bench scheduler
  frontier bench scheduler -n 100000 --dup-ratio 0.5 --json
  frontier -s JOBDIR=/tmp/bench bench scheduler --scrapy /usr/bin/python3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if spec := os.Getenv(envBenchWorker); spec != "" {
				return benchRedisWorker(cmd.Context(), e, spec)
			}
			if wantsRedisBench(e, f) {
				return benchRedis(cmd.Context(), e, f, cmd.Flags().Changed("batch"))
			}
			return benchScheduler(cmd.Context(), e, f)
		},
	}
	fl := sched.Flags()
	fl.IntVarP(&f.n, "n", "n", 1_000_000, "requests to enqueue")
	fl.StringVar(&f.dup, "dup-ratio", "", "share of enqueue calls that repeat an earlier URL, in [0, 1) (default: run 0 and 0.5)")
	fl.IntVar(&f.hosts, "hosts", 1000, "distinct hosts")
	fl.IntVar(&f.prios, "priorities", 10, "distinct priorities")
	fl.IntVar(&f.batch, "batch", 1, "requests per enqueue call (1: one Enqueue per request; more: EnqueueBatch, as a callback's output)")
	fl.BoolVar(&f.asJSON, "json", false, `print one JSON object: {"variants": [...]}`)
	fl.IntVar(&f.runs, "runs", 1, "run each variant this many times, one after the other, and print the median and range of each figure and ratio")
	fl.StringVar(&f.scrapy, "scrapy", "", "also run Scrapy's scheduler on the same workload with this `python` (e.g. /usr/bin/python3 with Debian's python3-scrapy) and print the ratios")
	fl.StringVar(&f.redis, "redis", "", "measure the Redis scheduler against this `URL` (also: -s SCHEDULER=frontier.redis.Scheduler with REDIS_URL; with neither URL, a redis-server of its own when one is on PATH)")
	fl.IntVar(&f.workers, "workers", 1, "Redis: worker processes sharing the crawl (the bench runs itself as each); figures are aggregate")
	fl.IntVar(&f.conns, "conns", 4, "Redis: connections (goroutines) per worker process")
	fl.StringVar(&f.scrapyRedis, "scrapy-redis", "", "Redis: also run scrapy-redis on the same workload with this `python` (Debian's python3-scrapy and python3-redis) and print the ratios")
	fl.StringVar(&f.scrapyRedisSrc, "scrapy-redis-src", os.Getenv("FRONTIER_SCRAPY_REDIS_SRC"), "Redis: the scrapy-redis source `dir` for --scrapy-redis (default $FRONTIER_SCRAPY_REDIS_SRC)")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the timed work to `file`")
	fl.StringVar(&f.memprofile, "memprofile", "", "write a profile of the run's allocations to `file` (go tool pprof -sample_index=alloc_space)")
	fl.StringVar(&f.compare, "compare-disk-queue", "", "also run each variant with SCHEDULER_DISK_QUEUE set to `name` (e.g. scrapy.squeues.PickleFifoDiskQueue when -s SCHEDULER_DISK_QUEUE names a plugin's queue) and print both round-trip rates and the first as a percentage of the second")
	return newBenchSiteCommand(e, sched, newBenchCrawlCommand(e), newBenchDamageCommand(e))
}

// benchResult is one variant's figures.
type benchResult struct {
	N                int     `json:"n"`
	DupRatio         float64 `json:"dup_ratio"`
	Hosts            int     `json:"hosts"`
	Priorities       int     `json:"priorities"`
	JobDir           bool    `json:"jobdir"`
	Batch            int     `json:"batch"`
	Enqueued         int64   `json:"enqueued"`
	Filtered         int64   `json:"filtered"`
	Dequeued         int     `json:"dequeued"`
	EnqueueSeconds   float64 `json:"enqueue_seconds"`
	DequeueSeconds   float64 `json:"dequeue_seconds"`
	EnqueuePerS      float64 `json:"enqueue_per_s"`
	DequeuePerS      float64 `json:"dequeue_per_s"`
	PeakRSSBytes     int64   `json:"peak_rss_bytes"`
	BytesPerPending  float64 `json:"bytes_per_pending"`
	HeapBytesPending float64 `json:"heap_bytes_per_pending"`
	AllocsPerEnqueue float64 `json:"allocs_per_enqueue"`
	AllocsPerDequeue float64 `json:"allocs_per_dequeue"`
	// With JOBDIR: the round trip, reopening the job with every request
	// pending, and what the job takes on disk.
	RoundTripSeconds        float64 `json:"round_trip_seconds,omitempty"`
	CloseSeconds            float64 `json:"close_seconds,omitempty"`
	ReopenSeconds           float64 `json:"reopen_seconds,omitempty"`
	ReopenRSSPerPending     float64 `json:"reopen_rss_bytes_per_pending,omitempty"`
	DiskBytesPerPending     float64 `json:"disk_bytes_per_pending,omitempty"`
	DiskBytesPerFingerprint float64 `json:"disk_bytes_per_fingerprint,omitempty"`
	// Scrapy holds Scrapy's figures for the same workload, when asked for.
	Scrapy map[string]any `json:"scrapy,omitempty"`
	// DiskQueue is SCHEDULER_DISK_QUEUE; Compared holds the same variant run
	// with --compare-disk-queue, when asked for.
	DiskQueue string       `json:"disk_queue,omitempty"`
	Compared  *benchResult `json:"compared,omitempty"`
	// Run numbers the runs of a variant from 1 with --runs; LoadAverage is
	// the system's 1, 5 and 15 minute load averages as the run began (what
	// else was running weighs on every figure).
	Run         int    `json:"run,omitempty"`
	LoadAverage string `json:"load_average,omitempty"`
}

// roundTripPerS is the requests enqueued and dequeued per second of both.
func (r benchResult) roundTripPerS() float64 {
	return float64(r.N) / (r.EnqueueSeconds + r.DequeueSeconds)
}

// comparedPercent is the round trip as a percentage of the compared disk
// queue's (--compare-disk-queue).
func (r benchResult) comparedPercent() float64 {
	return 100 * r.roundTripPerS() / r.Compared.roundTripPerS()
}

// scrapyFigure is one of Scrapy's figures for the same workload (0 when
// absent).
func (r benchResult) scrapyFigure(k string) float64 {
	f, _ := r.Scrapy[k].(float64)
	return f
}

// scrapyRoundTripSeconds is Scrapy's enqueue and dequeue time together.
func (r benchResult) scrapyRoundTripSeconds() float64 {
	return r.scrapyFigure("enqueue_seconds") + r.scrapyFigure("dequeue_seconds")
}

// scrapyRatios are frontier's figures over Scrapy's, or Scrapy's over ours
// for times, so that more is better; memory is ours over Scrapy's.
type scrapyRatios struct {
	Enqueue, Dequeue, Memory, RoundTrip, Reopen float64
}

func (r benchResult) scrapyRatios() scrapyRatios {
	return scrapyRatios{
		Enqueue:   r.EnqueuePerS / r.scrapyFigure("enqueue_per_s"),
		Dequeue:   r.DequeuePerS / r.scrapyFigure("dequeue_per_s"),
		Memory:    r.BytesPerPending / r.scrapyFigure("bytes_per_pending"),
		RoundTrip: r.scrapyRoundTripSeconds() / r.RoundTripSeconds,
		Reopen:    r.scrapyFigure("reopen_seconds") / r.ReopenSeconds,
	}
}

// benchScheduler runs bench scheduler: one variant per dup ratio.
func benchScheduler(ctx context.Context, e *env, f benchFlags) error {
	ratios := []float64{0, 0.5}
	if f.dup != "" {
		r, err := strconv.ParseFloat(f.dup, 64)
		if err != nil || r < 0 || r >= 1 {
			return usageErrorf("--dup-ratio %q: want a number in [0, 1)", f.dup)
		}
		ratios = []float64{r}
	}
	if f.n <= 0 || f.hosts <= 0 || f.prios <= 0 || f.batch <= 0 || f.runs <= 0 {
		return usageErrorf("-n, --hosts, --priorities, --batch and --runs must be positive")
	}
	if f.cpuprofile != "" {
		out, err := os.Create(f.cpuprofile)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if f.memprofile != "" {
		defer writeMemProfile(e, f.memprofile)
	}
	var results []benchResult
	for _, ratio := range ratios {
		var runs []benchResult
		for run := 1; run <= f.runs; run++ {
			res, err := benchVariant(ctx, e, f, ratio)
			if err != nil {
				return err
			}
			if f.runs > 1 {
				res.Run = run
			}
			runs = append(runs, res)
			if !f.asJSON {
				printBench(e, res)
			}
		}
		if f.runs > 1 && !f.asJSON {
			printBenchSummary(e, runs)
		}
		results = append(results, runs...)
	}
	if f.asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"variants": results})
	}
	return nil
}

// benchVariant runs one variant once, with the comparisons asked for.
func benchVariant(ctx context.Context, e *env, f benchFlags, ratio float64) (benchResult, error) {
	load := loadAverage()
	res, err := benchOnce(ctx, e, f.n, ratio, f.hosts, f.prios, f.batch, "")
	if err != nil {
		return res, err
	}
	res.LoadAverage = load
	if f.compare != "" {
		other, err := benchOnce(ctx, e, f.n, ratio, f.hosts, f.prios, f.batch, f.compare)
		if err != nil {
			return res, fmt.Errorf("--compare-disk-queue %s: %w", f.compare, err)
		}
		res.Compared = &other
	}
	if f.scrapy != "" {
		if res.Scrapy, err = runScrapyBench(ctx, f.scrapy, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// loadAverage returns the system's load averages ("0.15 0.04 0.01"), or ""
// where /proc/loadavg does not exist.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(b))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], " ")
}

// printBenchSummary prints the median and range over runs of one variant's
// figures, and of the ratios to Scrapy and to the compared disk queue.
func printBenchSummary(e *env, runs []benchResult) {
	r0 := runs[0]
	fmt.Fprintf(e.stdout, "summary of %d runs (median, min-max):\n", len(runs))
	line := func(name, format string, value func(r benchResult) float64) {
		vs := make([]float64, len(runs))
		for i, r := range runs {
			vs[i] = value(r)
		}
		slices.Sort(vs)
		median := vs[len(vs)/2]
		if len(vs)%2 == 0 {
			median = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
		}
		f := "  %s: " + format + " (" + format + "-" + format + ")\n"
		fmt.Fprintf(e.stdout, f, name, median, vs[0], vs[len(vs)-1])
	}
	line("enqueue/s", "%.0f", func(r benchResult) float64 { return r.EnqueuePerS })
	line("dequeue/s", "%.0f", func(r benchResult) float64 { return r.DequeuePerS })
	if r0.JobDir {
		line("round trip s", "%.3f", func(r benchResult) float64 { return r.RoundTripSeconds })
		line("reopen s", "%.4f", func(r benchResult) float64 { return r.ReopenSeconds })
	}
	if r0.Compared != nil {
		line(r0.DiskQueue+" % of "+r0.Compared.DiskQueue, "%.1f", benchResult.comparedPercent)
	}
	if r0.Scrapy == nil {
		return
	}
	line("enqueue ratio to Scrapy", "%.1fx", func(r benchResult) float64 { return r.scrapyRatios().Enqueue })
	line("dequeue ratio to Scrapy", "%.1fx", func(r benchResult) float64 { return r.scrapyRatios().Dequeue })
	if r0.JobDir {
		line("round trip ratio to Scrapy", "%.1fx", func(r benchResult) float64 { return r.scrapyRatios().RoundTrip })
		line("reopen ratio to Scrapy", "%.1fx", func(r benchResult) float64 { return r.scrapyRatios().Reopen })
	}
}

// writeMemProfile writes the allocation profile of the run so far to path;
// a failure is reported, not returned, since the figures are printed.
func writeMemProfile(e *env, path string) {
	out, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(out, 0)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "--memprofile: %v\n", err)
	}
}

func printBench(e *env, r benchResult) {
	where := "memory"
	if r.JobDir {
		where = "JOBDIR"
	}
	fmt.Fprintf(e.stdout, "scheduler (%s) n=%d dup-ratio=%.2f hosts=%d priorities=%d", where, r.N, r.DupRatio, r.Hosts, r.Priorities)
	if r.Run > 0 {
		fmt.Fprintf(e.stdout, " run %d", r.Run)
	}
	if r.LoadAverage != "" {
		fmt.Fprintf(e.stdout, " (load average %s)", r.LoadAverage)
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintf(e.stdout, "  enqueue: %d requests in %.3fs = %.0f/s, %d per call (%d accepted, %d filtered), %.2f allocations per request\n",
		r.N, r.EnqueueSeconds, r.EnqueuePerS, r.Batch, r.Enqueued, r.Filtered, r.AllocsPerEnqueue)
	fmt.Fprintf(e.stdout, "  dequeue: %d in %.3fs = %.0f/s (each finished), %.2f allocations per request\n", r.Dequeued, r.DequeueSeconds, r.DequeuePerS, r.AllocsPerDequeue)
	fmt.Fprintf(e.stdout, "  peak RSS: %.1f MiB; %.0f bytes RSS and %.0f bytes heap per pending request\n",
		float64(r.PeakRSSBytes)/(1<<20), r.BytesPerPending, r.HeapBytesPending)
	if r.JobDir {
		fmt.Fprintf(e.stdout, "  round trip: %.3fs; close %.3fs; reopen with %d pending %.4fs, then %.0f bytes RSS per pending request\n",
			r.RoundTripSeconds, r.CloseSeconds, r.Enqueued, r.ReopenSeconds, r.ReopenRSSPerPending)
		fmt.Fprintf(e.stdout, "  on disk: %.0f bytes per pending request, %.0f bytes per fingerprint\n", r.DiskBytesPerPending, r.DiskBytesPerFingerprint)
	}
	if o := r.Compared; o != nil {
		fmt.Fprintf(e.stdout, "  SCHEDULER_DISK_QUEUE %s: round trip %.0f/s (enqueue %.0f/s, dequeue %.0f/s)\n", r.DiskQueue, r.roundTripPerS(), r.EnqueuePerS, r.DequeuePerS)
		fmt.Fprintf(e.stdout, "  SCHEDULER_DISK_QUEUE %s, same run: round trip %.0f/s (enqueue %.0f/s, dequeue %.0f/s)\n", o.DiskQueue, o.roundTripPerS(), o.EnqueuePerS, o.DequeuePerS)
		fmt.Fprintf(e.stdout, "  %s at %.1f%% of %s (round trip)\n", r.DiskQueue, r.comparedPercent(), o.DiskQueue)
	}
	if r.Scrapy == nil {
		return
	}
	num, ratio := r.scrapyFigure, r.scrapyRatios()
	fmt.Fprintf(e.stdout, "  Scrapy %v, same run: enqueue %.0f/s, dequeue %.0f/s, %.0f bytes RSS per pending request\n",
		r.Scrapy["scrapy"], num("enqueue_per_s"), num("dequeue_per_s"), num("bytes_per_pending"))
	fmt.Fprintf(e.stdout, "  ratios: enqueue %.1fx, dequeue %.1fx, memory per pending request %.2fx of Scrapy's\n",
		ratio.Enqueue, ratio.Dequeue, ratio.Memory)
	if r.JobDir {
		fmt.Fprintf(e.stdout, "  Scrapy round trip %.2fs (%.1fx ours), reopen %.4fs (%.1fx ours), %.0f bytes on disk per request, %.0f per fingerprint\n",
			r.scrapyRoundTripSeconds(), ratio.RoundTrip,
			num("reopen_seconds"), ratio.Reopen, num("disk_bytes_per_pending"), num("disk_bytes_per_fingerprint"))
	}
}

//go:embed scrapy_bench.py
var scrapyBenchScript []byte

// runScrapyBench runs Scrapy's scheduler over the same workload as res.
func runScrapyBench(ctx context.Context, python string, res benchResult) (map[string]any, error) {
	f, err := os.CreateTemp("", "frontier-scrapy-bench-*.py")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(scrapyBenchScript); err != nil {
		return nil, err
	}
	f.Close()
	args := []string{f.Name(), "-n", strconv.Itoa(res.N), "--dup-ratio", strconv.FormatFloat(res.DupRatio, 'f', -1, 64),
		"--hosts", strconv.Itoa(res.Hosts), "--priorities", strconv.Itoa(res.Priorities)}
	if res.JobDir {
		args = append(args, "--jobdir")
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Stderr = os.Stderr
	writeBack()
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("scrapy benchmark (%s): %w", python, err)
	}
	var ref map[string]any
	if err := json.Unmarshal(out, &ref); err != nil {
		return nil, fmt.Errorf("scrapy benchmark printed %q: %w", out, err)
	}
	return ref, nil
}

// benchRequests builds the requests up front so that only scheduler work is
// timed: URL i goes to host i%hosts with priority i%prios; with a dup ratio,
// that share of the calls repeats an earlier URL. Unique requests are
// allocated first and duplicates after, so that the duplicates, garbage once
// filtered, do not leave holes among the pending requests.
func benchRequests(n int, ratio float64, hosts, prios int) []*framework.Request {
	ids := make([]int, n)
	uniq := 0
	var acc float64
	for i := range ids {
		acc += ratio
		if acc >= 1 && uniq > 0 {
			acc--
			ids[i] = -1 - (i*7919)%uniq // an earlier URL
		} else {
			ids[i] = uniq
			uniq++
		}
	}
	newReq := func(id int) *framework.Request {
		return &framework.Request{
			URL:      "https://host" + strconv.Itoa(id%hosts) + ".example/page/" + strconv.Itoa(id) + "?ref=" + strconv.Itoa(id%7),
			Method:   "GET",
			Priority: id % prios,
		}
	}
	rs := make([]*framework.Request, n)
	for i, id := range ids {
		if id >= 0 {
			rs[i] = newReq(id)
		}
	}
	for i, id := range ids {
		if id < 0 {
			rs[i] = newReq(-1 - id)
		}
	}
	return rs
}

// benchOnce runs one variant: enqueue every request, reopen the job (with
// JOBDIR), drain. With JOBDIR, the variant has a fresh job directory of its
// own under it, removed at the end. A diskQueue other than "" replaces
// SCHEDULER_DISK_QUEUE.
func benchOnce(ctx context.Context, e *env, n int, ratio float64, hosts, prios, batch int, diskQueue string) (res benchResult, err error) {
	res = benchResult{N: n, DupRatio: ratio, Hosts: hosts, Priorities: prios, Batch: batch}
	c, err := e.crawler(nil)
	if err != nil {
		return res, err
	}
	if diskQueue != "" {
		c.Settings.Set("SCHEDULER_DISK_QUEUE", diskQueue, framework.Source{Kind: framework.SourceCode, Name: "--compare-disk-queue"})
	}
	res.DiskQueue, _ = c.Settings.GetString("SCHEDULER_DISK_QUEUE")
	c.Logger = c.Logger.Level(maxLevel(c.Logger.GetLevel()))
	jobdir, _ := c.Settings.GetString("JOBDIR")
	if jobdir != "" {
		res.JobDir = true
		if jobdir, err = freshJobDir(jobdir, n, ratio); err != nil {
			return res, err
		}
		defer func() {
			if rerr := os.RemoveAll(jobdir); err == nil {
				err = rerr
			}
		}()
		c.Settings.Set("JOBDIR", jobdir, framework.Source{Kind: framework.SourceCode, Name: "bench"})
	}
	writeBack()
	runtime.GC()
	debug.FreeOSMemory()
	rss0 := currentRSS()
	heap0 := heapInUse()

	rs := benchRequests(n, ratio, hosts, prios)
	s, err := schedulers.New(ctx, c)
	if err != nil {
		return res, err
	}
	if err := s.Open(ctx); err != nil {
		return res, err
	}
	p := e.progress(fmt.Sprintf("bench: dup-ratio %g: enqueue", ratio))
	mallocs := mallocCount()
	start := time.Now()
	err = benchEnqueue(s, rs, batch, p)
	p.done()
	if err != nil {
		return res, err
	}
	res.EnqueueSeconds = time.Since(start).Seconds()
	res.AllocsPerEnqueue = float64(mallocCount()-mallocs) / float64(n)
	rs = nil
	pending := s.Len()
	debug.FreeOSMemory() // collect, and return what is free, so RSS counts what is live
	res.HeapBytesPending = float64(heapInUse()-heap0) / float64(max(pending, 1))
	res.BytesPerPending = float64(currentRSS()-rss0) / float64(max(pending, 1))
	res.Enqueued = c.Stats.Get(framework.StatEnqueued)
	res.Filtered = c.Stats.Get(framework.StatDupeFilterFiltered)
	if res.JobDir {
		if s, err = benchReopen(ctx, c, s, &res, jobdir, rss0); err != nil {
			return res, err
		}
	}
	p = e.progress(fmt.Sprintf("bench: dup-ratio %g: dequeue", ratio))
	mallocs = mallocCount()
	start = time.Now()
	err = benchDrain(ctx, s, &res, p)
	p.done()
	if err != nil {
		return res, err
	}
	res.DequeueSeconds = time.Since(start).Seconds()
	res.AllocsPerDequeue = float64(mallocCount()-mallocs) / float64(max(res.Dequeued, 1))
	res.EnqueuePerS = float64(n) / res.EnqueueSeconds
	res.DequeuePerS = float64(res.Dequeued) / res.DequeueSeconds
	res.PeakRSSBytes = peakRSS()
	if res.JobDir {
		res.RoundTripSeconds = res.EnqueueSeconds + res.DequeueSeconds
	}
	return res, nil
}

// freshJobDir makes a new, empty job directory under base for one variant,
// so that the same command can run again with the same JOBDIR.
func freshJobDir(base string, n int, ratio float64) (string, error) {
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("JOBDIR: %w", err)
	}
	dir, err := os.MkdirTemp(base, fmt.Sprintf("bench-n%d-dup%g-", n, ratio))
	if err != nil {
		return "", fmt.Errorf("JOBDIR: %w", err)
	}
	return dir, nil
}

// benchEnqueue enqueues every request, batch at a time (one Enqueue per
// request when batch is 1), and flushes.
func benchEnqueue(s *schedulers.Scheduler, rs []*framework.Request, batch int, p *progress) error {
	for lo := 0; lo < len(rs); lo += batch {
		hi := min(lo+batch, len(rs))
		if batch == 1 {
			if _, err := s.Enqueue(rs[lo]); err != nil {
				return err
			}
		} else if err := s.EnqueueBatch(rs[lo:hi], nil); err != nil {
			return err
		}
		// The workload is built beforehand, so that building requests is
		// not timed; an engine keeps no request once it is enqueued, so
		// neither does the benchmark (the collector would scan them all).
		clear(rs[lo:hi])
		if lo/batch&0xff == 0 {
			p.update(int64(lo), int64(len(rs)))
		}
	}
	return s.Flush()
}

// benchReopen measures the job on disk, closes the scheduler and opens the
// job again with every request pending, and returns the reopened scheduler.
func benchReopen(ctx context.Context, c *framework.Crawler, s *schedulers.Scheduler, res *benchResult, jobdir string, rss0 int64) (*schedulers.Scheduler, error) {
	pending := s.Len()
	queueBytes := diskBytes(filepath.Join(jobdir, "requests.queue"))
	res.DiskBytesPerPending = float64(queueBytes) / float64(max(pending, 1))
	start := time.Now()
	if err := s.Close("shutdown"); err != nil {
		return nil, err
	}
	res.CloseSeconds = time.Since(start).Seconds()
	res.DiskBytesPerFingerprint = float64(diskBytes(jobdir)-diskBytes(filepath.Join(jobdir, "requests.queue"))) / float64(max(res.Enqueued, 1))
	debug.FreeOSMemory()
	start = time.Now()
	s, err := schedulers.New(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := s.Open(ctx); err != nil {
		return nil, err
	}
	res.ReopenSeconds = time.Since(start).Seconds()
	if s.Len() != pending {
		return nil, fmt.Errorf("reopened job has %d pending requests, want %d", s.Len(), pending)
	}
	debug.FreeOSMemory()
	res.ReopenRSSPerPending = float64(currentRSS()-rss0) / float64(max(pending, 1))
	return s, nil
}

// benchDrain takes every request out of s, finishing each, and closes it.
func benchDrain(ctx context.Context, s *schedulers.Scheduler, res *benchResult, p *progress) error {
	total := int64(s.Len())
	for {
		r, err := s.Next()
		if err != nil {
			return err
		}
		if r == nil {
			break
		}
		if err := s.Finish(r, nil); err != nil {
			return err
		}
		res.Dequeued++
		if res.Dequeued&0xfff == 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.update(int64(res.Dequeued), total)
		}
	}
	return s.Close("finished")
}

// maxLevel keeps per-request debug logging out of the measurement.
func maxLevel(l zerolog.Level) zerolog.Level {
	return max(l, zerolog.InfoLevel)
}

// procStatus reads a kB field of /proc/self/status (Linux); 0 elsewhere.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func currentRSS() int64 { return procStatus("VmRSS") }
func peakRSS() int64    { return procStatus("VmHWM") }

// mallocCount returns the number of heap allocations so far.
func mallocCount() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

func heapInUse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// diskBytes returns the size of the files under dir.
func diskBytes(dir string) int64 {
	n, _ := jobtools.DiskUsage(dir)
	return n
}
