package queues

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// tickedJob is the job config of a persistent priority queue at key under
// JOBDIR_FSYNC=interval, whose shared fsync clock the test leads as the
// scheduler does.
func tickedJob(key string, tick *recordio.SyncTick) *framework.JobConfig {
	job := testJob(key)
	job.Fsync = recordio.FsyncPolicy{Mode: recordio.FsyncInterval, Interval: time.Hour, Tick: tick}
	return job
}

// inTick runs flush inside the n-th tick the test leads.
func inTick(t *testing.T, tick *recordio.SyncTick, n int, flush func() error) {
	t.Helper()
	if !tick.Begin(time.Now().Add(time.Duration(n)*2*time.Hour), time.Hour) {
		t.Fatal("the tick did not begin")
	}
	defer tick.End()
	if err := flush(); err != nil {
		t.Fatal(err)
	}
}

// Under interval, a bucket drained between two ticks keeps its place in the
// bucket journal, and its data (files, or the store's bucket), until the
// next tick: its removal, written earlier, could reach the disk at a power
// cut before the in-flight journal's record of the delivery that drained it,
// which only the tick fsyncs. Both priority queues, both layouts.
func TestPersistentDrainWaitsForTick(t *testing.T) {
	for _, layout := range []string{"store", "files"} {
		for _, dapq := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/dapq=%v", layout, dapq), func(t *testing.T) {
				key := filepath.Join(t.TempDir(), "requests.queue")
				tick := recordio.NewSyncTick()
				down := FifoDiskFactory
				if layout == "files" {
					down = fileQueues(down)
				}
				cfg := framework.PriorityQueueConfig{Downstream: down, Key: key, Job: tickedJob(key, tick)}
				var q interface {
					framework.PriorityQueue
					Flush() error
				}
				name := "0"
				var err error
				if dapq {
					q, err = NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), cfg)
					name = "0/slot"
				} else {
					q, err = NewScrapyPriorityQueue(context.Background(), testCrawler(t), cfg)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer q.Close()
				if err := q.Push(slotReq("slot", "https://example.org/a")); err != nil {
					t.Fatal(err)
				}
				inTick(t, tick, 0, q.Flush)
				if r, err := q.Pop(); err != nil || r == nil {
					t.Fatalf("pop: %v, %v", r, err)
				}
				if err := q.Flush(); err != nil { // between ticks
					t.Fatal(err)
				}
				if st := bucketState(t, key); !slices.Equal(st.Live, []string{name}) || len(st.Removed) != 0 {
					t.Fatalf("after a flush between ticks the bucket journal lists %v, removed %v: want %s still live", st.Live, st.Removed, name)
				}
				if got := pendingAfterCrash(t, key, cfg, dapq); got != 1 {
					t.Fatalf("after a crash between ticks: %d pending, want the popped request back", got)
				}
				inTick(t, tick, 1, q.Flush)
				if st := bucketState(t, key); len(st.Live) != 0 {
					t.Fatalf("after the tick the bucket journal lists %v live", st.Live)
				}
				if got := pendingAfterCrash(t, key, cfg, dapq); got != 0 {
					t.Fatalf("after a crash after the tick: %d pending, want none", got)
				}
			})
		}
	}
}

// pendingAfterCrash opens a copy of the queue at key, as a crash left it,
// and returns how many requests it holds.
func pendingAfterCrash(t *testing.T, key string, cfg framework.PriorityQueueConfig, dapq bool) int {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "requests.queue")
	if err := os.CopyFS(dst, os.DirFS(key)); err != nil {
		t.Fatal(err)
	}
	cfg.Key, cfg.Job = dst, testJob(dst)
	var q framework.PriorityQueue
	var err error
	if dapq {
		q, err = NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), cfg)
	} else {
		q, err = NewScrapyPriorityQueue(context.Background(), testCrawler(t), cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	return q.Len()
}
