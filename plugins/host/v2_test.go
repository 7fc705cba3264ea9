package host

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/queuetest"
	"github.com/frontier-go/frontier/plugins/wire"
	"github.com/frontier-go/frontier/registry"
)

// bucket opens name as a bucket of the job in jobDir: the scheduler's
// persistent priority queues open their queues so.
func (e *env) bucket(t testing.TB, name, jobDir, key string) framework.Queue {
	t.Helper()
	f, _, err := registry.Get[framework.QueueFactory](e.reg, name)
	if err != nil {
		t.Fatal(err)
	}
	q, err := f(context.Background(), e.c, framework.QueueConfig{Key: key, Job: &framework.JobConfig{Dir: jobDir}})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	return q
}

// negotiated returns the protocol version the host and the plugin agreed.
func negotiated(t *testing.T, m *Manager, name string) int {
	t.Helper()
	for _, p := range m.procs {
		if p.decl.Name == name {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.clients == nil {
				t.Fatalf("plugin %s is not running", name)
			}
			return p.clients.Version
		}
	}
	t.Fatalf("no plugin %s", name)
	return 0
}

// Under protocol version 2 the example plugin's queues are buckets of one
// store per job, and pass the conformance suite of the built-in disk queues
// through the host's store (batched Syncs, prefetch and all).
func TestSQLiteStoreConformance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order queuetest.Option
		batch int
		scale []queuetest.Option
	}{
		{"sqlitequeue.FifoDiskQueue", queuetest.FIFO, DefaultBatchSize, nil},
		{"sqlitequeue.LifoDiskQueue", queuetest.LIFO, DefaultBatchSize, nil},
		{"sqlitequeue.FifoDiskQueue", queuetest.FIFO, 3, []queuetest.Option{queuetest.Ops(1000), queuetest.Many(600)}},
		{"sqlitequeue.LifoDiskQueue", queuetest.LIFO, 3, []queuetest.Option{queuetest.Ops(1000), queuetest.Many(600)}},
	} {
		t.Run(tc.name+"/batch="+strconv.Itoa(tc.batch), func(t *testing.T) {
			d := sqliteDecl(t)
			d.BatchSize = tc.batch
			e := newEnv(t, zerolog.Nop(), d)
			queuetest.Run(t, func(t *testing.T, key string) framework.Queue {
				q := e.bucket(t, tc.name, filepath.Dir(key), key)
				if _, ok := q.(*bucket); !ok {
					t.Fatalf("opened a %T, want a bucket of a version 2 store", q)
				}
				return q
			}, append([]queuetest.Option{tc.order, queuetest.Persistent}, tc.scale...)...)
			if v := negotiated(t, e.m, "sqlitequeue"); v != wire.ProtocolV2 {
				t.Fatalf("negotiated protocol version %d, want 2", v)
			}
		})
	}
}

// A plugin that speaks only protocol version 1 (built before version 2)
// still works: the host negotiates version 1 and opens one queue per key,
// also for a job's buckets.
func TestVersion1PluginStillWorks(t *testing.T) {
	e := newEnv(t, zerolog.Nop(), testDecl(t, "v1"))
	job := t.TempDir()
	queuetest.Run(t, func(t *testing.T, key string) framework.Queue {
		q := e.bucket(t, "test.MemoryFifo", job, filepath.Join(job, filepath.Base(key)))
		if _, ok := q.(*queue); !ok {
			t.Fatalf("opened a %T, want a version 1 queue", q)
		}
		return q
	}, queuetest.FIFO, queuetest.Serializes)
	if v := negotiated(t, e.m, "testplugin"); v != wire.ProtocolV1 {
		t.Fatalf("negotiated protocol version %d, want 1", v)
	}
}

// The default scheduler (the downloader-aware priority queue) over the
// plugin's FIFO store, across a reopen: nothing lost, nothing finished
// handed out again, and within every download slot requests come by
// priority and, at equal priority, in the order they were enqueued. The
// whole job is one database file.
func TestSchedulerDAPQOverPluginStoreAcrossReopen(t *testing.T) {
	job := t.TempDir()
	settings := map[string]any{
		"JOBDIR":               job,
		"SCHEDULER_DISK_QUEUE": "sqlitequeue.FifoDiskQueue",
	}
	const hosts, prios, n = 20, 5, 1000
	mk := func(i int) *framework.Request {
		r := framework.MustRequest("https://h" + strconv.Itoa(i%hosts) + ".example/p/" + strconv.Itoa(i))
		r.Priority = i / hosts % prios
		return r
	}
	index := map[string]int{}
	for i := range n {
		index[mk(i).URL] = i
	}
	d := sqliteDecl(t)
	d.BatchSize = 64 // several Syncs per phase
	e := newEnv(t, zerolog.Nop(), d)
	sch := openScheduler(t, e, settings)
	for i := range n {
		if ok, err := sch.Enqueue(mk(i)); err != nil || !ok {
			t.Fatalf("Enqueue(%d) = %v, %v", i, ok, err)
		}
	}
	finished := map[string]bool{}
	var order []*framework.Request
	for i := range 300 {
		r, err := sch.Next()
		if err != nil || r == nil {
			t.Fatalf("Next = %v, %v", r, err)
		}
		order = append(order, r)
		if i%3 != 0 {
			finished[r.URL] = true
			if err := sch.Finish(r, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := sch.Close("shutdown"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(job, func(path string, de os.DirEntry, err error) error {
		if err == nil && strings.Contains(de.Name(), ".sqlite3") && !strings.HasSuffix(de.Name(), "-wal") && !strings.HasSuffix(de.Name(), "-shm") {
			files = append(files, strings.TrimPrefix(path, job))
		}
		return nil
	})
	if len(files) != 1 || files[0] != string(filepath.Separator)+"sqlitequeue-fifo.sqlite3" {
		t.Fatalf("database files in the job directory: %v, want one sqlitequeue-fifo.sqlite3", files)
	}

	e2 := newEnv(t, zerolog.Nop(), d)
	sch = openScheduler(t, e2, settings)
	defer sch.Close("finished")
	rest := drain(t, sch)
	if len(rest) != n-len(finished) {
		t.Fatalf("resumed %d requests, want %d", len(rest), n-len(finished))
	}
	seen := map[string]bool{}
	for _, r := range rest {
		if finished[r.URL] || seen[r.URL] {
			t.Fatalf("%s came back (finished or twice)", r.URL)
		}
		seen[r.URL] = true
	}
	// Order within each slot, in each run: priorities never rise, and at
	// equal priority enqueue order holds (redelivered requests, in flight
	// at the stop, come first in their bucket).
	for run, rs := range [][]*framework.Request{order, rest} {
		last := map[string]*framework.Request{}
		for _, r := range rs {
			slot := r.Slot()
			if p := last[slot]; p != nil && !r.Redelivered && !p.Redelivered {
				if r.Priority > p.Priority || (r.Priority == p.Priority && index[r.URL] < index[p.URL]) {
					t.Fatalf("run %d, slot %s: %s (priority %d) after %s (priority %d)", run+1, slot, r.URL, r.Priority, p.URL, p.Priority)
				}
			}
			last[slot] = r
		}
	}
}

// A scheduler that takes turns among many buckets of a store (as the
// downloader-aware priority queue does) empties their prefetches in the
// same turn, while pushes keep arriving; the peers a refill prefetches for
// are popped much later. Every bucket still hands out its requests once,
// in order (FIFO or LIFO), Len stays exact at every step, and after a close
// midway the store reopens with exactly what was not acknowledged.
func TestStoreRoundRobin(t *testing.T) {
	for _, lifo := range []bool{false, true} {
		name := map[bool]string{false: "sqlitequeue.FifoDiskQueue", true: "sqlitequeue.LifoDiskQueue"}[lifo]
		t.Run(name, func(t *testing.T) { storeRoundRobin(t, name, lifo) })
	}
}

func storeRoundRobin(t *testing.T, name string, lifo bool) {
	const buckets, each = 40, 60
	job := t.TempDir()
	d := sqliteDecl(t)
	d.BatchSize = 8 // several Syncs per turn
	e := newEnv(t, zerolog.Nop(), d)
	open := func(e *env) []framework.Queue {
		qs := make([]framework.Queue, buckets)
		for i := range qs {
			qs[i] = e.bucket(t, name, job, filepath.Join(job, "requests.queue", "b"+strconv.Itoa(i), "0"))
		}
		qs[0].(*bucket).s.peers = 6 // refills that leave buckets without a prefetch
		return qs
	}
	qs := open(e)
	url := func(b, i int) string { return "https://b" + strconv.Itoa(b) + ".example/" + strconv.Itoa(i) }
	pushed := make([]int, buckets)    // per bucket, how many were pushed
	pending := make([][]int, buckets) // per bucket, the indexes not popped, in push order
	push := func(b int) {
		if err := qs[b].Push(framework.MustRequest(url(b, pushed[b]))); err != nil {
			t.Fatal(err)
		}
		pending[b] = append(pending[b], pushed[b])
		pushed[b]++
	}
	for i := range each {
		for b := range buckets {
			if i < each/2 {
				push(b)
			}
		}
	}
	acked := 0
	turn := func() {
		for b, q := range qs {
			if b%3 == 0 && pushed[b] < each {
				push(b) // pushes interleaved with the pops
			}
			if got, want := q.Len(), len(pending[b]); got != want {
				t.Fatalf("bucket %d: Len = %d, want %d", b, got, want)
			}
			r, err := q.Pop()
			if err != nil {
				t.Fatal(err)
			}
			if len(pending[b]) == 0 {
				if r != nil {
					t.Fatalf("bucket %d: popped %s from an empty bucket", b, r.URL)
				}
				continue
			}
			i := pending[b][0]
			if lifo {
				i = pending[b][len(pending[b])-1]
			}
			if r == nil || r.URL != url(b, i) {
				t.Fatalf("bucket %d: popped %v, want %s", b, r, url(b, i))
			}
			if lifo {
				pending[b] = pending[b][:len(pending[b])-1]
			} else {
				pending[b] = pending[b][1:]
			}
			if err := q.(framework.Acker).Ack(r); err != nil {
				t.Fatal(err)
			}
			acked++
		}
	}
	for range each / 3 {
		turn()
	}
	for _, q := range qs {
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}

	e = newEnv(t, zerolog.Nop(), d)
	qs = open(e)
	for b, q := range qs {
		if got, want := q.Len(), len(pending[b]); got != want {
			t.Fatalf("bucket %d after reopen: Len = %d, want %d", b, got, want)
		}
	}
	for range each + 1 {
		turn()
	}
	total := 0
	for b, q := range qs {
		total += pushed[b]
		if q.Len() != 0 || len(pending[b]) != 0 {
			t.Fatalf("bucket %d: Len = %d, %d of %d not popped", b, q.Len(), len(pending[b]), pushed[b])
		}
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if acked != total {
		t.Fatalf("acknowledged %d of %d", acked, total)
	}
}
