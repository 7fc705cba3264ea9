package jobdir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/rs/zerolog"
)

func openBuckets(t *testing.T, path string, cleaned *[]string) (*BucketJournal, []string) {
	t.Helper()
	j, live, err := OpenBuckets(path, FsyncPolicy{Mode: FsyncNever}, zerolog.Nop(), func(name string) error {
		if cleaned != nil {
			*cleaned = append(*cleaned, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return j, live
}

func TestBucketJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), BucketJournalFile)
	j, live := openBuckets(t, path, nil)
	if len(live) != 0 {
		t.Fatalf("live %v", live)
	}
	for _, n := range []string{"0", "-1", "a.com/0s", "-1"} {
		if err := j.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	// Creations are written at once: a crash now (no Flush, no Close) keeps them.
	_, live = openBucketsNoRewrite(t, path)
	if !slices.Equal(live, []string{"0", "-1", "a.com/0s"}) {
		t.Fatalf("live after a crash %v", live)
	}
	j.Remove("0")
	j.Remove("a.com/0s")
	if err := j.Add("a.com/0s"); err != nil { // drained and refilled before a flush
		t.Fatal(err)
	}
	// The removal is buffered: a crash before Flush forgets it.
	_, live = openBucketsNoRewrite(t, path)
	if !slices.Equal(live, []string{"0", "-1", "a.com/0s"}) {
		t.Fatalf("live before Flush %v", live)
	}
	if err := j.Flush(false); err != nil {
		t.Fatal(err)
	}
	if j.Len() != 2 {
		t.Fatalf("Len %d", j.Len())
	}
	j.Close()
	var cleaned []string
	j, live = openBuckets(t, path, &cleaned)
	if !slices.Equal(live, []string{"-1", "a.com/0s"}) || !slices.Equal(cleaned, []string{"0"}) {
		t.Fatalf("live %v, cleaned %v", live, cleaned)
	}
	j.Close()
	// The reopening compacted the journal: the removal is gone, and so is
	// the need to clean up.
	cleaned = nil
	j, live = openBuckets(t, path, &cleaned)
	j.Close()
	if !slices.Equal(live, []string{"-1", "a.com/0s"}) || len(cleaned) != 0 {
		t.Fatalf("second reopen: live %v, cleaned %v", live, cleaned)
	}
}

// openBucketsNoRewrite decodes the journal as a crash would leave it, without
// changing the file.
func openBucketsNoRewrite(t *testing.T, path string) (BucketState, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeBuckets(data)
	if err != nil {
		t.Fatal(err)
	}
	return st, st.Live
}

func TestBucketJournalCleanupError(t *testing.T) {
	path := filepath.Join(t.TempDir(), BucketJournalFile)
	j, _ := openBuckets(t, path, nil)
	j.Add("x")
	j.Remove("x")
	j.Flush(false)
	j.Close()
	boom := errors.New("boom")
	_, _, err := OpenBuckets(path, FsyncPolicy{}, zerolog.Nop(), func(string) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	// The journal was not compacted, so the cleanup is tried again.
	var cleaned []string
	j, _ = openBuckets(t, path, &cleaned)
	j.Close()
	if !slices.Equal(cleaned, []string{"x"}) {
		t.Fatalf("cleaned %v", cleaned)
	}
}

func TestBucketsTruncatedEverywhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), BucketJournalFile)
	j, _ := openBuckets(t, path, nil)
	type point struct {
		size int64
		live []string
	}
	var points []point
	var model []string
	add := func(n string) {
		if err := j.Add(n); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(model, n) {
			model = append(model, n)
		}
		points = append(points, point{j.log.size, slices.Clone(model)})
	}
	remove := func(ns ...string) {
		for _, n := range ns {
			j.Remove(n)
			model = slices.DeleteFunc(model, func(s string) bool { return s == n })
		}
		if err := j.Flush(false); err != nil {
			t.Fatal(err)
		}
		points = append(points, point{j.log.size, slices.Clone(model)})
	}
	add("0")
	add("1")
	add("slot-a/0")
	remove("1")
	add("slot-b/-3s")
	add("1")
	remove("0", "slot-a/0")
	j.Close()
	data, _ := os.ReadFile(path)
	for cut := 0; cut <= len(data); cut++ {
		st, err := DecodeBuckets(data[:cut])
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if st.Valid+st.Dropped != int64(cut) {
			t.Fatalf("cut at %d: valid %d dropped %d", cut, st.Valid, st.Dropped)
		}
		// A cut decodes as its whole records do, and at a point the writer
		// acknowledged (after Add, after Flush) as the writer's model.
		if prefix, _ := DecodeBuckets(data[:st.Valid]); !reflect.DeepEqual(prefix.Live, st.Live) {
			t.Fatalf("cut at %d: live %v, its whole records say %v", cut, st.Live, prefix.Live)
		}
		for _, p := range points {
			if p.size == int64(cut) && !reflect.DeepEqual(st.Live, p.live) {
				t.Fatalf("cut at %d: live %v, want %v", cut, st.Live, p.live)
			}
		}
	}
}

func TestDecodeBucketsCorrupt(t *testing.T) {
	if _, err := DecodeBuckets(appendFrame(nil, []byte("?x"))); !errors.Is(err, ErrCorruptJournal) {
		t.Fatalf("got %v", err)
	}
}

// A removal is written with the journal's mark when it has one (format
// 3); a removal without one (format 2) still reads, and a later creation
// or unmarked removal clears the mark.
func TestBucketJournalRemovalMarks(t *testing.T) {
	path := filepath.Join(t.TempDir(), BucketJournalFile)
	j, _ := openBuckets(t, path, nil)
	mark := uint64(1 << 40)
	j.SetMark(func() uint64 { return mark })
	for _, n := range []string{"0", "-1", "2"} {
		if err := j.Add(n); err != nil {
			t.Fatal(err)
		}
	}
	j.Remove("0")
	j.Remove("2")
	if err := j.Flush(false); err != nil {
		t.Fatal(err)
	}
	if err := j.Add("2"); err != nil {
		t.Fatal(err)
	}
	mark++
	j.Remove("2")
	if err := j.Flush(false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A format 2 journal's removal, appended: no mark.
	data = append(data, appendFrame(nil, []byte("+3"))...)
	data = append(data, appendFrame(nil, []byte("-3"))...)
	st, err := DecodeBuckets(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"0": 1 << 40, "2": 1<<40 + 1}
	if !slices.Equal(st.Live, []string{"-1"}) || !slices.Equal(st.Removed, []string{"0", "2", "3"}) || !reflect.DeepEqual(st.Marks, want) {
		t.Fatalf("live %v, removed %v, marks %v; want marks %v", st.Live, st.Removed, st.Marks, want)
	}
	// A removal record cut inside its mark is not a removal.
	if _, err := DecodeBuckets(appendFrame(nil, []byte{bucketRemoveMark, 0x80})); !errors.Is(err, ErrCorruptJournal) {
		t.Fatalf("a removal without its mark: %v", err)
	}
	j.Close()
}
