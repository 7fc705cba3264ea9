package filequeue

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

	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
)

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
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			for run := range runs {
				rng := rand.New(rand.NewPCG(uint64(run), 7))
				cfg := testDiskConfig()
				cfg.FlushBytes = 64 + rng.IntN(400)
				cfg.SegmentBytes = 200 + int64(rng.IntN(600))
				cfg.PopCommitDelay = []time.Duration{-1, time.Nanosecond, time.Hour}[rng.IntN(3)]
				path := filepath.Join(dir, strconv.Itoa(run))
				q := openDisk(t, path, k.LIFO, cfg)
				m := disktest.NewCrashModel(k.LIFO)
				ops := 1 + rng.IntN(120)
				for i := range ops {
					switch x := rng.IntN(100); {
					case x < 85:
						disktest.RandomQueueOp(t, rng, x, q, m, fmt.Sprintf("%d/%d", run, i))
					default:
						if err := q.Flush(); err != nil {
							t.Fatal(err)
						}
						m.Flushed()
					}
				}
				_ = q.lay.release() // the crash: nothing more reaches the files
				m.Check(t, reopenAll(t, path, k.LIFO))
			}
		})
	}
}

// Pops stay undurable until a flush: after a crash they come back with the
// same Delivery; after a flush they do not.
func TestDiskQueuePopDurability(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			cfg := testDiskConfig()
			cfg.PopCommitDelay = -1
			q := openDisk(t, path, k.LIFO, cfg)
			disktest.MustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			r, _ := q.Pop()
			_ = q.lay.release()
			got := reopenAll(t, path, k.LIFO)
			if len(got) != 3 || got[0].URL != r.URL || got[0].Delivery != r.Delivery {
				t.Fatalf("after a crash with an undurable pop: %v (popped %v, delivery %d)", got, r, r.Delivery)
			}
			q = openDisk(t, path, k.LIFO, cfg)
			disktest.MustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
			r, _ = q.Pop()
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			_ = q.lay.release()
			for _, g := range reopenAll(t, path, k.LIFO) {
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
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			cfg := testDiskConfig()
			cfg.FlushInterval = 20 * time.Millisecond
			cfg.PopCommitDelay = 20 * time.Millisecond
			q := openDisk(t, path, k.LIFO, cfg)
			disktest.MustPush(t, q, "http://x/1", "http://x/2")
			if n, _ := Len(path); n != 0 {
				t.Fatalf("%d records on disk before the interval", n)
			}
			time.Sleep(50 * time.Millisecond)
			if _, err := q.Peek(); err != nil {
				t.Fatal(err)
			}
			if n, _ := Len(path); n != 2 {
				t.Fatalf("%d records on disk after the interval, want 2", n)
			}
			disktest.PopURLs(t, q, 1)
			time.Sleep(50 * time.Millisecond)
			if _, err := q.Peek(); err != nil {
				t.Fatal(err)
			}
			if n, _ := Len(path); n != 1 {
				t.Fatalf("%d records on disk after the pop delay, want 1", n)
			}
			disktest.MustClose(t, q)
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
	disktest.MustPush(t, q, "http://x/1", "http://x/2")
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	disktest.PopURLs(t, q, 1)
	disktest.MustPush(t, q, "http://x/3", "http://x/4") // each past FlushBytes
	if n, _ := Len(path); n != 2 {
		t.Fatalf("%d records on disk, want the 2 flushed (the pop is not durable)", n)
	}
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = q.lay.release()
	disktest.SameList(t, disktest.URLsOf(reopenAll(t, path, true)), []string{"http://x/4", "http://x/3", "http://x/1"})
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
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			for i := range kills {
				path := filepath.Join(dir, strconv.Itoa(i))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDiskQueueSIGKILLChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), "FRONTIER_DISKQ_CHILD="+path, "FRONTIER_DISKQ_LIFO="+strconv.FormatBool(k.LIFO),
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
				m := disktest.NewCrashModel(k.LIFO)
				lines := strings.Split(out.String(), "\n")
				for _, line := range lines[:len(lines)-1] { // the last one may be cut
					f := strings.Fields(line)
					switch {
					case len(f) == 2 && f[0] == "P":
						m.Push(f[1])
					case len(f) == 3 && f[0] == "O":
						id, _ := strconv.ParseUint(f[2], 10, 64)
						m.Pop(f[1], id)
					case len(f) == 1 && f[0] == "F":
						m.Flushed()
					}
				}
				if m.Pushed() == 0 {
					t.Logf("kill %d: the child had not started", i)
					continue
				}
				m.Check(t, reopenAll(t, path, k.LIFO))
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
			if err := q.Push(disktest.Req(t, u)); err != nil {
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
