package dupefilters

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func testFP(i int) framework.Fingerprint {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(i))
	return sha1.Sum(b[:])
}

func TestFPSet(t *testing.T) {
	tests := []struct {
		name string
		fp   func(i int) framework.Fingerprint
	}{
		{"sha1", testFP},
		// Custom fingerprinters need not be uniform: counters in the first
		// bytes, everything else zero.
		{"counter", func(i int) framework.Fingerprint {
			var f framework.Fingerprint
			binary.BigEndian.PutUint32(f[:], uint32(i))
			return f
		}},
		{"counter at the end", func(i int) framework.Fingerprint {
			var f framework.Fingerprint
			binary.BigEndian.PutUint32(f[16:], uint32(i))
			return f
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFPSet(0)
			const n = 50_000
			for i := 0; i < n; i++ {
				if i%8 == 0 { // as a batch enqueue does; Touch changes nothing
					run := make([]framework.Fingerprint, 8)
					for k := range run {
						run[k] = tt.fp(i + k)
					}
					s.Touch(run)
				}
				fp := tt.fp(i)
				if !s.Add(&fp) {
					t.Fatalf("Add(%d) reported a duplicate", i)
				}
				if s.Add(&fp) {
					t.Fatalf("second Add(%d) reported new", i)
				}
			}
			if s.Len() != n {
				t.Fatalf("Len %d", s.Len())
			}
			for i := 0; i < 2*n; i++ {
				fp := tt.fp(i)
				if got := s.Has(&fp); got != (i < n) {
					t.Fatalf("Has(%d) = %v", i, got)
				}
			}
			seen := 0
			s.Each(func(framework.Fingerprint) bool { seen++; return true })
			if seen != n {
				t.Fatalf("Each saw %d", seen)
			}
			if bpf := float64(s.Bytes()) / n; bpf > 32 {
				t.Fatalf("%.1f bytes per fingerprint", bpf)
			}
		})
	}
}

// TestFPSetBytesPerFingerprint checks the memory bound at every size a
// growing set goes through: never more than 32 bytes per fingerprint once
// past the minimum capacity.
func TestFPSetBytesPerFingerprint(t *testing.T) {
	s := newFPSet(0)
	worst := 0.0
	for i := 0; i < 200_000; i++ {
		fp := testFP(i)
		s.Add(&fp)
		if s.Len() > fpMinCap {
			worst = max(worst, float64(s.Bytes())/float64(s.Len()))
		}
	}
	if worst > 32 {
		t.Fatalf("worst %.2f bytes per fingerprint", worst)
	}
	t.Logf("worst %.2f bytes per fingerprint", worst)
}

// BenchmarkFPSetMemory reports the heap bytes per fingerprint of the set and
// of a Go map, for 1M fingerprints.
func BenchmarkFPSetMemory(b *testing.B) {
	const n = 1_000_000
	fps := make([]framework.Fingerprint, n)
	for i := range fps {
		fps[i] = testFP(i)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for _, kind := range []string{"fpSet", "map"} {
		b.Run(kind, func(b *testing.B) {
			for range b.N {
				before := heap()
				var keep any
				if kind == "fpSet" {
					s := newFPSet(0)
					for i := range fps {
						s.Add(&fps[i])
					}
					keep = s
				} else {
					m := map[framework.Fingerprint]struct{}{}
					for _, fp := range fps {
						m[fp] = struct{}{}
					}
					keep = m
				}
				after := heap()
				b.ReportMetric(float64(after-before)/n, "bytes/fp")
				runtime.KeepAlive(keep)
			}
		})
	}
}

func BenchmarkFPSetAdd(b *testing.B) {
	fps := make([]framework.Fingerprint, 1<<20)
	for i := range fps {
		fps[i] = testFP(i)
	}
	b.ResetTimer()
	s := newFPSet(0)
	for i := range b.N {
		s.Add(&fps[i&(len(fps)-1)])
	}
	_ = fmt.Sprint(s.Len())
}

// The bulk paths (AddAll sorts chunks, AddOrdered takes set order) build the
// same set as Add, duplicates included.
func TestFPSetBulkAdds(t *testing.T) {
	const n = 3*addAllBuckets*4 + 17
	var packed []byte
	for i := 0; i < n; i++ {
		fp := testFP(i % (n - 100)) // the last 100 repeat earlier ones
		packed = append(packed, fp[:]...)
	}
	want := newFPSet(0)
	for p := packed; len(p) > 0; p = p[fpSize:] {
		want.Add((*framework.Fingerprint)(p[:fpSize]))
	}
	all := newFPSet(0)
	if added := all.AddAll(packed); added != want.Len() || all.Len() != want.Len() {
		t.Fatalf("AddAll added %d, len %d; want %d", added, all.Len(), want.Len())
	}
	var ordered []byte
	want.Each(func(fp framework.Fingerprint) bool { ordered = append(ordered, fp[:]...); return true })
	ord := newFPSet(0)
	if added := ord.AddOrdered(ordered); added != want.Len() {
		t.Fatalf("AddOrdered added %d, want %d", added, want.Len())
	}
	for _, s := range []*fpSet{all, ord} {
		want.Each(func(fp framework.Fingerprint) bool {
			if !s.Has(&fp) {
				t.Fatalf("%x missing", fp)
			}
			return true
		})
	}
}

// BenchmarkFPSetGrow builds a set of 1M fingerprints from empty, growing all
// the way as a crawl's dupefilter does, and reports the time per fingerprint.
func BenchmarkFPSetGrow(b *testing.B) {
	const n = 1_000_000
	fps := make([]framework.Fingerprint, n)
	for i := range fps {
		fps[i] = testFP(i)
	}
	b.ResetTimer()
	for range b.N {
		s := newFPSet(0)
		for i := range fps {
			s.Add(&fps[i])
		}
		if s.Len() != n {
			b.Fatalf("len %d, want %d", s.Len(), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/fp")
}

// Growing past parallelGrowMin at once (not in the background) rehashes
// with two goroutines: every fingerprint is still found, none twice, and
// none that was never added.
func TestFPSetParallelGrow(t *testing.T) {
	n := parallelGrowMin*2 + 12345
	s := newFPSet(0)
	s.noBackground = true
	for i := 0; i < n; i++ {
		fp := testFP(i)
		if !s.Add(&fp) {
			t.Fatalf("fingerprint %d reported as seen before it was added", i)
		}
	}
	if s.Len() != n {
		t.Fatalf("len %d, want %d", s.Len(), n)
	}
	count := 0
	s.Each(func(framework.Fingerprint) bool { count++; return true })
	if count != n {
		t.Fatalf("table holds %d fingerprints, want %d", count, n)
	}
	for i := 0; i < n+1000; i++ {
		fp := testFP(i)
		if got := s.Has(&fp); got != (i < n) {
			t.Fatalf("Has(fingerprint %d) = %v", i, got)
		}
		if i < n && s.Add(&fp) {
			t.Fatalf("fingerprint %d added twice", i)
		}
	}
}

// A large set grows on another goroutine while adds go on: during the
// growth every fingerprint added before or meanwhile is found and not
// added again, none that was never added is found, and a bulk load in the
// middle of a growth waits for it.
func TestFPSetBackgroundGrowth(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("a growth runs in the background only with a second core")
	}
	n := bgGrowMin * 3
	s := newFPSet(0)
	during, bulk := 0, false
	for i := 0; i < n; i++ {
		fp := testFP(i)
		if !s.Add(&fp) {
			t.Fatalf("fingerprint %d reported as seen before it was added", i)
		}
		if s.growing.Load() == nil {
			continue
		}
		during++
		for _, j := range []int{i, i / 2, i - 1} {
			old := testFP(j)
			if j >= 0 && (s.Add(&old) || !s.Has(&old)) {
				t.Fatalf("while growing, fingerprint %d (added) was not found", j)
			}
		}
		if never := testFP(n + i); s.Has(&never) {
			t.Fatalf("while growing, fingerprint %d (never added) was found", n+i)
		}
		if !bulk && during > 1000 {
			bulk = true
			var packed []byte
			for k := 0; k < 100; k++ {
				fp := testFP(2*n + k)
				packed = append(packed, fp[:]...)
			}
			if got := s.AddOrdered(packed); got != 100 || s.growing.Load() != nil {
				t.Fatalf("bulk add during a growth added %d, growing %v", got, s.growing.Load() != nil)
			}
		}
	}
	if during == 0 || !bulk {
		t.Fatalf("no add ran during a background growth (%d)", during)
	}
	want := n + 100
	if s.Len() != want {
		t.Fatalf("len %d, want %d", s.Len(), want)
	}
	count := 0
	s.Each(func(framework.Fingerprint) bool { count++; return true })
	if count != want {
		t.Fatalf("table holds %d fingerprints, want %d", count, want)
	}
	for i := 0; i < 2*n+200; i++ {
		fp := testFP(i)
		want := i < n || (i >= 2*n && i < 2*n+100)
		if s.Has(&fp) != want {
			t.Fatalf("Has(fingerprint %d) = %v after the growths", i, !want)
		}
	}
}

// A set left idle in the middle of a background growth does not keep two
// tables: the growth's goroutine switches it to the new one by itself.
func TestFPSetIdleAfterGrowthStart(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("a growth runs in the background only with a second core")
	}
	s := newFPSet(0)
	var g *fpGrowth
	for i := 0; g == nil; i++ {
		fp := testFP(i)
		s.Add(&fp)
		g = s.growing.Load()
	}
	<-g.done // no Add, Has or walk of the set meanwhile
	if s.growing.Load() != nil || len(s.tags) != g.slots || s.Bytes() != g.slots*(1+fpSize) {
		t.Fatalf("after the growth: %d slots, %d bytes, growing %v; want %d slots alone",
			len(s.tags), s.Bytes(), s.growing.Load() != nil, g.slots)
	}
}
