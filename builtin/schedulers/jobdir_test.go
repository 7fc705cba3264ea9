package schedulers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
	"github.com/frontier-go/frontier/jobdir"
	"github.com/frontier-go/frontier/registry"
)

// registerDiskQueues makes Scrapy's disk queue names resolve to the built-in
// disk queues in r, when queues.Register does not already.
func registerDiskQueues(r *registry.Registry) {
	for _, e := range []struct {
		name string
		f    framework.QueueFactory
	}{
		{"scrapy.squeues.PickleLifoDiskQueue", queues.LifoDiskFactory},
		{"scrapy.squeues.PickleFifoDiskQueue", queues.FifoDiskFactory},
	} {
		if _, err := r.Lookup(e.name); err != nil {
			r.MustRegister(registry.Entry{Name: e.name, Factory: e.f})
		}
	}
}

// jobCrawler returns a crawler with JOBDIR=dir and Scrapy's default disk
// queues (LIFO, FIFO for start requests), as Scrapy's TestSchedulerOnDisk.
func jobCrawler(t *testing.T, dir string, overrides map[string]any) *framework.Crawler {
	t.Helper()
	opts := map[string]any{
		"JOBDIR":                     dir,
		"SCHEDULER_DISK_QUEUE":       "scrapy.squeues.PickleLifoDiskQueue",
		"SCHEDULER_START_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
		"JOBDIR_FSYNC":               "never",
	}
	for k, v := range overrides {
		opts[k] = v
	}
	c := newCrawler(t, opts)
	registerDiskQueues(c.Registry)
	return c
}

func openJob(t *testing.T, dir string, overrides map[string]any) *Scheduler {
	t.Helper()
	s, err := New(context.Background(), jobCrawler(t, dir, overrides))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func closeJob(t *testing.T, s *Scheduler) {
	t.Helper()
	if err := s.Close("shutdown"); err != nil {
		t.Fatal(err)
	}
}

// crash abandons s as a killed process would: nothing buffered is written,
// nothing is closed; only the lock is released (the kernel does that for a
// dead process), so that the job can be opened again in this process. The
// requests handed off by Enqueue are queued first: the kill comes after
// the Enqueue calls' pushes (a kill before them is a kill before those
// calls, which wrote nothing either). The handoff's goroutine is stopped.
func crash(s *Scheduler) {
	if s.handoff != nil {
		_ = s.handoff.stop() // a push error would have been the killed process's
		s.handoff = nil
	}
	s.job.dir.Close()
}

func drain(t *testing.T, s *Scheduler) []*framework.Request {
	t.Helper()
	var out []*framework.Request
	for s.HasPending() {
		r, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			break
		}
		out = append(out, r)
	}
	return out
}

func urls(rs []*framework.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.URL
	}
	return out
}

// Scrapy's SchedulerTestMixin on disk (TestSchedulerOnDisk and
// TestSchedulerWithDownloaderAwareOnDisk): requests enqueued, the scheduler
// closed and a new one opened on the same JOBDIR.
func TestSchedulerOnDisk(t *testing.T) {
	for _, c := range []struct{ pq, layout string }{
		{priorityQueues[0], "store"}, {priorityQueues[1], "store"},
		{priorityQueues[0], "files"}, {priorityQueues[1], "files"},
	} {
		pq := c.pq
		t.Run(pq+"/"+c.layout, func(t *testing.T) {
			opts := map[string]any{"SCHEDULER_PRIORITY_QUEUE": pq, "JOBDIR_QUEUE_LAYOUT": c.layout}
			t.Run("length", func(t *testing.T) {
				dir := t.TempDir()
				s := openJob(t, dir, opts)
				if s.HasPending() || s.Len() != 0 {
					t.Fatal("not empty")
				}
				for _, u := range testURLs {
					if ok, err := s.Enqueue(framework.MustRequest(u)); !ok || err != nil {
						t.Fatal(ok, err)
					}
				}
				closeJob(t, s)
				s = openJob(t, dir, opts)
				defer closeJob(t, s)
				if !s.HasPending() || s.Len() != 3 {
					t.Fatal(s.Len())
				}
			})
			t.Run("dequeue", func(t *testing.T) {
				dir := t.TempDir()
				s := openJob(t, dir, opts)
				for _, u := range testURLs {
					_, _ = s.Enqueue(framework.MustRequest(u))
				}
				closeJob(t, s)
				s = openJob(t, dir, opts)
				defer closeJob(t, s)
				got := urls(drain(t, s))
				slices.Sort(got)
				if !slices.Equal(got, testURLs) {
					t.Fatal(got)
				}
				if st := s.c.Stats; st.Get(framework.StatDequeuedDisk) != 3 || st.Get(framework.StatRedelivered) != 0 {
					t.Fatal(st.Snapshot())
				}
			})
			t.Run("dequeue_priorities", func(t *testing.T) {
				dir := t.TempDir()
				s := openJob(t, dir, opts)
				for _, p := range testPriorities {
					r := framework.MustRequest(p.url)
					r.Priority = p.prio
					_, _ = s.Enqueue(r)
				}
				closeJob(t, s)
				s = openJob(t, dir, opts)
				defer closeJob(t, s)
				var got []int
				for _, r := range drain(t, s) {
					got = append(got, r.Priority)
				}
				if !slices.Equal(got, []int{2, 1, 0, -1, -2}) {
					t.Fatal(got)
				}
			})
		})
	}
}

// Scrapy's TestMigration: a job started with the Scrapy priority queue
// cannot be resumed with the downloader-aware one; the error names both.
func TestSchedulerMigration(t *testing.T) {
	dir := t.TempDir()
	s := openJob(t, dir, map[string]any{"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue"})
	for _, u := range testURLs {
		_, _ = s.Enqueue(framework.MustRequest(u))
	}
	closeJob(t, s)
	s2, err := New(context.Background(), jobCrawler(t, dir, map[string]any{"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue"}))
	if err != nil {
		t.Fatal(err)
	}
	err = s2.Open(context.Background())
	if !errors.Is(err, jobdir.ErrPriorityQueueMismatch) {
		t.Fatalf("got %v", err)
	}
	for _, w := range []string{"frontier.pqueues.Priority", "frontier.pqueues.DownloaderAware", dir} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	// The refused scheduler left the job directory usable.
	s = openJob(t, dir, map[string]any{"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue"})
	defer closeJob(t, s)
	if s.Len() != 3 {
		t.Fatal(s.Len())
	}
}

// Scrapy's DownloaderAwareSchedulerTestMixin.test_logic on disk, with a
// reopening between the enqueues and the dequeues.
func TestSchedulerDownloaderAwareLogicOnDisk(t *testing.T) {
	dir := t.TempDir()
	opts := map[string]any{"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue"}
	s := openJob(t, dir, opts)
	for i, slot := range []string{"a", "a", "b", "b", "c", "c"} {
		r := framework.MustRequest(fmt.Sprintf("http://foo.com/%d", i))
		r.Meta = map[string]any{framework.MetaDownloadSlot: slot}
		_, _ = s.Enqueue(r)
	}
	closeJob(t, s)
	s = openJob(t, dir, opts)
	defer closeJob(t, s)
	var order []string
	out := drain(t, s)
	for _, r := range out {
		order = append(order, r.Slot())
	}
	if len(order) != 6 {
		t.Fatal(order)
	}
	for i := 0; i < len(order); i += 3 {
		w := slices.Clone(order[i : i+3])
		slices.Sort(w)
		if len(slices.Compact(w)) != 3 {
			t.Fatalf("unfair order %v", order)
		}
	}
	for _, r := range out {
		if err := s.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if s.InFlight() != 0 {
		t.Fatal(s.InFlight())
	}
}

// Scrapy's test_dupefilter_path through the scheduler: fingerprints recorded
// in one run filter the same requests in the next.
func TestSchedulerDupefilterPath(t *testing.T) {
	dir := t.TempDir()
	opts := map[string]any{"DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter"}
	s := openJob(t, dir, opts)
	if ok, _ := s.Enqueue(framework.MustRequest("http://foo.com/1")); !ok {
		t.Fatal("r1 filtered in a new job")
	}
	closeJob(t, s)
	s = openJob(t, dir, opts)
	defer closeJob(t, s)
	if ok, _ := s.Enqueue(framework.MustRequest("http://foo.com/1")); ok {
		t.Fatal("r1 not filtered after reopening")
	}
	if ok, _ := s.Enqueue(framework.MustRequest("http://foo.com/2")); !ok {
		t.Fatal("r2 filtered")
	}
	if ok, _ := s.Enqueue(framework.MustRequest("http://foo.com/2")); ok {
		t.Fatal("r2 not filtered the second time")
	}
}

// Scrapy's test_spiderstate: the spider's state is loaded at open and saved
// at close; test_state_attribute: without JOBDIR it is an empty map.
func TestSchedulerSpiderState(t *testing.T) {
	dir := t.TempDir()
	s := openJob(t, dir, nil)
	if st := s.c.Spider.State; st == nil || len(st) != 0 {
		t.Fatalf("state at the first open: %v", st)
	}
	s.c.Spider.State["one"] = 1
	s.c.Spider.State["list"] = []any{"a", 2.5}
	closeJob(t, s)
	s = openJob(t, dir, nil)
	want := map[string]any{"one": int64(1), "list": []any{"a", 2.5}}
	if !reflect.DeepEqual(s.c.Spider.State, want) {
		t.Fatalf("state after reopening %#v", s.c.Spider.State)
	}
	// A checkpoint saves the state without closing.
	s.c.Spider.State["pages"] = 7
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	crash(s)
	st, err := jobdir.LoadState(dir)
	if err != nil || st["pages"] != int64(7) {
		t.Fatalf("state after a checkpoint and a crash: %v, %v", st, err)
	}

	m := openScheduler(t, newCrawler(t, nil))
	if st := m.c.Spider.State; st == nil || len(st) != 0 {
		t.Fatalf("state without JOBDIR: %v", st)
	}
}

// Scrapy's test_utils_job: a nested missing JOBDIR is created.
func TestSchedulerCreatesJobDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "job")
	s := openJob(t, dir, nil)
	defer closeJob(t, s)
	for _, name := range []string{jobdir.ManifestFile, jobdir.LockFile, jobdir.InFlightFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

// TestSchedulerRedelivery crashes a scheduler (nothing closed) with
// requests in flight: they come back first, marked redelivered, each once;
// finished ones never come back; the disk queue's own copy of a request
// whose pop had not become durable is dropped.
func TestSchedulerRedelivery(t *testing.T) {
	for _, pq := range priorityQueues {
		t.Run(pq, func(t *testing.T) {
			dir := t.TempDir()
			opts := map[string]any{"SCHEDULER_PRIORITY_QUEUE": pq}
			s := openJob(t, dir, opts)
			for i := 0; i < 6; i++ {
				_, _ = s.Enqueue(framework.MustRequest(fmt.Sprintf("http://foo%d.com/", i)))
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			var out []*framework.Request
			for i := 0; i < 3; i++ {
				r, _ := s.Next()
				out = append(out, r)
			}
			s.Finish(out[0], nil)
			if err := s.Flush(); err != nil { // out[1], out[2] in flight, durably
				t.Fatal(err)
			}
			// One more handed out: its delivery record is written (the
			// enqueue below writes it first) but its pop never becomes
			// durable, since no flush follows.
			r3, _ := s.Next()
			_, _ = s.Enqueue(framework.MustRequest("http://late.com/"))
			crash(s)

			s = openJob(t, dir, opts)
			defer closeJob(t, s)
			// 3 to redeliver, 2 pending, and r3's copy in its queue, which
			// the queue still counts until it is popped and dropped.
			if s.Len() != 6 {
				t.Fatalf("Len after the crash: %d", s.Len())
			}
			got := drain(t, s)
			var redelivered, fresh []string
			for _, r := range got {
				if r.Redelivered {
					redelivered = append(redelivered, r.URL)
				} else {
					fresh = append(fresh, r.URL)
				}
			}
			want := []string{out[1].URL, out[2].URL, r3.URL}
			slices.Sort(want)
			slices.Sort(redelivered)
			if !slices.Equal(redelivered, want) {
				t.Fatalf("redelivered %v, want %v", redelivered, want)
			}
			for _, u := range fresh {
				if slices.Contains(want, u) || u == out[0].URL {
					t.Fatalf("%s delivered again as a new request (all: %v)", u, urls(got))
				}
			}
			// late.com/ was never flushed, so never acknowledged: a crash may
			// lose it (here it does, the disk queue had it in its buffer).
			if len(got) != 5 {
				t.Fatalf("got %v; want the 3 redelivered and the 2 pending", urls(got))
			}
			if r := got[0]; !r.Redelivered || r.Delivery == 0 {
				t.Fatalf("the first request after a crash is not a redelivered one: %+v", r)
			}
			st := s.c.Stats
			if st.Get(framework.StatRedelivered) != 3 || st.Get(StatGhostsSkipped) != 1 || st.Get(framework.StatInFlight) != 5 {
				t.Fatal(st.Snapshot())
			}
		})
	}
}

// Closing twice is harmless; the job directory is released by the first.
func TestSchedulerCloseTwice(t *testing.T) {
	dir := t.TempDir()
	s := openJob(t, dir, nil)
	s.Enqueue(framework.MustRequest("http://foo.com/a"))
	closeJob(t, s)
	if err := s.Close("again"); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s = openJob(t, dir, nil)
	defer closeJob(t, s)
	if s.Len() != 1 {
		t.Fatal(s.Len())
	}
}

// A job written in format 1 (each bucket a file of its own, before the queue
// store) resumes with its files, and its manifest is upgraded to the current
// format so that older builds refuse it.
func TestSchedulerResumesFormat1Job(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "job")
	qdir := filepath.Join(dir, jobdir.QueueDir)
	if err := os.MkdirAll(qdir, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := `{"format": 1, "priority_queue": "frontier.pqueues.Priority", "created_by": "frontier v0.1.0", "created": "2026-11-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(dir, jobdir.ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	j, _, err := jobdir.OpenBuckets(filepath.Join(qdir, jobdir.BucketJournalFile), jobdir.FsyncPolicy{Mode: jobdir.FsyncNever}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0", "-1"} {
		if err := j.Add(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(j.Flush(true), j.Close()); err != nil {
		t.Fatal(err)
	}
	for bucket, urls := range map[string][]string{"0": {"https://a.example/1", "https://a.example/2"}, "-1": {"https://a.example/hi"}} {
		q, err := filequeue.NewLifo(filepath.Join(qdir, bucket), disk.Config{})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range urls {
			r, _ := framework.NewRequest(u)
			r.Priority = len(bucket) - 1 // "-1" holds priority 1
			if err := q.Push(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}

	s := openJob(t, dir, map[string]any{"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue"})
	var got []string
	for _, r := range drain(t, s) {
		got = append(got, r.URL)
	}
	closeJob(t, s)
	if want := []string{"https://a.example/hi", "https://a.example/2", "https://a.example/1"}; !slices.Equal(got, want) {
		t.Fatalf("format 1 job resumed with %q, want %q", got, want)
	}
	m, _, err := jobdir.ReadManifest(dir)
	if err != nil || m.Format != jobdir.FormatVersion || m.CreatedBy != "frontier v0.1.0" {
		t.Fatalf("manifest after resume: %+v, %v", m, err)
	}
	if _, err := os.Stat(filepath.Join(qdir, "queue.index")); err == nil {
		t.Fatal("a format 1 job with queue files got a queue store")
	}
}

// JOBDIR_QUEUE_LAYOUT=files keeps Scrapy's layout: a folder per download
// slot with a file per bucket, the slot's folder removed once emptied, and
// no queue store; the job keeps that layout when resumed with the default.
func TestSchedulerFilesLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "job")
	s := openJob(t, dir, map[string]any{"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue", "JOBDIR_QUEUE_LAYOUT": "files"})
	for _, u := range []string{"https://a.example/1", "https://a.example/2", "https://b.example/1"} {
		if ok, err := s.Enqueue(framework.MustRequest(u)); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	closeJob(t, s)
	qdir := filepath.Join(dir, jobdir.QueueDir)
	for _, slot := range []string{"a.example", "b.example"} {
		if _, err := os.Stat(filepath.Join(qdir, queues.PathSafe(slot), "0")); err != nil {
			t.Fatalf("slot %s: %v", slot, err)
		}
	}
	if _, err := os.Stat(filepath.Join(qdir, "queue.index")); err == nil {
		t.Fatal("a files-layout job has a queue store")
	}

	s = openJob(t, dir, map[string]any{"SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue"})
	got := urls(drain(t, s))
	slices.Sort(got)
	if want := []string{"https://a.example/1", "https://a.example/2", "https://b.example/1"}; !slices.Equal(got, want) {
		t.Fatalf("resumed with %q", got)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, slot := range []string{"a.example", "b.example"} {
		if _, err := os.Stat(filepath.Join(qdir, queues.PathSafe(slot))); err == nil {
			t.Fatalf("slot %s's folder left after it emptied", slot)
		}
	}
	closeJob(t, s)

	c := jobCrawler(t, filepath.Join(t.TempDir(), "job"), map[string]any{"JOBDIR_QUEUE_LAYOUT": "folders"})
	s2, err := New(context.Background(), c)
	if err == nil {
		err = s2.Open(context.Background())
	}
	if !errors.Is(err, framework.ErrSetting) {
		t.Fatalf("JOBDIR_QUEUE_LAYOUT=folders: %v", err)
	}
}

// Issue 10: when every pending request sits in chunks that cannot be read,
// Next skipped them all and returned nothing and no error while HasPending
// had said true (a `for HasPending() { Next() }` loop cannot tell why).
// It returns the corrupt-record error, and then nothing is pending.
func TestJobdirNextReportsSkippedRecords(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "job")
	s := openJob(t, dir, nil)
	for i := range 5 {
		if ok, err := s.Enqueue(framework.MustRequest(fmt.Sprintf("https://example.com/%d", i))); !ok || err != nil {
			t.Fatalf("enqueue: %v %v", ok, err)
		}
	}
	closeJob(t, s)
	segs, _ := filepath.Glob(filepath.Join(dir, jobdir.QueueDir, "queue.*.log"))
	flipped := 0
	for _, seg := range segs {
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		var at []int64
		if _, err := recordio.Scan(data, 0, func(off int64, f recordio.Frame) error {
			if f.Payload[0] == 'C' {
				at = append(at, off+int64(f.Size())/2)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, off := range at {
			data[off] ^= 0x20
			flipped++
		}
		if err := os.WriteFile(seg, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if flipped == 0 {
		t.Fatal("no chunk to damage")
	}
	s = openJob(t, dir, nil)
	defer closeJob(t, s)
	if !s.HasPending() {
		t.Fatal("nothing pending: the damaged chunks are not counted until read")
	}
	r, err := s.Next()
	if r != nil || !errors.Is(err, framework.ErrCorruptRecord) {
		t.Fatalf("Next: %v, %v; want no request and the corrupt-record error", r, err)
	}
	if s.HasPending() {
		t.Fatalf("still %d pending after every record was skipped", s.Len())
	}
}

// killedAfterQueues abandons s as a process killed right after its queues
// were written and before its fingerprints were: the requests are in the
// job, the dupefilter's file does not know them, and the lock file names a
// process that is gone.
func killedAfterQueues(t *testing.T, s *Scheduler, dir string) {
	t.Helper()
	s.settle()
	if err := s.job.journal.Flush(s.flushQueues, false); err != nil {
		t.Fatal(err)
	}
	crash(s)
	stale := `{"pid":2147483646,"host":"gone.example","started":"2026-01-01T00:00:00Z"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, jobdir.LockFile), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestUncleanStopRestoresFingerprints: requests a killed process had written
// without their fingerprints are filtered when offered again after the
// resume (a page linking to them), instead of being queued and crawled
// twice; those in flight too. After a clean stop nothing is walked.
func TestUncleanStopRestoresFingerprints(t *testing.T) {
	for _, layout := range []string{"store", "files"} {
		for _, pq := range priorityQueues {
			t.Run(layout+"/"+pq, func(t *testing.T) { testUncleanStopRestoresFingerprints(t, layout, pq) })
		}
	}
}

func testUncleanStopRestoresFingerprints(t *testing.T, layout, pq string) {
	dir := t.TempDir()
	opts := map[string]any{"SCHEDULER_PRIORITY_QUEUE": pq, "DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter", "JOBDIR_QUEUE_LAYOUT": layout}
	s := openJob(t, dir, opts)
	const n = 40
	for i := range n {
		if ok, err := s.Enqueue(framework.MustRequest(fmt.Sprintf("http://host%d.example/%d", i%4, i))); !ok || err != nil {
			t.Fatalf("enqueue %d: %v %v", i, ok, err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	inflight, err := s.Next()
	if err != nil || inflight == nil {
		t.Fatalf("Next: %v %v", inflight, err)
	}
	for i := n; i < 2*n; i++ {
		if ok, err := s.Enqueue(framework.MustRequest(fmt.Sprintf("http://host%d.example/%d", i%4, i))); !ok || err != nil {
			t.Fatalf("enqueue %d: %v %v", i, ok, err)
		}
	}
	killedAfterQueues(t, s, dir)

	s = openJob(t, dir, opts)
	defer closeJob(t, s)
	if ok, err := s.Enqueue(framework.MustRequest(inflight.URL)); ok || err != nil {
		t.Errorf("the request in flight at the kill was queued again (%v)", err)
	}
	for i := range 2 * n {
		u := fmt.Sprintf("http://host%d.example/%d", i%4, i)
		if ok, err := s.Enqueue(framework.MustRequest(u)); ok || err != nil {
			t.Errorf("%s, written before the kill without its fingerprint, was queued again (%v)", u, err)
		}
	}
	if got := len(drain(t, s)); got != 2*n {
		t.Errorf("%d requests after the resume, want %d", got, 2*n)
	}
}
