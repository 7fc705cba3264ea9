package redisbloom

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/frontier-go/frontier/internal/redistest"
)

func client(t *testing.T) *redis.Client {
	t.Helper()
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// fps returns n distinct SHA-1 fingerprints, from seed.
func fps(seed uint64, n int) [][]byte {
	out := make([][]byte, n)
	var b [16]byte
	for i := range out {
		binary.LittleEndian.PutUint64(b[:8], seed)
		binary.LittleEndian.PutUint64(b[8:], uint64(i))
		s := sha1.Sum(b[:])
		out[i] = s[:]
	}
	return out
}

func TestOptimal(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		p    float64
		bits uint64
		k    int
	}{
		{100_000_000, 0.01, 958505838, 7},
		{1_000_000, 0.01, 9585059, 7},
		{1000, 0.001, 14378, 10},
	} {
		p, err := Optimal(tc.n, tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Bits != tc.bits || p.Hashes != tc.k {
			t.Errorf("Optimal(%d, %v) = %d bits, %d hashes; want %d, %d", tc.n, tc.p, p.Bits, p.Hashes, tc.bits, tc.k)
		}
	}
	for _, bad := range []struct {
		n uint64
		p float64
	}{{0, 0.01}, {10, 0}, {10, 1}, {10, -0.5}} {
		if _, err := Optimal(bad.n, bad.p); !errors.Is(err, ErrConfig) {
			t.Errorf("Optimal(%d, %v): err = %v, want ErrConfig", bad.n, bad.p, err)
		}
	}
}

func TestPartKeysShareHashTag(t *testing.T) {
	for _, tc := range []struct{ key, tag string }{
		{"{crawl1}:dupefilter", "crawl1"},
		{"plain", "plain"},
		{"a{b", "a{b"},
	} {
		keys, err := partKeys(tc.key, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			got := hashTag(k)
			if got == "" {
				got = k
			}
			if got != tc.tag {
				t.Errorf("key %s of filter %s hashes on %q, want %q", k, tc.key, got, tc.tag)
			}
		}
	}
	if _, err := partKeys("a}b", 1); !errors.Is(err, ErrConfig) {
		t.Errorf("key with a stray '}': err = %v, want ErrConfig", err)
	}
}

// TestNoFalseNegativesAndFalsePositiveRate adds a million fingerprints,
// finds every one of them, and measures the false-positive rate on a million
// others.
// TestNoFalseNegativesAndFalsePositiveRate fills a filter to its capacity
// of 50,000 and probes as many others. A million keys take longer than the
// suite's budget allows under -race: `frontier bench scheduler --redis URL`
// fills and probes a million, and prints the rate measured.
func TestNoFalseNegativesAndFalsePositiveRate(t *testing.T) {
	const n, rate = 50_000, 0.01
	ctx := context.Background()
	c := client(t)
	f, err := New(c, "{fp}:bloom", n, rate)
	if err != nil {
		t.Fatal(err)
	}
	in := fps(1, n)
	added, err := batched(ctx, f.Add, in)
	if err != nil {
		t.Fatal(err)
	}
	notNew := 0
	for _, a := range added {
		if !a {
			notNew++ // a false positive while filling
		}
	}
	got, err := batched(ctx, f.Exists, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range got {
		if !ok {
			t.Fatalf("fingerprint %d was added but Exists says no: a false negative", i)
		}
	}
	again, err := f.Add(ctx, in[:1000])
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range again {
		if a {
			t.Fatalf("fingerprint %d added twice reported new", i)
		}
	}
	probe, err := batched(ctx, f.Exists, fps(2, n))
	if err != nil {
		t.Fatal(err)
	}
	fp := 0
	for _, ok := range probe {
		if ok {
			fp++
		}
	}
	measured := float64(fp) / n
	st, err := f.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perFP := float64(st.Bytes) / n
	t.Logf("capacity %d, rate %v: %d bits, %d hashes; measured false-positive rate %.5f (%d of %d), %d reported not new while filling; %d bytes in Redis bitmaps = %.3f bytes per fingerprint; estimated count %.0f",
		n, rate, st.Bits, st.Hashes, measured, fp, n, notNew, st.Bytes, perFP, st.Count)
	if measured > 1.2*rate {
		t.Errorf("false-positive rate %.5f exceeds 1.2 × %v", measured, rate)
	}
	if perFP > 2 {
		t.Errorf("%.3f bytes per fingerprint, want at most 2", perFP)
	}
	if st.Count < 0.97*n || st.Count > 1.03*n {
		t.Errorf("estimated count %.0f, want about %d", st.Count, n)
	}
}

// TestConcurrentAddersExactlyOneNew has several clients add the same
// fingerprints at once, in different orders: each is new to exactly one.
func TestConcurrentAddersExactlyOneNew(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	const workers, n = 8, 20_000
	all := fps(3, n)
	wins := make([][]bool, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker has its own connection and filter handle.
			cw := redis.NewClient(&redis.Options{Addr: c.Options().Addr})
			defer cw.Close()
			f, err := New(cw, "{race}:bloom", 1_000_000, 0.01)
			if err != nil {
				t.Error(err)
				return
			}
			order := rand.New(rand.NewPCG(uint64(w), 7)).Perm(n)
			mine := make([]bool, n)
			for start := 0; start < n; start += 500 {
				batch := make([][]byte, 0, 500)
				for _, i := range order[start : start+500] {
					batch = append(batch, all[i])
				}
				added, err := f.Add(ctx, batch)
				if err != nil {
					t.Error(err)
					return
				}
				for j, i := range order[start : start+500] {
					mine[i] = added[j]
				}
			}
			wins[w] = mine
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range n {
		k := 0
		for w := range workers {
			if wins[w][i] {
				k++
			}
		}
		if k != 1 {
			t.Fatalf("fingerprint %d reported new %d times across %d workers, want exactly 1", i, k, workers)
		}
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	f, err := New(c, "{job}:bloom", 10_000, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	in := fps(4, 100)
	if _, err := f.Add(ctx, in); err != nil {
		t.Fatal(err)
	}
	t.Run("same parameters keep the contents", func(t *testing.T) {
		g, err := New(c, "{job}:bloom", 10_000, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		added, err := g.Add(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range added {
			if a {
				t.Fatalf("fingerprint %d new after reopening", i)
			}
		}
	})
	t.Run("other parameters are refused", func(t *testing.T) {
		_, err := New(c, "{job}:bloom", 20_000, 0.001)
		if !errors.Is(err, ErrParams) {
			t.Fatalf("err = %v, want ErrParams", err)
		}
		for _, want := range []string{"{job}:bloom", "capacity 10000", "capacity 20000", "0.001"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
	})
	t.Run("an open filter whose key was recreated refuses to write", func(t *testing.T) {
		if err := c.Del(ctx, "{job}:bloom").Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := New(c, "{job}:bloom", 50, 0.5); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Add(ctx, in); !errors.Is(err, ErrParams) {
			t.Fatalf("err = %v, want ErrParams", err)
		}
		if err := c.Del(ctx, "{job}:bloom").Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Exists(ctx, in); err == nil || !strings.Contains(err.Error(), "{job}:bloom") {
			t.Fatalf("err = %v, want an error naming the deleted key", err)
		}
	})
}

func TestForeignValues(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	c.Set(ctx, "{x}:str", "hello", 0)
	c.LPush(ctx, "{x}:list", "a")
	c.Set(ctx, "{y}:bloom", "frontier-bloom/1 bits=9585059 hashes=7 capacity=1000000 error_rate=0.01 part_bits=9585059", 0)
	c.LPush(ctx, "{y}:bloom:bits:0", "a")
	for _, key := range []string{"{x}:str", "{x}:list", "{y}:bloom"} {
		_, err := New(c, key, 1_000_000, 0.01)
		if !errors.Is(err, ErrForeign) {
			t.Errorf("New on %s: err = %v, want ErrForeign", key, err)
			continue
		}
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error %q does not name the key %s", err, key)
		}
	}
	f, err := New(c, "{z}:bloom", 1000, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Add(ctx, [][]byte{make([]byte, 19)}); !errors.Is(err, ErrFingerprint) {
		t.Errorf("19-byte fingerprint: err = %v, want ErrFingerprint", err)
	}
	c.Del(ctx, "{z}:bloom:bits:0")
	c.LPush(ctx, "{z}:bloom:bits:0", "a")
	if _, err := f.Add(ctx, fps(5, 3)); !errors.Is(err, ErrForeign) {
		t.Errorf("Add over a list bitmap: err = %v, want ErrForeign", err)
	}
}

// TestSplitBitmaps lowers the bits per key so that the filter spans several
// keys, and checks it behaves as one.
func TestSplitBitmaps(t *testing.T) {
	defer func(old uint64) { maxPartBits = old }(maxPartBits)
	maxPartBits = 1 << 16
	ctx := context.Background()
	c := client(t)
	f, err := New(c, "{split}:bloom", 50_000, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Keys()) - 1; n != 8 {
		t.Fatalf("%d bitmap keys for %d bits, want 8", n, f.Params().Bits)
	}
	in := fps(6, 50_000)
	if _, err := f.Add(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := f.Exists(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range got {
		if !ok {
			t.Fatalf("false negative at %d", i)
		}
	}
	for _, k := range f.Keys()[1:] {
		if n, _ := c.StrLen(ctx, k).Result(); n == 0 {
			t.Errorf("bitmap key %s is empty: positions do not spread over the keys", k)
		}
	}
}

// TestScriptReloaded checks the NOSCRIPT fallback after SCRIPT FLUSH.
func TestScriptReloaded(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	f, err := New(c, "{flush}:bloom", 1000, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Add(ctx, fps(7, 10)); err != nil {
		t.Fatal(err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	added, err := f.Add(ctx, fps(7, 20))
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range added {
		if a != (i >= 10) {
			t.Fatalf("fingerprint %d: new = %v after script flush", i, a)
		}
	}
}

// batched calls op on fps 10,000 at a time, as a scheduler would batch.
func batched(ctx context.Context, op func(context.Context, [][]byte) ([]bool, error), fps [][]byte) ([]bool, error) {
	var out []bool
	for start := 0; start < len(fps); start += 10_000 {
		got, err := op(ctx, fps[start:min(start+10_000, len(fps))])
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}
