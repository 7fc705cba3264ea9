package queues

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// crashModel is what a queue's owner knows before a crash: what it pushed,
// what a successful Flush acknowledged, what it popped, and which pops a
// successful Flush made durable.
type crashModel struct {
	lifo      bool
	pushed    []string
	acked     map[string]bool
	popped    map[string]uint64 // url -> Delivery
	committed map[string]bool
	pending   []string // pushed since the last successful flush
	popping   []string // popped since the last successful flush
}

func newCrashModel(lifo bool) *crashModel {
	return &crashModel{lifo: lifo, acked: map[string]bool{}, popped: map[string]uint64{}, committed: map[string]bool{}}
}

func (m *crashModel) push(url string) {
	m.pushed = append(m.pushed, url)
	m.pending = append(m.pending, url)
}

func (m *crashModel) pop(url string, id uint64) {
	m.popped[url] = id
	m.popping = append(m.popping, url)
}

func (m *crashModel) flushed() {
	for _, u := range m.pending {
		m.acked[u] = true
	}
	for _, u := range m.popping {
		m.committed[u] = true
	}
	m.pending, m.popping = m.pending[:0], m.popping[:0]
}

// check reopens nothing: it judges what a reopened queue delivered, in pop
// order, against the invariants: nothing acknowledged and not popped is
// lost; nothing whose pop was durable comes back; a record that comes back
// has its Delivery; the order is the queue's.
func (m *crashModel) check(t testing.TB, got []*framework.Request) {
	t.Helper()
	index := map[string]int{}
	for i, u := range m.pushed {
		index[u] = i
	}
	seen := map[string]bool{}
	last := -1
	for _, r := range got {
		i, ok := index[r.URL]
		switch {
		case !ok:
			t.Fatalf("%s came back but was never pushed", r.URL)
		case seen[r.URL]:
			t.Fatalf("%s came back twice", r.URL)
		case m.committed[r.URL]:
			t.Fatalf("%s came back though its pop was flushed", r.URL)
		}
		if id, ok := m.popped[r.URL]; ok && id != r.Delivery {
			t.Fatalf("%s came back with delivery %d, was %d", r.URL, r.Delivery, id)
		}
		if last >= 0 && (!m.lifo && i < last || m.lifo && i > last) {
			t.Fatalf("%s out of order after a crash", r.URL)
		}
		seen[r.URL], last = true, i
	}
	for u := range m.acked {
		if _, popped := m.popped[u]; !popped && !seen[u] {
			t.Fatalf("%s was acknowledged by a flush and is lost", u)
		}
	}
}

// reopenAll opens the queue at path afresh and pops everything.
func reopenAll(t testing.TB, path string, lifo bool) []*framework.Request {
	t.Helper()
	q := openDisk(t, path, lifo, testDiskConfig())
	var out []*framework.Request
	for {
		r, err := q.Pop()
		if err != nil {
			t.Fatalf("pop after crash: %v", err)
		}
		if r == nil {
			break
		}
		out = append(out, r)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Hundreds of crash points: a random mix of pushes, pops, peeks and flushes,
// with buffers and segments small enough that automatic flushes, segment
// changes and deferred LIFO writes all happen, then the process "dies" (the
// queue is dropped without Close: only what reached the files remains, as
// after SIGKILL) and the queue is reopened.
func TestDiskQueueCrashPoints(t *testing.T) {
	runs := 150
	if testing.Short() {
		runs = 30
	}
	for _, k := range diskKinds {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			for run := range runs {
				rng := rand.New(rand.NewPCG(uint64(run), 7))
				cfg := testDiskConfig()
				cfg.FlushBytes = 64 + rng.IntN(400)
				cfg.SegmentBytes = 200 + int64(rng.IntN(600))
				cfg.PopCommitDelay = []time.Duration{-1, time.Nanosecond, time.Hour}[rng.IntN(3)]
				path := filepath.Join(dir, strconv.Itoa(run))
				q := openDisk(t, path, k.lifo, cfg)
				m := newCrashModel(k.lifo)
				ops := 1 + rng.IntN(120)
				for i := range ops {
					switch x := rng.IntN(100); {
					case x < 85:
						randomQueueOp(t, rng, x, q, m, fmt.Sprintf("%d/%d", run, i))
					default:
						if err := q.Flush(); err != nil {
							t.Fatal(err)
						}
						m.flushed()
					}
				}
				_ = q.lay.release() // the crash: nothing more reaches the files
				m.check(t, reopenAll(t, path, k.lifo))
			}
		})
	}
}

// randomQueueOp applies to q and its model m the operation x (0 to 84)
// picks: a push (x < 45), a batch push, a pop (x < 80) or a peek; the URLs
// it pushes end in tag.
func randomQueueOp(t *testing.T, rng *rand.Rand, x int, q interface {
	framework.Queue
	framework.Peeker
	framework.Batcher
}, m *crashModel, tag string) {
	t.Helper()
	switch {
	case x < 45:
		u := "http://x/" + tag
		m.push(u)
		mustPush(t, q, u)
	case x < 50:
		var rs []*framework.Request
		for j := range 1 + rng.IntN(4) {
			u := fmt.Sprintf("http://x/%s/%d", tag, j)
			m.push(u)
			rs = append(rs, dreq(t, u))
		}
		if err := q.PushBatch(rs); err != nil {
			t.Fatal(err)
		}
	case x < 80:
		r, err := q.Pop()
		if err != nil {
			t.Fatal(err)
		}
		if r != nil {
			m.pop(r.URL, r.Delivery)
		}
	default:
		if _, err := q.Peek(); err != nil {
			t.Fatal(err)
		}
	}
}

// Pops stay undurable until a flush: after a crash they come back with the
// same Delivery; after a flush they do not.
func TestDiskQueuePopDurability(t *testing.T) {
	for _, k := range diskKinds {
		t.Run(k.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			cfg := testDiskConfig()
			cfg.PopCommitDelay = -1
			q := openDisk(t, path, k.lifo, cfg)
			mustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			r, _ := q.Pop()
			_ = q.lay.release()
			got := reopenAll(t, path, k.lifo)
			if len(got) != 3 || got[0].URL != r.URL || got[0].Delivery != r.Delivery {
				t.Fatalf("after a crash with an undurable pop: %v (popped %v, delivery %d)", got, r, r.Delivery)
			}
			q = openDisk(t, path, k.lifo, cfg)
			mustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
			r, _ = q.Pop()
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			_ = q.lay.release()
			for _, g := range reopenAll(t, path, k.lifo) {
				if g.URL == r.URL {
					t.Fatalf("%s came back after its pop was flushed", r.URL)
				}
			}
		})
	}
}

// Automatic flushes: a push reaches the file by the first call after
// FlushInterval, and a pop becomes durable by the first call after
// PopCommitDelay, without Flush.
func TestDiskQueueAutomaticFlush(t *testing.T) {
	for _, k := range diskKinds {
		t.Run(k.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			cfg := testDiskConfig()
			cfg.FlushInterval = 20 * time.Millisecond
			cfg.PopCommitDelay = 20 * time.Millisecond
			q := openDisk(t, path, k.lifo, cfg)
			mustPush(t, q, "http://x/1", "http://x/2")
			if n, _ := DiskQueueLen(path); n != 0 {
				t.Fatalf("%d records on disk before the interval", n)
			}
			time.Sleep(50 * time.Millisecond)
			if _, err := q.Peek(); err != nil {
				t.Fatal(err)
			}
			if n, _ := DiskQueueLen(path); n != 2 {
				t.Fatalf("%d records on disk after the interval, want 2", n)
			}
			popURLs(t, q, 1)
			time.Sleep(50 * time.Millisecond)
			if _, err := q.Peek(); err != nil {
				t.Fatal(err)
			}
			if n, _ := DiskQueueLen(path); n != 1 {
				t.Fatalf("%d records on disk after the pop delay, want 1", n)
			}
			mustClose(t, q)
		})
	}
}

// A LIFO queue holding a pop not yet durable does not write later pushes
// until it may make that pop durable: an automatic flush never makes a pop
// durable before its time.
func TestDiskQueueLifoDefersPushesBehindPops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q")
	cfg := testDiskConfig()
	cfg.FlushBytes = 1
	cfg.PopCommitDelay = -1
	q := openDisk(t, path, true, cfg)
	mustPush(t, q, "http://x/1", "http://x/2")
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	popURLs(t, q, 1)
	mustPush(t, q, "http://x/3", "http://x/4") // each past FlushBytes
	if n, _ := DiskQueueLen(path); n != 2 {
		t.Fatalf("%d records on disk, want the 2 flushed (the pop is not durable)", n)
	}
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = q.lay.release()
	sameList(t, urlsOf(reopenAll(t, path, true)), []string{"http://x/4", "http://x/3", "http://x/1"})
}

func urlsOf(rs []*framework.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.URL
	}
	return out
}

// The real thing: a child process pushes, pops and flushes at random and is
// killed with SIGKILL; the parent reopens the queue and checks it against
// what the child reported before dying.
func TestDiskQueueSIGKILL(t *testing.T) {
	if os.Getenv("FRONTIER_DISKQ_CHILD") != "" {
		t.Skip("child")
	}
	kills := 6
	if testing.Short() {
		kills = 2
	}
	for _, k := range diskKinds {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			for i := range kills {
				path := filepath.Join(dir, strconv.Itoa(i))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDiskQueueSIGKILLChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), "FRONTIER_DISKQ_CHILD="+path, "FRONTIER_DISKQ_LIFO="+strconv.FormatBool(k.lifo),
					"FRONTIER_DISKQ_SEED="+strconv.Itoa(i))
				var out bytes.Buffer
				cmd.Stdout = &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(30+i*37%150) * time.Millisecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
				cancel()
				m := newCrashModel(k.lifo)
				lines := strings.Split(out.String(), "\n")
				for _, line := range lines[:len(lines)-1] { // the last one may be cut
					f := strings.Fields(line)
					switch {
					case len(f) == 2 && f[0] == "P":
						m.push(f[1])
					case len(f) == 3 && f[0] == "O":
						id, _ := strconv.ParseUint(f[2], 10, 64)
						m.pop(f[1], id)
					case len(f) == 1 && f[0] == "F":
						m.flushed()
					}
				}
				if len(m.pushed) == 0 {
					t.Logf("kill %d: the child had not started", i)
					continue
				}
				m.check(t, reopenAll(t, path, k.lifo))
			}
		})
	}
}

// TestDiskQueueSIGKILLChild is the child of TestDiskQueueSIGKILL: it works
// on a queue until killed, and reports each step on stdout after it returns.
func TestDiskQueueSIGKILLChild(t *testing.T) {
	path := os.Getenv("FRONTIER_DISKQ_CHILD")
	if path == "" {
		t.Skip("run by TestDiskQueueSIGKILL")
	}
	seed, _ := strconv.Atoi(os.Getenv("FRONTIER_DISKQ_SEED"))
	lifo := os.Getenv("FRONTIER_DISKQ_LIFO") == "true"
	cfg := testDiskConfig()
	cfg.FlushBytes = 4096
	cfg.SegmentBytes = 64 << 10
	cfg.FlushInterval = 5 * time.Millisecond
	cfg.PopCommitDelay = 10 * time.Millisecond
	q := openDisk(t, path, lifo, cfg)
	w := os.Stdout // unbuffered: a line is out before the next step
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	for i := 0; ; i++ {
		switch x := rng.IntN(100); {
		case x < 55:
			u := fmt.Sprintf("http://x/%d", i)
			fmt.Fprintf(w, "P %s\n", u) // before: the parent must know every push
			if err := q.Push(dreq(t, u)); err != nil {
				t.Fatal(err)
			}
		case x < 95:
			r, err := q.Pop()
			if err != nil {
				t.Fatal(err)
			}
			if r != nil {
				fmt.Fprintf(w, "O %s %d\n", r.URL, r.Delivery)
			}
		default:
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(w, "F")
		}
	}
}
