package damage

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/framework"
)

// The priority queues and layouts a suite covers.
const (
	ScrapyPQ          = "scrapy.pqueues.ScrapyPriorityQueue"
	DownloaderAwarePQ = "scrapy.pqueues.DownloaderAwarePriorityQueue"
	LayoutStore       = "store"
	LayoutFiles       = "files"
)

// Config says what job [Build] makes.
type Config struct {
	// PriorityQueue is SCHEDULER_PRIORITY_QUEUE.
	PriorityQueue string
	// Layout is JOBDIR_QUEUE_LAYOUT.
	Layout string
	// Killed leaves the job as a process killed after a flush leaves it
	// (no close: the lock names a process, the journals are not compacted,
	// the feed log not closed) instead of closing it.
	Killed bool
	// Requests is how many requests are enqueued (at least 20).
	Requests int
	// Seed drives the request mix.
	Seed uint64
}

func (c Config) String() string {
	end := "closed"
	if c.Killed {
		end = "killed"
	}
	pq := "scrapy"
	if c.PriorityQueue == DownloaderAwarePQ {
		pq = "dapq"
	}
	return fmt.Sprintf("%s/%s/%s", pq, c.Layout, end)
}

// diskQueue is the downstream disk queue of a configuration: LIFO under the
// Scrapy priority queue, FIFO under the downloader-aware one, so that both
// kinds of queue file are damaged.
func (c Config) diskQueue() string {
	if c.PriorityQueue == DownloaderAwarePQ {
		return "scrapy.squeues.PickleFifoDiskQueue"
	}
	return "scrapy.squeues.PickleLifoDiskQueue"
}

// settings are the overrides that open the job in dir.
func (c Config) settings(dir string) []string {
	return []string{
		"JOBDIR=" + dir,
		"SCHEDULER_PRIORITY_QUEUE=" + c.PriorityQueue,
		"SCHEDULER_DISK_QUEUE=" + c.diskQueue(),
		"JOBDIR_QUEUE_LAYOUT=" + c.Layout,
		// Small segments, so that the store has several and a delete or a
		// swap of one leaves the others.
		"JOBDIR_SEGMENT_BYTES=4096",
		"JOBDIR_FSYNC=never",
		"LOG_LEVEL=ERROR",
	}
}

// Job is a built job directory and what it holds.
type Job struct {
	Config Config
	// Dir is the job directory; FeedPath the feed file its feeds.log
	// commits (outside Dir, as a feed is).
	Dir      string
	FeedPath string
	// Pending and InFlight are the URLs pending and in flight when the job
	// stopped; Seen every URL enqueued (each has a fingerprint).
	Pending  map[string]bool
	InFlight map[string]bool
	Seen     []string
	// Items is what the feed committed.
	Items int64
	// Oracle says which frames of which file hold each request.
	Oracle *Oracle
}

// Expected returns every request a resume of the undamaged job hands out.
func (j *Job) Expected() map[string]bool {
	m := make(map[string]bool, len(j.Pending)+len(j.InFlight))
	for u := range j.Pending {
		m[u] = true
	}
	for u := range j.InFlight {
		m[u] = true
	}
	return m
}

// silent is the logger of every frontier the suite opens.
var silent = zerolog.Nop()

// openFrontier opens the job in dir with cfg's settings.
func openFrontier(ctx context.Context, cfg Config, dir string) (*crawl.Frontier, error) {
	return crawl.Open(ctx, crawl.Options{Set: cfg.settings(dir), Logger: &silent})
}

// requestURL is the URL of the i-th request: unique, and never a prefix of
// another.
func requestURL(slot, i int) string {
	return fmt.Sprintf("http://h%d.example/p%06d.html", slot, i)
}

// Build makes a job directory under root (which it creates) through the
// real scheduler: cfg.Requests requests over four download slots and four
// priorities, one in seven a start request, enqueued in several flushes;
// a third handed out, half of those finished with an item each committed
// to the feed, the rest left in flight; a few more enqueued after; a
// spider state. Then it closes the job, or, when cfg.Killed, copies the
// flushed directory as a killed process leaves it.
func Build(ctx context.Context, root string, cfg Config) (*Job, error) {
	if cfg.Requests < 20 {
		return nil, fmt.Errorf("damage: Config.Requests = %d: want at least 20", cfg.Requests)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("damage: %w", err)
	}
	job := &Job{Config: cfg, Dir: filepath.Join(root, "job"), FeedPath: filepath.Join(root, "items.jsonl"),
		Pending: map[string]bool{}, InFlight: map[string]bool{}}
	dir := job.Dir
	if cfg.Killed {
		dir = filepath.Join(root, "live")
	}
	f, err := openFrontier(ctx, cfg, dir)
	if err != nil {
		return nil, fmt.Errorf("damage: build %s: %w", cfg, err)
	}
	feeds, err := feed.Open([]feed.Spec{{Path: job.FeedPath, Format: feed.JSONLines}},
		feed.Options{Job: &framework.JobConfig{Dir: dir}})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("damage: build %s: feed: %w", cfg, err)
	}
	err = job.fill(f, feeds, rand.New(rand.NewPCG(cfg.Seed, 0x5eed)))
	if err == nil && cfg.Killed {
		err = killedCopy(f, dir, job.Dir)
	}
	if cerr := feeds.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("damage: build %s: %w", cfg, err)
	}
	if cfg.Killed {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("damage: %w", err)
		}
	}
	job.Oracle, err = ReadOracle(job.Dir, framework.NewSpider("default"))
	if err != nil {
		return nil, err
	}
	return job, nil
}

// fill enqueues, hands out and finishes requests, and commits items.
func (job *Job) fill(f *crawl.Frontier, feeds *feed.Set, rng *rand.Rand) error {
	n := job.Config.Requests
	first := n * 5 / 6
	batch := max(first/5, 1)
	for i := range first {
		if err := job.enqueue(f, rng, i); err != nil {
			return err
		}
		if (i+1)%batch == 0 {
			if err := f.Flush(); err != nil {
				return err
			}
		}
	}
	if err := f.Flush(); err != nil {
		return err
	}
	var done []uint64
	for k := range n / 3 {
		r, err := f.Next()
		if err != nil {
			return err
		}
		if r == nil {
			break
		}
		u := r.URL
		delete(job.Pending, u)
		if k%2 == 1 {
			job.InFlight[u] = true
			continue
		}
		if err := feeds.Add(map[string]any{"url": u}); err != nil {
			return err
		}
		done = append(done, r.Delivery)
		if len(done) == 4 {
			if err := job.commit(f, feeds, done); err != nil {
				return err
			}
			done = done[:0]
		}
		if err := f.Finish(r, nil); err != nil {
			return err
		}
	}
	if err := job.commit(f, feeds, done); err != nil {
		return err
	}
	for i := first; i < n; i++ {
		if err := job.enqueue(f, rng, i); err != nil {
			return err
		}
	}
	f.Crawler().Spider.State["pages_seen"] = int64(n)
	f.Crawler().Spider.State["note"] = "damage suite"
	return f.Flush()
}

// commit commits the batch done as the engine does: flush, commit, and
// (by the caller) finish.
func (job *Job) commit(f *crawl.Frontier, feeds *feed.Set, done []uint64) error {
	if err := f.Flush(); err != nil {
		return err
	}
	if err := feeds.Commit(done); err != nil {
		return err
	}
	job.Items = feeds.Items()
	return nil
}

// enqueue enqueues the i-th request.
func (job *Job) enqueue(f *crawl.Frontier, rng *rand.Rand, i int) error {
	slot := rng.IntN(4)
	r, err := framework.NewRequest(requestURL(slot, i))
	if err != nil {
		return err
	}
	r.Priority = rng.IntN(4) - 1
	if i%7 == 0 {
		r.Meta = map[string]any{framework.MetaIsStartRequest: true}
	}
	ok, err := f.Enqueue(r)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("request %s was not accepted", r.URL)
	}
	job.Pending[r.URL] = true
	job.Seen = append(job.Seen, r.URL)
	return nil
}

// killedCopy flushes the open job in live and copies it to dir, as a
// process killed at that moment leaves it (the operating system's cache
// holds what was flushed).
func killedCopy(f *crawl.Frontier, live, dir string) error {
	if err := f.Flush(); err != nil {
		return err
	}
	return copyTree(live, dir)
}

// copyTree copies the directory src to dst, which must not exist.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		return copyFile(path, to)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Configs returns the jobs a suite damages: both priority queues, both
// layouts, each closed and killed, with requests requests from seed.
func Configs(requests int, seed uint64) []Config {
	var out []Config
	for _, pq := range []string{ScrapyPQ, DownloaderAwarePQ} {
		for _, layout := range []string{LayoutStore, LayoutFiles} {
			for _, killed := range []bool{false, true} {
				out = append(out, Config{PriorityQueue: pq, Layout: layout, Killed: killed, Requests: requests, Seed: seed})
			}
		}
	}
	return out
}
