package schedulers

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/builtin/fingerprinters"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
	"github.com/frontier-go/frontier/registry"
)

// BenchmarkSchedulerReopen measures a resume: opening a job directory that
// holds FRONTIER_BENCH_PENDING (default 1,000,000) pending requests over 1000
// hosts and 10 priorities, with their fingerprints, and reports the time to
// Open (lock, manifest, state, in-flight journal, every bucket's length, the
// fingerprint file) and the bytes on disk per pending request.
//
//	go test ./builtin/schedulers -run '^$' -bench SchedulerReopen -benchtime 5x
func BenchmarkSchedulerReopen(b *testing.B) { benchReopen(b, false) }

// BenchmarkSchedulerReopenUnclean is BenchmarkSchedulerReopen after an
// unclean stop (the lock file names a process that is gone): Open also
// restores the fingerprint of every pending request the dupefilter lacks.
//
//	go test ./builtin/schedulers -run '^$' -bench SchedulerReopenUnclean -benchtime 3x
func BenchmarkSchedulerReopenUnclean(b *testing.B) { benchReopen(b, true) }

func benchReopen(b *testing.B, unclean bool) {
	n := 1_000_000
	if v := os.Getenv("FRONTIER_BENCH_PENDING"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, pq := range priorityQueues {
		b.Run(pq, func(b *testing.B) {
			dir := b.TempDir()
			opts := map[string]any{
				"SCHEDULER_PRIORITY_QUEUE": pq,
				"DUPEFILTER_CLASS":         "scrapy.dupefilters.RFPDupeFilter",
				"JOBDIR_FSYNC":             "interval",
			}
			s := benchJob(b, dir, opts)
			for i := 0; i < n; i++ {
				r := &framework.Request{URL: "https://host" + strconv.Itoa(i%1000) + ".example/page/" + strconv.Itoa(i) + "?ref=" + strconv.Itoa(i%7), Method: "GET", Priority: i % 10}
				if _, err := s.Enqueue(r); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close("shutdown"); err != nil {
				b.Fatal(err)
			}
			bytes := dirBytes(b, dir)
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				if unclean {
					b.StopTimer()
					stale := `{"pid":2147483646,"host":"gone.example","started":"2026-01-01T00:00:00Z"}` + "\n"
					if err := os.WriteFile(filepath.Join(dir, jobdir.LockFile), []byte(stale), 0o644); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				start := time.Now()
				s := benchJob(b, dir, opts)
				total += time.Since(start)
				if s.Len() != n {
					b.Fatalf("reopened with %d pending, want %d", s.Len(), n)
				}
				b.StopTimer()
				if err := s.Close("shutdown"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/reopen")
			b.ReportMetric(float64(bytes)/float64(n), "disk-bytes/request")
		})
	}
}

func benchJob(b *testing.B, dir string, opts map[string]any) *Scheduler {
	b.Helper()
	c := jobCrawlerB(b, dir, opts)
	s, err := New(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s
}

// jobCrawlerB is jobCrawler for benchmarks, with Scrapy's fingerprinter.
func jobCrawlerB(b *testing.B, dir string, overrides map[string]any) *framework.Crawler {
	b.Helper()
	reg := registry.New()
	for _, f := range []func(*registry.Registry) error{queues.Register, dupefilters.Register, fingerprinters.Register, Register} {
		if err := f(reg); err != nil {
			b.Fatal(err)
		}
	}
	registerDiskQueues(reg)
	s := framework.NewSettings()
	code := framework.Source{Kind: framework.SourceCode}
	s.Set("JOBDIR", dir, code)
	s.Set("SCHEDULER_DISK_QUEUE", "scrapy.squeues.PickleLifoDiskQueue", code)
	s.Set("SCHEDULER_START_DISK_QUEUE", "scrapy.squeues.PickleFifoDiskQueue", code)
	for k, v := range overrides {
		s.Set(k, v, code)
	}
	return framework.NewCrawler(s, reg, nil)
}

// dirBytes sums the sizes of the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
