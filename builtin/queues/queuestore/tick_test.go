package queuestore

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/internal/recordio"
)

// tickedConfig is a store configuration under JOBDIR_FSYNC=interval with a
// shared clock that the test leads, as the scheduler does.
func tickedConfig(tick *recordio.SyncTick) disk.Config {
	cfg := storeTestConfig(0)
	cfg.Fsync = recordio.FsyncPolicy{Mode: recordio.FsyncInterval, Interval: time.Hour, Tick: tick}
	return cfg
}

// tickFlush flushes s inside a tick of tick, the n-th the test leads.
func tickFlush(t *testing.T, s *Store, tick *recordio.SyncTick, n int) {
	t.Helper()
	if !tick.Begin(time.Now().Add(time.Duration(n)*2*time.Hour), time.Hour) {
		t.Fatal("the tick did not begin")
	}
	defer tick.End()
	mustFlush(t, s)
}

// deliveries returns every record left in the bucket name of a crash copy
// of dir, as "URL#delivery", sorted.
func deliveries(t *testing.T, dir, name string, lifo bool) []string {
	t.Helper()
	s, err := Open(crashCopy(t, dir), storeTestConfig(0))
	if err != nil {
		t.Fatalf("reopen after a crash: %v", err)
	}
	defer s.Close()
	var out []string
	for _, r := range popAll(t, bucketOf(t, s, name, lifo)) {
		out = append(out, fmt.Sprintf("%s#%d", r.URL, r.Delivery))
	}
	slices.Sort(out)
	return out
}

// Under interval with a shared clock, a flush between two ticks writes the
// pushes but not the pops (live counts, a drained bucket's drop): a crash
// then returns the popped records with the delivery IDs they were handed
// out with (the scheduler's in-flight journal drops them as ghosts), and a
// power cut can never make a pop durable before the tick has fsynced the
// journal's record of its delivery. The next tick writes them.
func TestStorePopsWaitForTick(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			tick := recordio.NewSyncTick()
			s := openTestStore(t, dir, tickedConfig(tick))
			q := bucketOf(t, s, "0", k.LIFO)
			disktest.MustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
			tickFlush(t, s, tick, 0)
			all := deliveries(t, dir, "0", k.LIFO)
			if len(all) != 3 {
				t.Fatalf("after the first tick: %v", all)
			}

			popped, err := q.Pop()
			if err != nil || popped == nil {
				t.Fatalf("pop: %v, %v", popped, err)
			}
			mustFlush(t, s) // between ticks
			if got := deliveries(t, dir, "0", k.LIFO); !slices.Equal(got, all) {
				t.Errorf("a pop written between ticks: after a crash the bucket holds %v, want %v (the popped record back, with its delivery ID)", got, all)
			}
			tickFlush(t, s, tick, 1)
			want := slices.DeleteFunc(slices.Clone(all), func(d string) bool { return d == fmt.Sprintf("%s#%d", popped.URL, popped.Delivery) })
			if got := deliveries(t, dir, "0", k.LIFO); !slices.Equal(got, want) {
				t.Errorf("after the tick the bucket holds %v, want %v", got, want)
			}

			// Drained and closed (dropped), then asked for again and
			// pushed to, between ticks: the key keeps its bucket, whose
			// popped records come back after a crash, beside the new one.
			disktest.PopURLs(t, q, 2)
			disktest.MustClose(t, q)
			q = bucketOf(t, s, "0", k.LIFO)
			disktest.MustPush(t, q, "http://x/4")
			mustFlush(t, s)
			got := deliveries(t, dir, "0", k.LIFO)
			if len(got) != 3 || !slices.Contains(got, want[0]) || !slices.Contains(got, want[1]) {
				t.Errorf("a drained bucket's drop written between ticks: after a crash the bucket holds %v, want %v and x/4", got, want)
			}
			tickFlush(t, s, tick, 2)
			got = deliveries(t, dir, "0", k.LIFO)
			if len(got) != 1 || got[0][:len("http://x/4#")] != "http://x/4#" {
				t.Errorf("after the tick the bucket holds %v, want x/4 only", got)
			}
			disktest.SameList(t, disktest.URLsOf(popAll(t, q)), []string{"http://x/4"})
			mustCloseStore(t, s)
			if got := deliveries(t, dir, "0", k.LIFO); len(got) != 0 {
				t.Errorf("after close the bucket holds %v, want nothing", got)
			}
		})
	}
}

// A store whose clock no leader has begun (used without a scheduler)
// writes its pops at every flush, as under the other policies.
func TestStorePopsWithoutLeader(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, tickedConfig(recordio.NewSyncTick()))
	q := bucketOf(t, s, "0", false)
	disktest.MustPush(t, q, "http://x/1", "http://x/2")
	mustFlush(t, s)
	disktest.PopURLs(t, q, 1)
	mustFlush(t, s)
	if got := deliveries(t, dir, "0", false); len(got) != 1 {
		t.Errorf("after a crash the bucket holds %v, want x/2 only", got)
	}
}
