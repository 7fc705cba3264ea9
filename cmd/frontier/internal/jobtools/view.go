package jobtools

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/queues/queuestore"
	"github.com/frontier-go/frontier/jobdir"
)

// Queue layouts (Report.QueueLayout).
const (
	// LayoutStore is a job whose disk queues are buckets of one queue store
	// (requests.queue/queue.index and queue.<n>.log segments).
	LayoutStore = "store"
	// LayoutFiles is a job written before the queue store, or with a disk
	// queue that keeps its own files: each bucket is a file (LIFO) or a
	// directory (FIFO) in requests.queue.
	LayoutFiles = "files"
)

// queueView is a job's disk priority queue as its bucket journal lists it,
// read in place: a queue store with queuestore.Read, bucket files with the
// disk queues' read-only functions.
type queueView struct {
	key     string // the queue directory
	buckets []viewBucket
	// orphans are entries of the queue directory no live bucket owns.
	orphans []string
	journal jobdir.BucketState
	// hasStore is true when the queue directory holds a queue store.
	hasStore bool
	// unclaimed are the store's buckets the journal does not list, which a
	// resume drops (set by openStore).
	unclaimed []queuestore.BucketInfo
	// journalLost is true when the bucket journal is missing while the
	// queue's data holds buckets: journal.Live is then what a resume
	// rebuilds it with (queues.RebuildBucketNames).
	journalLost bool
	// foreign is why the bucket journal's file is not one (nil when it is
	// or is missing): a resume moves it aside and rebuilds it.
	foreign error
	// rebuilt are the buckets the data holds that the journal neither
	// lists nor removed: a resume adds them (they are in journal.Live too).
	rebuilt []string
	// skipped are the data's buckets whose names cannot be told: a resume
	// leaves them, not resumed.
	skipped []error
}

type viewBucket struct {
	queues.Bucket
	kind string
	// rel is the bucket's key in a queue store: its path relative to the
	// queue directory, with forward slashes.
	rel string
	// stored is true when the queue store holds the bucket (set by
	// openStore); pending is then the number of requests it holds.
	stored  bool
	pending int
}

// layout returns the view's queue layout, or "" when there is no queue yet.
func (v *queueView) layout() string {
	switch {
	case v.hasStore:
		return LayoutStore
	case len(v.journal.Live) > 0:
		return LayoutFiles
	}
	return ""
}

// openView reads dir's bucket journal and finds every live bucket's files.
// Buckets in a queue store are found by openStore.
func openView(dir string) (*queueView, error) {
	key := filepath.Join(dir, jobdir.QueueDir)
	v := &queueView{key: key, hasStore: queuestore.Has(key)}
	b, err := os.ReadFile(filepath.Join(key, jobdir.BucketJournalFile))
	lost := errors.Is(err, fs.ErrNotExist)
	if err != nil && !lost {
		return nil, fmt.Errorf("jobtools: %w", err)
	}
	if v.journal, err = jobdir.DecodeBuckets(b); err != nil {
		// Not a bucket journal (another file in its place): a resume
		// moves it aside and rebuilds it from the data.
		v.foreign, v.journal = err, jobdir.BucketState{}
	}
	if v.rebuilt, v.skipped, err = unlistedBuckets(dir, key, v.hasStore, &v.journal); err != nil {
		return nil, err
	}
	v.journalLost = lost && len(v.rebuilt) > 0
	v.journal.Live = append(slices.Clone(v.journal.Live), v.rebuilt...)
	owned := map[string]bool{filepath.Join(key, jobdir.BucketJournalFile): true}
	slotDirs := map[string]bool{}
	for _, name := range v.journal.Live {
		qb, err := queues.ParseBucket(key, name)
		if err != nil {
			return nil, fmt.Errorf("jobtools: %w", err)
		}
		rel, err := filepath.Rel(key, qb.Path)
		if err != nil {
			return nil, fmt.Errorf("jobtools: bucket %q: %w", name, err)
		}
		vb := viewBucket{Bucket: qb, rel: filepath.ToSlash(rel)}
		owned[qb.Path] = true
		if parent := filepath.Dir(qb.Path); parent != key {
			slotDirs[parent] = true
		}
		switch fi, err := os.Stat(qb.Path); {
		case err != nil:
			vb.kind = "missing"
		case fi.IsDir():
			vb.kind = "fifo"
		default:
			vb.kind = "lifo"
		}
		v.buckets = append(v.buckets, vb)
	}
	entries, _ := os.ReadDir(key)
	for _, e := range entries {
		p := filepath.Join(key, e.Name())
		switch {
		case v.hasStore && !e.IsDir() && queuestore.IsFile(e.Name()):
		case slotDirs[p]:
			sub, _ := os.ReadDir(p)
			for _, se := range sub {
				if sp := filepath.Join(p, se.Name()); !owned[sp] {
					v.orphans = append(v.orphans, sp)
				}
			}
		case !owned[p]:
			v.orphans = append(v.orphans, p)
		}
	}
	return v, nil
}

// openStore opens the view's queue store for reading only, or returns nil
// when there is none, and matches the store's buckets with the journal's:
// the live buckets it holds are marked stored, the others it holds are
// unclaimed. report receives what a resume would drop while reading the
// store (torn tails, corrupt frames, missing chunks). The caller closes the
// store.
func (v *queueView) openStore(report func(file string, off, bytes int64, records int, what string)) (*queuestore.Store, error) {
	if !v.hasStore {
		return nil, nil
	}
	st, err := queuestore.Read(v.key, report)
	if err != nil {
		return nil, err
	}
	infos := st.Buckets()
	byKey := make(map[string]int, len(infos))
	for i, info := range infos {
		byKey[info.Key] = i
	}
	claimed := make([]bool, len(infos))
	for i := range v.buckets {
		b := &v.buckets[i]
		j, ok := byKey[b.rel]
		if !ok {
			continue
		}
		claimed[j] = true
		b.stored, b.pending, b.kind = true, infos[j].Len, kindName(infos[j].LIFO)
	}
	for j, info := range infos {
		if !claimed[j] {
			v.unclaimed = append(v.unclaimed, info)
		}
	}
	return st, nil
}

// removedRels returns the keys (relative to the queue directory, with
// forward slashes) of the buckets the bucket journal says were drained and
// removed, but those its data shows were created again.
func (v *queueView) removedRels() map[string]bool {
	rels := map[string]bool{}
	for _, name := range v.journal.Removed {
		b, err := queues.ParseBucket(v.key, name)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(v.key, b.Path); err == nil {
			rels[filepath.ToSlash(rel)] = true
		}
	}
	return rels
}

// unlistedBuckets returns the bucket names a resume adds to the bucket
// journal bs (queues.UnlistedBuckets): the buckets the queue store
// (hasStore) or the buckets' files hold that it neither lists nor removed,
// and those it removed whose data holds records pushed after the removal
// (queues.RecreatedBuckets), which it takes out of bs.Removed; skipped are
// the buckets whose names cannot be told.
func unlistedBuckets(dir, key string, hasStore bool, bs *jobdir.BucketState) (names []string, skipped []error, err error) {
	var st *queuestore.Store
	if hasStore {
		if st, err = queuestore.Read(key, func(string, int64, int64, int, string) {}); err != nil {
			// openStore reports it.
			return nil, nil, nil
		}
		defer st.Close()
	}
	if recreated := queues.RecreatedBuckets(key, st, *bs); len(recreated) > 0 {
		bs.Removed = slices.DeleteFunc(slices.Clone(bs.Removed), func(name string) bool { return slices.Contains(recreated, name) })
	}
	names, skipped = queues.UnlistedBuckets(key, isDAPQ(dir, key, st), st, bs.Live, bs.Removed)
	return names, skipped, nil
}

// isDAPQ reports whether the job's priority queue is the downloader-aware
// one: its manifest says so, or (a damaged manifest) its buckets have slots.
func isDAPQ(dir, key string, st *queuestore.Store) bool {
	if m, ok, err := jobdir.ReadManifest(dir); err == nil && ok && queues.IsBuiltinPriorityQueue(m.PriorityQueue) {
		return m.PriorityQueue == queues.DownloaderAwareName
	}
	return queues.InferDAPQ(key, st)
}

func kindName(lifo bool) string {
	if lifo {
		return "lifo"
	}
	return "fifo"
}
