package queues

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/builtin/queues/queuestore"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

func persistentCfg(key string, down, start framework.QueueFactory) framework.PriorityQueueConfig {
	return framework.PriorityQueueConfig{Downstream: down, Start: start, Key: key, Job: testJob(key)}
}

// testJob is the job directory config of a persistent priority queue at
// key, with the defaults.
func testJob(key string) *framework.JobConfig {
	job := &framework.JobConfig{Dir: filepath.Dir(key)}
	if err := job.Validate(); err != nil {
		panic(err)
	}
	return job
}

func openPSPQ(t *testing.T, key string, down, start framework.QueueFactory) *ScrapyPriorityQueue {
	t.Helper()
	pq, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), persistentCfg(key, down, start))
	if err != nil {
		t.Fatal(err)
	}
	return pq
}

func openPDAPQ(t *testing.T, key string, down framework.QueueFactory) *DownloaderAwarePriorityQueue {
	t.Helper()
	q, err := NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), persistentCfg(key, down, nil))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// fileQueues hides the priority queue's store from f, so that its buckets
// are files, as a third-party disk queue's are.
func fileQueues(f framework.QueueFactory) framework.QueueFactory {
	return func(_ context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
		cfg.Store = nil
		return f(context.Background(), c, cfg)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Scrapy's test_slot_directory_removed_when_slot_drains, with the drained
// slot removed by the Flush after the pop (the pop is not durable before).
func TestPersistentDAPQSlotDirectoryRemovedWhenSlotDrains(t *testing.T) {
	key := filepath.Join(t.TempDir(), "requests.queue")
	q := openPDAPQ(t, key, fileQueues(FifoDiskFactory))
	defer q.Close()
	slotDir := filepath.Join(key, PathSafe("example.org"))
	// A third-party disk queue makes its directory when it first writes.
	if err := q.Push(req("https://example.org/a")); err != nil {
		t.Fatal(err)
	}
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	if !exists(slotDir) {
		t.Fatal("no slot directory after a push")
	}
	if r, err := q.Pop(); err != nil || r == nil {
		t.Fatal(r, err)
	}
	if !exists(slotDir) {
		t.Fatal("slot directory removed before the pop was made durable by a Flush")
	}
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	if exists(slotDir) {
		t.Fatal("slot directory left after the slot drained")
	}
	if err := q.Push(req("https://example.org/b")); err != nil {
		t.Fatal(err)
	}
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	if !exists(slotDir) {
		t.Fatal("slot directory not recreated")
	}
}

// Scrapy's test_init_prios_with_start_queue: a start request survives a
// close and a reopening.
func TestPersistentSPQStartQueue(t *testing.T) {
	key := filepath.Join(t.TempDir(), "requests.queue")
	pq := openPSPQ(t, key, FifoDiskFactory, FifoDiskFactory)
	if err := pq.Push(prioReq("https://example.org/start", 0, true)); err != nil {
		t.Fatal(err)
	}
	if err := pq.Close(); err != nil {
		t.Fatal(err)
	}
	pq = openPSPQ(t, key, FifoDiskFactory, FifoDiskFactory)
	defer pq.Close()
	if pq.Len() != 1 {
		t.Fatal(pq.Len())
	}
	if r, _ := pq.Pop(); r == nil || r.URL != "https://example.org/start" || !r.IsStart() {
		t.Fatal(r)
	}
}

// queuelib's test_reopen_with_prio and test_close_return_active, on disk:
// the order survives a reopening, and a drained queue leaves no bucket.
func TestPersistentSPQReopenWithPrio(t *testing.T) {
	for _, down := range []struct {
		name string
		f    framework.QueueFactory
	}{{"lifo", LifoDiskFactory}, {"fifo", FifoDiskFactory}} {
		t.Run(down.name, func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "requests.queue")
			pq := openPSPQ(t, key, down.f, nil)
			for _, p := range []struct {
				u    string
				prio int
			}{{"a", 3}, {"b", 1}, {"c", 2}} {
				if err := pq.Push(prioReq("https://example.org/"+p.u, p.prio, false)); err != nil {
					t.Fatal(err)
				}
			}
			if err := pq.Close(); err != nil {
				t.Fatal(err)
			}
			pq = openPSPQ(t, key, down.f, nil)
			if got := pq.Priorities(); !slices.Equal(got, []int{3, 2, 1}) {
				t.Fatalf("priorities after reopening %v", got)
			}
			var got []string
			for {
				r, err := pq.Pop()
				if err != nil {
					t.Fatal(err)
				}
				if r == nil {
					break
				}
				got = append(got, r.URL[len("https://example.org/"):])
			}
			if !slices.Equal(got, []string{"a", "c", "b"}) {
				t.Fatal(got)
			}
			if err := pq.Close(); err != nil {
				t.Fatal(err)
			}
			st := bucketState(t, key)
			if len(st.Live) != 0 {
				t.Fatalf("live buckets after draining: %v", st.Live)
			}
			entries, _ := os.ReadDir(key)
			for _, e := range entries {
				if e.Name() != jobdir.BucketJournalFile && e.Name() != queuestore.IndexFile {
					t.Errorf("%s left in the queue directory", e.Name())
				}
			}
		})
	}
}

func bucketState(t *testing.T, key string) jobdir.BucketState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(key, jobdir.BucketJournalFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := jobdir.DecodeBuckets(b)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The buckets are found again after a crash: they are known from the bucket
// journal, written as they are created, not from state written at close
// (Scrapy's active.json, which a crash never writes).
func TestPersistentQueuesSurviveCrash(t *testing.T) {
	t.Run("spq", func(t *testing.T) {
		key := filepath.Join(t.TempDir(), "requests.queue")
		pq := openPSPQ(t, key, LifoDiskFactory, FifoDiskFactory)
		for i := 0; i < 9; i++ {
			pq.Push(prioReq(fmt.Sprintf("https://example.org/%d", i), i%3, i%2 == 0))
		}
		if err := pq.Flush(); err != nil {
			t.Fatal(err)
		}
		// A crash: no Close. A new queue finds every bucket.
		pq2 := openPSPQ(t, key, LifoDiskFactory, FifoDiskFactory)
		defer pq2.Close()
		if pq2.Len() != 9 || !slices.Equal(pq2.Priorities(), []int{2, 1, 0}) {
			t.Fatalf("after a crash: %d requests, priorities %v", pq2.Len(), pq2.Priorities())
		}
	})
	t.Run("dapq", func(t *testing.T) {
		key := filepath.Join(t.TempDir(), "requests.queue")
		q := openPDAPQ(t, key, LifoDiskFactory)
		for i := 0; i < 12; i++ {
			q.Push(slotReq(fmt.Sprintf("slot %d/x", i%4), fmt.Sprintf("https://example.org/%d", i)))
		}
		if err := q.Flush(); err != nil {
			t.Fatal(err)
		}
		q2 := openPDAPQ(t, key, LifoDiskFactory)
		defer q2.Close()
		if q2.Len() != 12 || !slices.Equal(q2.Slots(), []string{"slot 0/x", "slot 1/x", "slot 2/x", "slot 3/x"}) {
			t.Fatalf("after a crash: %d requests, slots %q", q2.Len(), q2.Slots())
		}
		if got := popSlots(t, q2); len(got) != 12 {
			t.Fatal(got)
		}
	})
}

// A drained bucket keeps its files until Flush: the pop is not durable before
// the scheduler has recorded the request in flight.
func TestPersistentDrainedBucketDeletedAtFlush(t *testing.T) {
	key := filepath.Join(t.TempDir(), "requests.queue")
	pq := openPSPQ(t, key, fileQueues(LifoDiskFactory), nil)
	defer pq.Close()
	pq.Push(prioReq("https://example.org/a", 0, false))
	pq.Flush()
	bucketFile := filepath.Join(key, "0")
	if !exists(bucketFile) {
		t.Fatal("bucket file missing")
	}
	pq.Pop()
	if !exists(bucketFile) {
		t.Fatal("bucket file deleted before Flush")
	}
	// A push before the Flush takes the drained bucket back.
	pq.Push(prioReq("https://example.org/b", 0, false))
	pq.Flush()
	if !exists(bucketFile) || pq.Len() != 1 || !slices.Equal(bucketState(t, key).Live, []string{"0"}) {
		t.Fatalf("refilled bucket: len %d, live %v", pq.Len(), bucketState(t, key).Live)
	}
	pq.Pop()
	pq.Flush()
	if exists(bucketFile) || len(bucketState(t, key).Live) != 0 {
		t.Fatal("drained bucket not removed by Flush")
	}
}

// A bucket journal written by one priority queue kind is refused by the other.
func TestPersistentQueuesRefuseOtherKind(t *testing.T) {
	key := filepath.Join(t.TempDir(), "requests.queue")
	q := openPDAPQ(t, key, LifoDiskFactory)
	q.Push(req("https://example.org/a"))
	q.Close()
	_, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), persistentCfg(key, LifoDiskFactory, nil))
	if !errors.Is(err, jobdir.ErrPriorityQueueMismatch) {
		t.Fatalf("got %v", err)
	}
}

// A job kept as files gets its buckets from one filequeue.Store: the
// buckets share a pool, and with it one run of delivery identifiers.
func TestPersistentFilesLayoutSharesOneStore(t *testing.T) {
	key := filepath.Join(t.TempDir(), "requests.queue")
	cfg := persistentCfg(key, FifoDiskFactory, nil)
	cfg.Job.QueueLayout = framework.LayoutFiles
	pq, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pq.Close()
	if _, ok := pq.disk.buckets.(*filequeue.Store); !ok {
		t.Fatalf("buckets kept in %T, want a *filequeue.Store", pq.disk.buckets)
	}
	for i := range 6 {
		r := framework.MustRequest(fmt.Sprintf("https://example.org/%d", i))
		r.Priority = i % 2
		if err := pq.Push(r); err != nil {
			t.Fatal(err)
		}
	}
	for p, b := range pq.reg {
		if _, ok := b.q.(*filequeue.Queue); !ok {
			t.Fatalf("bucket %d is a %T", p, b.q)
		}
	}
	ids := map[uint64]bool{}
	lo, hi := uint64(1<<63), uint64(0)
	for range 6 {
		r, err := pq.Pop()
		if err != nil || r == nil {
			t.Fatalf("pop: %v, %v", r, err)
		}
		ids[r.Delivery] = true
		lo, hi = min(lo, r.Delivery), max(hi, r.Delivery)
	}
	if len(ids) != 6 || hi-lo != 5 {
		t.Fatalf("delivery IDs %v: want one run of 6 shared by the buckets", ids)
	}
}

// A bucket drained and created again, whose bucket journal is then cut
// between the removal and the new creation (a copy cut short, a power cut
// under JOBDIR_FSYNC=never): the removal's mark tells the new bucket's
// requests, pushed after it, from the drained one's leftovers, and the
// resume keeps them. A drained bucket's own leftovers (its file back after
// a power cut) are still deleted.
func TestPersistentRecreatedBucketSurvivesCutJournal(t *testing.T) {
	for _, layout := range []framework.QueueLayout{framework.LayoutFiles, framework.LayoutStore} {
		t.Run(string(layout), func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "requests.queue")
			open := func() *ScrapyPriorityQueue {
				cfg := persistentCfg(key, LifoDiskFactory, nil)
				cfg.Job.QueueLayout = layout
				pq, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				return pq
			}
			pq := open()
			for _, u := range []string{"a", "old"} {
				if err := pq.Push(prioReq("https://example.org/"+u, 0, false)); err != nil {
					t.Fatal(err)
				}
			}
			if err := pq.Push(prioReq("https://example.org/leftover", 1, false)); err != nil {
				t.Fatal(err)
			}
			if err := pq.Flush(); err != nil {
				t.Fatal(err)
			}
			leftover := filepath.Join(key, "-1")
			saved, _ := os.ReadFile(leftover) // files layout only
			for range 3 {
				if r, err := pq.Pop(); err != nil || r == nil {
					t.Fatal(r, err)
				}
			}
			if err := pq.Flush(); err != nil {
				t.Fatal(err)
			}
			st := bucketState(t, key)
			if len(st.Removed) != 2 || len(st.Marks) != 2 {
				t.Fatalf("after the drain the journal says removed %v, marks %v", st.Removed, st.Marks)
			}
			cut, err := os.Stat(filepath.Join(key, jobdir.BucketJournalFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"b", "c"} {
				if err := pq.Push(prioReq("https://example.org/"+u, 0, false)); err != nil {
					t.Fatal(err)
				}
			}
			if err := pq.Flush(); err != nil {
				t.Fatal(err)
			}
			// A crash (no Close), the journal cut before the creation, and
			// the drained bucket's file back.
			if err := os.Truncate(filepath.Join(key, jobdir.BucketJournalFile), cut.Size()); err != nil {
				t.Fatal(err)
			}
			if saved != nil {
				if err := os.WriteFile(leftover, saved, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			pq2 := open()
			defer pq2.Close()
			if pq2.Len() != 2 {
				t.Fatalf("resumed %d requests, want 2 (b and c)", pq2.Len())
			}
			if got := urls(t, pq2, 2); !slices.Equal(got, []string{"https://example.org/c", "https://example.org/b"}) {
				t.Fatalf("resumed %q, want the created-again bucket's c and b and nothing of the drained ones", got)
			}
			if exists(leftover) {
				t.Fatal("the drained bucket's leftover file was not deleted")
			}
		})
	}
}
