package queuestore

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// A bucket drained slowly keeps a few chunks alive in segments whose other
// chunks are gone: compaction copies them to the end of the log, the
// segments go, and the records come back in order with their delivery IDs,
// before and after a reopen.
func TestStoreCompaction(t *testing.T) {
	for _, lifo := range []bool{false, true} {
		t.Run(kindName(lifo), func(t *testing.T) {
			dir := t.TempDir()
			cfg := disk.Config{SegmentBytes: 8 << 10, Fsync: recordio.FsyncPolicy{Mode: recordio.FsyncNever}}
			st, err := Open(dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			st.compactQuiet = 0
			slow, err := st.Queue(filepath.Join(dir, "slow"), lifo)
			if err != nil {
				t.Fatal(err)
			}
			fast, err := st.Queue(filepath.Join(dir, "fast"), lifo)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 40 {
				if err := slow.Push(framework.MustRequest(fmt.Sprintf("https://slow.example/%d", i))); err != nil {
					t.Fatal(err)
				}
				for j := range 20 {
					if err := fast.Push(framework.MustRequest(fmt.Sprintf("https://fast.example/%d/%d", i, j))); err != nil {
						t.Fatal(err)
					}
				}
				if err := st.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			// Pop a few of the slow bucket's records from the chunks, so that
			// relocated chunks are partly consumed.
			for range 3 {
				if r, err := slow.Pop(); err != nil || r == nil {
					t.Fatal(r, err)
				}
			}
			before := bucketRecords(t, st, "slow")
			segs := st.Segments()
			for fast.Len() > 0 {
				if _, err := fast.Pop(); err != nil {
					t.Fatal(err)
				}
			}
			// The first flush writes the live counts and compacts; a
			// checkpoint (Close) deletes the emptied segments.
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := bucketRecords(t, st, "slow"); !slices.Equal(got, before) {
				t.Fatalf("after compaction:\n got %v\nwant %v", got, before)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			logs, _ := filepath.Glob(filepath.Join(dir, "queue.*.log"))
			if segs < 3 || len(logs) > 2 {
				t.Fatalf("%d segments before draining, %d files after compaction: %v", segs, len(logs), logs)
			}

			st, err = Open(dir, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if got := bucketRecords(t, st, "slow"); !slices.Equal(got, before) {
				t.Fatalf("after reopening:\n got %v\nwant %v", got, before)
			}
			slow, _ = st.Queue(filepath.Join(dir, "slow"), lifo)
			var popped []string
			for {
				r, err := slow.Pop()
				if err != nil {
					t.Fatal(err)
				}
				if r == nil {
					break
				}
				popped = append(popped, fmt.Sprintf("%d %s", r.Delivery, r.URL))
			}
			if !slices.Equal(popped, before) {
				t.Fatalf("popped after reopening:\n got %v\nwant %v", popped, before)
			}
		})
	}
}

// bucketRecords lists a bucket's records in pop order as "delivery URL".
func bucketRecords(t *testing.T, st *Store, rel string) []string {
	t.Helper()
	var out []string
	err := st.Records(rel, func(id uint64, rec []byte) error {
		r, err := framework.DecodeRequest(rec, nil)
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%d %s", id, r.URL))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A segment file that is not ours (garbage, another file in its place) is
// scanned for valid frames, reported, kept (never deleted), and not written
// to (issue 10).
func TestStoreSalvagesForeignSegment(t *testing.T) {
	dir := t.TempDir()
	garbage := []byte("not a frontier segment, long enough to hold a frame")
	if err := os.WriteFile(filepath.Join(dir, storeSegName(1)), garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Open(dir, disk.Config{})
	if err != nil {
		t.Fatalf("a foreign segment refused the store: %v", err)
	}
	if len(st.Buckets()) != 0 {
		t.Fatalf("buckets %+v read from garbage", st.Buckets())
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "damaged-*", storeSegName(1)))
	if _, err := os.Stat(filepath.Join(dir, storeSegName(1))); err == nil {
		kept = append(kept, filepath.Join(dir, storeSegName(1)))
	}
	if len(kept) != 1 {
		t.Fatalf("the foreign segment is neither kept in place nor aside: %v", kept)
	}
	if got, err := os.ReadFile(kept[0]); err != nil || string(got) != string(garbage) {
		t.Fatalf("the foreign segment was changed: %q, %v", got, err)
	}
}

// A segment whose chunks keep dying is being drained: it is not compacted
// (its live chunks would be copied only to be popped soon after).
func TestStoreNoCompactionWhileChunksDie(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, disk.Config{SegmentBytes: 8 << 10, Fsync: recordio.FsyncPolicy{Mode: recordio.FsyncNever}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	slow, _ := st.Queue(filepath.Join(dir, "slow"), false)
	fast, _ := st.Queue(filepath.Join(dir, "fast"), false)
	for i := range 40 {
		slow.Push(framework.MustRequest(fmt.Sprintf("https://slow.example/%d", i)))
		for j := range 20 {
			fast.Push(framework.MustRequest(fmt.Sprintf("https://fast.example/%d/%d", i, j)))
		}
		if err := st.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	segs := st.Segments()
	for fast.Len() > 0 {
		if _, err := fast.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := st.Segments(); got != segs {
		t.Fatalf("%d segments before draining, %d after: compacted while its chunks were dying", segs, got)
	}
}

// A store keeps at most maxOpen segment files open, reopening a closed one
// when a chunk of it is read.
func TestStoreBoundsOpenSegments(t *testing.T) {
	dir := t.TempDir()
	cfg := disk.Config{SegmentBytes: 4 << 10, Fsync: recordio.FsyncPolicy{Mode: recordio.FsyncNever}}
	st, err := Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st.maxOpen = 3
	q, _ := st.Queue(filepath.Join(dir, "q"), false)
	for i := range 1000 {
		if err := q.Push(framework.MustRequest(fmt.Sprintf("https://example.org/%d", i))); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 {
			if err := st.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if st.open > st.maxOpen+1 {
			t.Fatalf("%d segment files open, at most %d wanted", st.open, st.maxOpen)
		}
	}
	if st.Segments() < 5 {
		t.Fatalf("only %d segments", st.Segments())
	}
	for i := range 1000 {
		r, err := q.Pop()
		if err != nil || r == nil || r.URL != fmt.Sprintf("https://example.org/%d", i) {
			t.Fatalf("pop %d: %v, %v", i, r, err)
		}
		if st.open > st.maxOpen+1 {
			t.Fatalf("%d segment files open, at most %d wanted", st.open, st.maxOpen)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
