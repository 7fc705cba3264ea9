package redisfrontier_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/redistest"
)

func openBloom(t *testing.T, c *framework.Crawler) *redisfrontier.BloomDupeFilter {
	t.Helper()
	f, err := framework.RequiredComponent[framework.DupeFilterFactory](c, "DUPEFILTER_CLASS")
	if err != nil {
		t.Fatal(err)
	}
	df, err := f(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	d := df.(*redisfrontier.BloomDupeFilter)
	if err := d.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close("finished") })
	return d
}

// TestBloomDupeFilterSharedAcrossWorkers: two workers' filters share the
// crawl's bits, under its hash tag; a batch is one call and sees a
// duplicate within itself.
func TestBloomDupeFilterSharedAcrossWorkers(t *testing.T) {
	srv := redistest.Start(t)
	set := map[string]any{"DUPEFILTER_CLASS": "frontier.redis.BloomDupeFilter", "DUPEFILTER_BLOOM_CAPACITY": 10000}
	a := openBloom(t, newCrawler(t, srv, set))
	b := openBloom(t, newCrawler(t, srv, set))
	for _, k := range a.Filter().Keys() {
		if !strings.HasPrefix(k, "{crawl}") {
			t.Errorf("key %s is not under the crawl's hash tag {crawl}", k)
		}
	}
	seen, err := a.RequestsSeen([]*framework.Request{req(t, "http://h/1", 0), req(t, "http://h/2", 0), req(t, "http://h/1", 0)})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[false false true]" {
		t.Fatalf("first batch seen %v, want [false false true]", seen)
	}
	if s, err := b.RequestSeen(req(t, "http://h/2", 0)); err != nil || !s {
		t.Fatalf("worker b did not see worker a's fingerprint: %v %v", s, err)
	}
	if s, err := b.RequestSeen(req(t, "http://h/3", 0)); err != nil || s {
		t.Fatalf("a new request was seen: %v %v", s, err)
	}
	// Another capacity on the same crawl is refused, naming the key.
	c := newCrawler(t, srv, map[string]any{"DUPEFILTER_CLASS": "frontier.redis.BloomDupeFilter", "DUPEFILTER_BLOOM_CAPACITY": 20000})
	f, _ := framework.RequiredComponent[framework.DupeFilterFactory](c, "DUPEFILTER_CLASS")
	df, err := f(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := df.Open(context.Background()); err == nil || !strings.Contains(err.Error(), "{crawl}:dupefilter:bloom") {
		t.Fatalf("opening with another capacity: %v, want an error naming the key", err)
	}
}

// TestBloomDupeFilterFalsePositiveRate fills the filter to its capacity
// and probes as many others: at most 1.2 times the error rate may have been
// seen, and none added is new again. (A million keys: the
// internal/redisbloom test without -short, and frontier bench scheduler.)
func TestBloomDupeFilterFalsePositiveRate(t *testing.T) {
	const n, rate = 50_000, 0.01
	srv := redistest.Start(t)
	c := newCrawler(t, srv, map[string]any{"DUPEFILTER_CLASS": "frontier.redis.BloomDupeFilter",
		"DUPEFILTER_BLOOM_CAPACITY": n, "DUPEFILTER_BLOOM_ERROR_RATE": rate})
	d := openBloom(t, c)
	batch := func(prefix string, lo int) []*framework.Request {
		rs := make([]*framework.Request, 1000)
		for i := range rs {
			rs[i] = req(t, fmt.Sprintf("http://h%d/%s/%d", (lo+i)%97, prefix, lo+i), 0)
		}
		return rs
	}
	for lo := 0; lo < n; lo += 1000 {
		if _, err := d.RequestsSeen(batch("in", lo)); err != nil {
			t.Fatal(err)
		}
	}
	again, err := d.RequestsSeen(batch("in", 0))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range again {
		if !s {
			t.Fatalf("request %d added before is new again: a false negative", i)
		}
	}
	fper, err := c.Fingerprinter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fp := 0
	for lo := 0; lo < n; lo += 1000 {
		var fps [][]byte
		for _, r := range batch("out", lo) {
			f, err := fper.Fingerprint(r)
			if err != nil {
				t.Fatal(err)
			}
			fps = append(fps, f[:])
		}
		maybe, err := d.Filter().Exists(context.Background(), fps)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range maybe {
			if m {
				fp++
			}
		}
	}
	measured := float64(fp) / n
	t.Logf("false-positive rate %.4f (%d of %d) with the filter at its capacity %d", measured, fp, n, n)
	if measured > 1.2*rate {
		t.Errorf("false-positive rate %.4f, want at most 1.2 × %v", measured, rate)
	}
}
