package dupefilters

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// A fingerprint file loads into the same set whether it is read at once
// (set-order frames added by two goroutines) or through a window, with
// set-order and flush-order frames mixed and a fingerprint repeated.
func TestSeenFileLoadPaths(t *testing.T) {
	const n = 200_000
	set := newFPSet(n)
	for i := range n {
		fp := testFP(i)
		set.Add(&fp)
	}
	path := filepath.Join(t.TempDir(), "requests.fingerprints")
	if err := writeOrdered(path, set); err != nil {
		t.Fatal(err)
	}
	extra := []framework.Fingerprint{testFP(n), testFP(n + 1), testFP(7)}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ = appendSeenFrames(data, extra, 1<<20, false)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	load := func(whole int64) *fpSet {
		t.Helper()
		defer func(old int64) { wholeFileMax = old }(wholeFileMax)
		wholeFileMax = whole
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var s *fpSet
		rep, err := readSeenFile(f, int64(len(data)), &s)
		if err != nil || rep.Dropped != 0 {
			t.Fatalf("read: %+v, %v", rep, err)
		}
		return s
	}
	for _, whole := range []int64{1 << 30, 0} {
		s := load(whole)
		if s.Len() != n+2 {
			t.Fatalf("whole file limit %d: %d fingerprints, want %d", whole, s.Len(), n+2)
		}
		for i := range n + 2 {
			fp := testFP(i)
			if !s.Has(&fp) {
				t.Fatalf("whole file limit %d: fingerprint %d missing", whole, i)
			}
		}
		for i := n + 2; i < n+1000; i++ {
			fp := testFP(i)
			if s.Has(&fp) {
				t.Fatalf("whole file limit %d: fingerprint %d never added is there", whole, i)
			}
		}
	}
}

// AddOrderedFrames, fed a full set's fingerprints in set order (frames of
// uneven sizes, some fingerprints twice), builds a set holding exactly
// them, with linear probing intact (every lookup finds its fingerprint).
func TestAddOrderedFrames(t *testing.T) {
	const n = 150_000
	src := newFPSet(n)
	for i := range n {
		fp := testFP(i * 3)
		src.Add(&fp)
	}
	var packed []byte
	src.Each(func(fp framework.Fingerprint) bool {
		packed = append(packed, fp[:]...)
		return true
	})
	var frames [][]byte
	for p, size := packed, 1; len(p) > 0; size = size*7%5003 + 1 {
		k := min(len(p), size*fpSize)
		frames = append(frames, p[:k])
		if len(frames)%10 == 0 {
			frames = append(frames, p[:fpSize]) // a repeat
		}
		p = p[k:]
	}
	dst := newFPSet(n)
	if added := dst.AddOrderedFrames(frames); added != n || dst.Len() != n {
		t.Fatalf("added %d, len %d, want %d", added, dst.Len(), n)
	}
	for i := range 3 * n {
		fp := testFP(i)
		if dst.Has(&fp) != (i%3 == 0) {
			t.Fatalf("fingerprint %d: Has = %v", i, dst.Has(&fp))
		}
	}
}
