package filequeue

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// Under interval with a shared clock that a leader (the scheduler) began,
// a Flush between two ticks hands the pushes to the operating system but
// leaves the pops uncommitted: after a crash the popped record is back,
// with its delivery ID, until a flush inside a tick commits it. The
// exception is a LIFO whose pushes would overwrite popped records: it
// commits, so that a returned Flush keeps its pushes through a SIGKILL.
func TestDiskQueuePopsWaitForTick(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			tick := recordio.NewSyncTick()
			cfg := testDiskConfig()
			cfg.PopCommitDelay = time.Nanosecond // a pop would commit at the next call
			cfg.Fsync = recordio.FsyncPolicy{Mode: recordio.FsyncInterval, Interval: time.Hour, Tick: tick}
			q := openDisk(t, path, k.LIFO, cfg)
			disktest.MustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
			if !tick.Begin(time.Now(), time.Hour) {
				t.Fatal("the tick did not begin")
			}
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			tick.End()

			r, _ := q.Pop()
			if _, err := q.Peek(); err != nil { // a call after PopCommitDelay
				t.Fatal(err)
			}
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			got := crashed(t, path, k.LIFO)
			if len(got) != 3 || got[0].URL != r.URL || got[0].Delivery != r.Delivery {
				t.Fatalf("a pop committed between ticks: after a crash %v (popped %v, delivery %d)", disktest.URLsOf(got), r.URL, r.Delivery)
			}

			if !tick.Begin(time.Now().Add(2*time.Hour), time.Hour) {
				t.Fatal("the tick did not begin")
			}
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			tick.End()
			if got := crashed(t, path, k.LIFO); len(got) != 2 {
				t.Fatalf("after the tick: %v, want the two not popped", disktest.URLsOf(got))
			}

			r, _ = q.Pop()
			disktest.MustPush(t, q, "http://x/4")
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			got = crashed(t, path, k.LIFO)
			back := false
			for _, g := range got {
				back = back || g.URL == r.URL
			}
			if len(got) != 2+btoi(back) || back == k.LIFO {
				t.Fatalf("a pop then a push between ticks: after a crash %v (popped %s): want it back only from a FIFO", disktest.URLsOf(got), r.URL)
			}
			_ = q.lay.release()
		})
	}
}

// crashed returns what a crash leaves of the queue at path: a copy of its
// files, reopened and drained.
func crashed(t *testing.T, path string, lifo bool) []*framework.Request {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "q")
	copyQueue(t, path, dst, -1)
	return reopenAll(t, dst, lifo)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
