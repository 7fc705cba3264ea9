package queues

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// Issue 10: deleting the bucket journal dropped every pending request,
// whose records were intact. The journal is rebuilt from the queue's data:
// the queue store's buckets, or the buckets' files, for both priority
// queues (slots whose directory name hides them are read from the first
// request).
func TestPersistentQueuesRebuildLostBucketJournal(t *testing.T) {
	for _, layout := range []framework.QueueLayout{framework.LayoutStore, framework.LayoutFiles} {
		t.Run(fmt.Sprintf("spq/%v", layout), func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "requests.queue")
			cfg := persistentCfg(key, LifoDiskFactory, FifoDiskFactory)
			cfg.Job.QueueLayout = layout
			pq, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 9; i++ {
				pq.Push(prioReq(fmt.Sprintf("https://example.org/%d", i), i%3, i%2 == 0))
			}
			if err := pq.Close(); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(key, jobdir.BucketJournalFile)); err != nil {
				t.Fatal(err)
			}
			pq2, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer pq2.Close()
			if pq2.Len() != 9 || !slices.Equal(pq2.Priorities(), []int{2, 1, 0}) {
				t.Fatalf("after losing the bucket journal: %d requests, priorities %v", pq2.Len(), pq2.Priorities())
			}
			if st := bucketState(t, key); len(st.Live) == 0 {
				t.Fatal("the rebuilt journal lists no bucket")
			}
		})
		t.Run(fmt.Sprintf("dapq/%v", layout), func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "requests.queue")
			cfg := persistentCfg(key, FifoDiskFactory, nil)
			cfg.Job.QueueLayout = layout
			q, err := NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			slots := []string{"example.com", "slot 1/x", "slot 2/x"}
			for i := 0; i < 12; i++ {
				q.Push(slotReq(slots[i%3], fmt.Sprintf("https://example.org/%d", i)))
			}
			if err := q.Flush(); err != nil { // a crash: no Close
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(key, jobdir.BucketJournalFile)); err != nil {
				t.Fatal(err)
			}
			q2, err := NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer q2.Close()
			if q2.Len() != 12 || !slices.Equal(q2.Slots(), slots) {
				t.Fatalf("after losing the bucket journal: %d requests, slots %q", q2.Len(), q2.Slots())
			}
			if got := popSlots(t, q2); len(got) != 12 {
				t.Fatal(got)
			}
		})
	}
}

// Issue 10: a bucket journal cut short, or replaced by another file,
// dropped the buckets it no longer named, whose data was intact. The data is
// the truth: every bucket it holds that the journal neither lists nor
// removed is added back, for both priority queues and both layouts, and a
// file that is no bucket journal is kept aside, never deleted.
func TestPersistentQueuesUnionDamagedBucketJournal(t *testing.T) {
	damages := map[string]func(t *testing.T, path string){
		"cut": func(t *testing.T, path string) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data[:len(data)/3], 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"foreign": func(t *testing.T, path string) {
			// Whole frames of a type no bucket journal writes (an in-flight
			// journal in its place).
			if err := os.WriteFile(path, jobdir.EncodeInFlight(3, []jobdir.Delivery{{ID: 3<<40 | 1, Record: []byte("x")}}, nil), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	}
	for _, layout := range []framework.QueueLayout{framework.LayoutStore, framework.LayoutFiles} {
		for name, damage := range damages {
			t.Run(fmt.Sprintf("spq/%v/%s", layout, name), func(t *testing.T) {
				dir := t.TempDir()
				key := filepath.Join(dir, "requests.queue")
				cfg := persistentCfg(key, LifoDiskFactory, FifoDiskFactory)
				cfg.Job.QueueLayout = layout
				pq, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 12; i++ {
					pq.Push(prioReq(fmt.Sprintf("https://example.org/%d", i), i%4, i%2 == 0))
				}
				if err := pq.Flush(); err != nil { // a crash: no Close, the journal uncompacted
					t.Fatal(err)
				}
				damage(t, filepath.Join(key, jobdir.BucketJournalFile))
				pq2, err := NewScrapyPriorityQueue(context.Background(), testCrawler(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer pq2.Close()
				if pq2.Len() != 12 {
					t.Fatalf("after damaging the bucket journal: %d requests, want 12", pq2.Len())
				}
				if name == "foreign" {
					kept, _ := filepath.Glob(filepath.Join(dir, jobdir.DamagedDirPrefix+"*", "requests.queue", jobdir.BucketJournalFile))
					if len(kept) != 1 {
						t.Fatalf("the foreign file is not kept aside: %v", kept)
					}
				}
			})
			t.Run(fmt.Sprintf("dapq/%v/%s", layout, name), func(t *testing.T) {
				key := filepath.Join(t.TempDir(), "requests.queue")
				cfg := persistentCfg(key, FifoDiskFactory, nil)
				cfg.Job.QueueLayout = layout
				q, err := NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				slots := []string{"a.example", "b.example", "slot 3/x", "d.example"}
				for i := 0; i < 16; i++ {
					q.Push(slotReq(slots[i%4], fmt.Sprintf("https://example.org/%d", i)))
				}
				if err := q.Flush(); err != nil {
					t.Fatal(err)
				}
				damage(t, filepath.Join(key, jobdir.BucketJournalFile))
				q2, err := NewDownloaderAwarePriorityQueue(context.Background(), testCrawler(t), cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer q2.Close()
				if got := popSlots(t, q2); len(got) != 16 {
					t.Fatalf("after damaging the bucket journal: popped %d requests, want 16", len(got))
				}
			})
		}
	}
}
