package host

import (
	"context"
	"crypto/sha1"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/queuetest"
	"github.com/frontier-go/frontier/registry"
)

// The example plugin's queues pass the same conformance suite as the
// built-in disk queues, through the host (batching, prefetch and all).
func TestSQLiteQueueConformance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order queuetest.Option
		batch int
		scale []queuetest.Option
	}{
		{"sqlitequeue.FifoDiskQueue", queuetest.FIFO, DefaultBatchSize, nil},
		{"sqlitequeue.LifoDiskQueue", queuetest.LIFO, DefaultBatchSize, nil},
		// Tiny batches exercise the buffer and prefetch boundaries (and
		// cost a round trip every few requests: fewer operations).
		{"sqlitequeue.FifoDiskQueue", queuetest.FIFO, 3, []queuetest.Option{queuetest.Ops(1000), queuetest.Many(600)}},
		{"sqlitequeue.LifoDiskQueue", queuetest.LIFO, 3, []queuetest.Option{queuetest.Ops(1000), queuetest.Many(600)}},
	} {
		t.Run(tc.name+"/batch="+strconv.Itoa(tc.batch), func(t *testing.T) {
			d := sqliteDecl(t)
			d.BatchSize = tc.batch
			e := newEnv(t, zerolog.Nop(), d)
			queuetest.Run(t, func(t *testing.T, key string) framework.Queue {
				return e.mustQueue(t, tc.name, key)
			}, append([]queuetest.Option{tc.order, queuetest.Persistent}, tc.scale...)...)
		})
	}
}

// The test plugin's memory queue (no persistence) passes too.
func TestMemoryPluginQueueConformance(t *testing.T) {
	e := newEnv(t, zerolog.Nop(), testDecl(t))
	queuetest.Run(t, func(t *testing.T, key string) framework.Queue {
		return e.mustQueue(t, "test.MemoryFifo", key)
	}, queuetest.FIFO, queuetest.Serializes)
}

func pq(t *testing.T, e *env, name string, cfg framework.PriorityQueueConfig) framework.PriorityQueue {
	t.Helper()
	f, _, err := registry.Get[framework.PriorityQueueFactory](e.reg, name)
	if err != nil {
		t.Fatal(err)
	}
	q, err := f(context.Background(), e.c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func preq(url string, prio int, start bool) *framework.Request {
	r := framework.MustRequest(url)
	r.Priority = prio
	if start {
		r.Meta = map[string]any{framework.MetaIsStartRequest: true}
	}
	return r
}

// The plugin priority queue orders by priority (higher first), FIFO within a
// priority, regular before start requests when they are separate; Peek stays
// consistent although pushes invalidate the host's prefetch.
func TestPluginPriorityQueue(t *testing.T) {
	e := newEnv(t, zerolog.Nop(), sqliteDecl(t))
	dir := filepath.Join(t.TempDir(), "requests.queue")
	cfg := framework.PriorityQueueConfig{Key: dir, Job: &framework.JobConfig{Dir: filepath.Dir(dir)}, Start: func(context.Context, *framework.Crawler, framework.QueueConfig) (framework.Queue, error) {
		return nil, errors.New("unused")
	}}
	q := pq(t, e, "sqlitequeue.PriorityQueue", cfg)
	push := func(url string, prio int, start bool) {
		t.Helper()
		if err := q.Push(preq(url, prio, start)); err != nil {
			t.Fatal(err)
		}
	}
	next := func() string {
		t.Helper()
		p, err := q.(framework.Peeker).Peek()
		if err != nil {
			t.Fatal(err)
		}
		r, err := q.Pop()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			if p != nil {
				t.Fatalf("Peek = %s but Pop = nil", p)
			}
			return ""
		}
		if p == nil || p.URL != r.URL {
			t.Fatalf("Peek = %v but Pop = %s", p, r)
		}
		if err := q.(framework.Acker).Ack(r); err != nil {
			t.Fatal(err)
		}
		return r.URL
	}
	push("https://a.example/s0", 0, true)
	push("https://a.example/r0", 0, false)
	push("https://a.example/r5", 5, false)
	push("https://a.example/r0b", 0, false)
	if got := next(); got != "https://a.example/r5" {
		t.Fatalf("first = %s", got)
	}
	// A higher priority pushed after a prefetch comes first.
	push("https://a.example/r9", 9, false)
	for _, want := range []string{"https://a.example/r9", "https://a.example/r0", "https://a.example/r0b", "https://a.example/s0", ""} {
		if got := next(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// Persistent: what is left survives a reopen.
	push("https://a.example/p1", 1, false)
	push("https://a.example/p2", 2, false)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = pq(t, e, "sqlitequeue.PriorityQueue", cfg)
	if q.Len() != 2 {
		t.Fatalf("Len after reopen = %d", q.Len())
	}
	for _, want := range []string{"https://a.example/p2", "https://a.example/p1", ""} {
		if got := next(); got != want {
			t.Fatalf("after reopen got %q, want %q", got, want)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	// Without a key, the plugin keeps a memory priority queue.
	mq := pq(t, e, "sqlitequeue.PriorityQueue", framework.PriorityQueueConfig{})
	if err := mq.Push(preq("https://m.example/", 1, false)); err != nil {
		t.Fatal(err)
	}
	if mq.Len() != 1 {
		t.Fatalf("memory pq Len = %d", mq.Len())
	}
	if err := mq.Close(); err != nil {
		t.Fatal(err)
	}
}

// The plugin dupefilter: seen once, then seen; with JOBDIR the fingerprints
// survive a clean close; Log counts dupefilter/filtered.
func TestPluginDupeFilter(t *testing.T) {
	e := newEnv(t, zerolog.Nop(), sqliteDecl(t))
	ensureFingerprinter(t, e.reg)
	e.c.Settings.Set("JOBDIR", t.TempDir(), framework.Source{Kind: framework.SourceCode})
	open := func() framework.DupeFilter {
		t.Helper()
		f, _, err := registry.Get[framework.DupeFilterFactory](e.reg, "sqlitequeue.DupeFilter")
		if err != nil {
			t.Fatal(err)
		}
		df, err := f(context.Background(), e.c)
		if err != nil {
			t.Fatal(err)
		}
		if err := df.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		return df
	}
	seen := func(df framework.DupeFilter, url string) bool {
		t.Helper()
		ok, err := df.RequestSeen(framework.MustRequest(url))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	df := open()
	if seen(df, "https://d.example/a") {
		t.Fatal("first request reported seen")
	}
	if !seen(df, "https://d.example/a") {
		t.Fatal("second identical request not seen")
	}
	if seen(df, "https://d.example/b") {
		t.Fatal("another request reported seen")
	}
	df.Log(framework.MustRequest("https://d.example/a"))
	if got := e.c.Stats.Get(framework.StatDupeFilterFiltered); got != 1 {
		t.Fatalf("dupefilter/filtered = %d", got)
	}
	if err := df.Close("finished"); err != nil {
		t.Fatal(err)
	}
	df = open()
	defer df.Close("finished")
	if !seen(df, "https://d.example/a") {
		t.Fatal("fingerprint lost across a clean close")
	}
	if seen(df, "https://d.example/c") {
		t.Fatal("new request reported seen")
	}
}

// urlFingerprinter fingerprints a request by its method and URL.
type urlFingerprinter struct{}

func (urlFingerprinter) Fingerprint(r *framework.Request) (framework.Fingerprint, error) {
	return sha1.Sum([]byte(r.Method + " " + r.URL)), nil
}

// ensureFingerprinter registers urlFingerprinter as the default
// REQUEST_FINGERPRINTER_CLASS when the built-ins do not provide one.
func ensureFingerprinter(t *testing.T, reg *registry.Registry) {
	t.Helper()
	const name = "scrapy.utils.request.RequestFingerprinter"
	if _, err := reg.Lookup(name); err == nil {
		return
	}
	err := reg.Register(registry.Entry{Name: name, Origin: "user",
		Factory: framework.FingerprinterFactory(func(context.Context, *framework.Crawler) (framework.Fingerprinter, error) {
			return urlFingerprinter{}, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
}
