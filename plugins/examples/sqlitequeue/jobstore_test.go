package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/frontier-go/frontier/plugins/sdk"
)

func popBucket(t *testing.T, s *jobStore, bucket string, n int) []sdk.Delivery {
	t.Helper()
	ds, err := s.Pop(bucket, n)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// Buckets of one store keep their own order, FIFO and LIFO, with pushes
// interleaved across buckets in one Write.
func TestJobStoreOrderPerBucket(t *testing.T) {
	for _, lifo := range []bool{false, true} {
		s, err := openJobStore(t.TempDir(), lifo, "normal")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write([]sdk.BucketWrite{{Bucket: "a", Push: entries(0, 3)}, {Bucket: "b", Push: entries(10, 12)}, {Bucket: "a", Push: entries(3, 5)}}); err != nil {
			t.Fatal(err)
		}
		want := map[bool][]string{false: {"r0", "r1", "r2", "r3", "r4"}, true: {"r4", "r3", "r2", "r1", "r0"}}[lifo]
		if got := names(popBucket(t, s, "a", 10)); !reflect.DeepEqual(got, want) {
			t.Fatalf("lifo=%v: bucket a popped %v, want %v", lifo, got, want)
		}
		if st := s.Len("b"); st.Pending != 2 || st.InFlight != 0 {
			t.Fatalf("lifo=%v: bucket b %+v", lifo, st)
		}
		if got := s.Buckets(); len(got) != 2 || got["a"].InFlight != 5 {
			t.Fatalf("lifo=%v: Buckets = %v", lifo, got)
		}
		s.Close()
	}
}

// Acknowledged rows are gone after a reopen, released ones come back in
// their place not redelivered, and rows in flight come back redelivered.
func TestJobStoreReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "full")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "x/0", Push: entries(0, 8)}, {Bucket: "y/1", Push: entries(20, 22)}}); err != nil {
		t.Fatal(err)
	}
	first := popBucket(t, s, "x/0", 4)
	if err := s.Write([]sdk.BucketWrite{{Bucket: "x/0", Ack: ids(first)}}); err != nil {
		t.Fatal(err)
	}
	second := popBucket(t, s, "x/0", 3) // r4 r5 r6 in flight
	// r4 acknowledged, r6 released; an unknown ID and a repeated one are ignored.
	if err := s.Write([]sdk.BucketWrite{{Bucket: "x/0", Ack: []uint64{second[0].ID, first[0].ID, 1 << 40}, Release: ids(second[2:])}}); err != nil {
		t.Fatal(err)
	}
	if st := s.Len("x/0"); st.Pending != 2 || st.InFlight != 1 {
		t.Fatalf("Len = %+v, want 2 pending (r6 r7), 1 in flight (r5)", st)
	}
	// The released row pops again before r7.
	if got := names(popBucket(t, s, "x/0", 1)); !reflect.DeepEqual(got, []string{"r6"}) {
		t.Fatalf("after release popped %v, want r6", got)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "x/0", Release: []uint64{second[2].ID}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Buckets(); got["x/0"].Pending != 3 || got["y/1"].Pending != 2 {
		t.Fatalf("Buckets after reopen = %v", got)
	}
	ds := popBucket(t, s, "x/0", 10)
	if got := names(ds); !reflect.DeepEqual(got, []string{"r5", "r6", "r7"}) {
		t.Fatalf("after reopen popped %v", got)
	}
	if !ds[0].Redelivered || ds[1].Redelivered || ds[2].Redelivered {
		t.Fatalf("redelivered flags %v %v %v, want true false false", ds[0].Redelivered, ds[1].Redelivered, ds[2].Redelivered)
	}
}

func TestJobStoreRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE meta SET value = '99' WHERE key = 'format'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := openJobStore(dir, false, "normal"); !errors.Is(err, errFormatVersion) {
		t.Fatalf("opening a file of format 99: %v", err)
	}
	if _, err := openJobStore("", false, "normal"); !errors.Is(err, errEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
	// The LIFO store of the same job is another file.
	l, err := openJobStore(dir, true, "normal")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if filepath.Base(l.path) != "sqlitequeue-lifo.sqlite3" {
		t.Fatalf("LIFO store file %s", l.path)
	}
}

func TestPragmas(t *testing.T) {
	for _, sync := range []string{"normal", "full"} {
		s, err := openJobStore(t.TempDir(), false, sync)
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var syn int
		if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := s.db.QueryRow("PRAGMA synchronous").Scan(&syn); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"normal": 1, "full": 2}[sync]
		if mode != "wal" || syn != want {
			t.Fatalf("synchronous %s: journal_mode=%s synchronous=%d, want wal and %d", sync, mode, syn, want)
		}
		s.Close()
	}
}

// BenchmarkJobStoreRoundTrip measures the job store alone: 100k records of
// 100 bytes over 1,000 buckets, pushed in writes of 512 spread over the
// buckets, then popped 16 at a time per bucket and acknowledged.
func BenchmarkJobStoreRoundTrip(b *testing.B) {
	const n, batch, buckets = 100_000, 512, 1000
	rec := make([]byte, 100)
	names := make([]string, buckets)
	for i := range names {
		names[i] = "requests.queue/host" + string(rune('a'+i%26)) + "/" + string(rune('0'+i/26%10)) + string(rune('0'+i/260))
	}
	for b.Loop() {
		s, err := openJobStore(b.TempDir(), false, "normal")
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i += batch {
			ws := make([]sdk.BucketWrite, 0, batch)
			for j := range batch {
				ws = append(ws, sdk.BucketWrite{Bucket: names[(i+j)%buckets], Push: []sdk.Entry{{Record: rec}}})
			}
			if err := s.Write(ws); err != nil {
				b.Fatal(err)
			}
		}
		for _, name := range names {
			for {
				ds, err := s.Pop(name, 16)
				if err != nil {
					b.Fatal(err)
				}
				if len(ds) == 0 {
					break
				}
				if err := s.Write([]sdk.BucketWrite{{Bucket: name, Ack: ids(ds)}}); err != nil {
					b.Fatal(err)
				}
			}
		}
		s.Close()
	}
}

// BenchmarkJobStoreScheduler measures the job store as the host drives it
// under `frontier bench scheduler` and the default downloader-aware
// priority queue: 100k records of 100 bytes over 1,000 buckets (1,000 hosts,
// each with one of 10 priorities), pushed in Syncs of 8,192 taking turns
// among the buckets (one write per bucket), then popped in Syncs that each pop 16 from 257
// buckets, in turns, and acknowledge what the Sync before popped. It
// reports the time per request of each phase.
func BenchmarkJobStoreScheduler(b *testing.B) {
	const n, batch, buckets, peers, fetch = 100_000, 8192, 1000, 257, 16
	rec := make([]byte, 100)
	names := make([]string, buckets)
	for i := range names {
		names[i] = fmt.Sprintf("requests.queue/host%d.example/%d", i, i%10)
	}
	var push, pop time.Duration
	for b.Loop() {
		s, err := openJobStore(b.TempDir(), false, "normal")
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for i := 0; i < n; i += batch {
			// One write per bucket, its pushes in order, as the host sends.
			at := map[string]int{}
			var ws []sdk.BucketWrite
			for j := i; j < min(n, i+batch); j++ {
				name := names[j%buckets]
				k, ok := at[name]
				if !ok {
					k = len(ws)
					at[name] = k
					ws = append(ws, sdk.BucketWrite{Bucket: name})
				}
				ws[k].Push = append(ws[k].Push, sdk.Entry{Record: rec})
			}
			// in the order the buckets got pushes, not the store's
			rand.New(rand.NewPCG(uint64(i), 1)).Shuffle(len(ws), func(x, y int) { ws[x], ws[y] = ws[y], ws[x] })
			if _, err := s.Sync(ws, nil); err != nil {
				b.Fatal(err)
			}
		}
		push += time.Since(start)
		start = time.Now()
		var acks []sdk.BucketWrite
		next := 0
		for popped := 0; popped < n; {
			var reqs []sdk.PopRequest
			for tried := 0; len(reqs) < peers && tried < buckets; tried++ {
				if s.Len(names[next]).Pending > 0 {
					reqs = append(reqs, sdk.PopRequest{Bucket: names[next], Max: fetch})
				}
				next = (next + 1) % buckets
			}
			out, err := s.Sync(acks, reqs)
			if err != nil {
				b.Fatal(err)
			}
			acks = acks[:0]
			for i, ds := range out {
				popped += len(ds)
				acks = append(acks, sdk.BucketWrite{Bucket: reqs[i].Bucket, Ack: ids(ds)})
			}
		}
		if _, err := s.Sync(acks, nil); err != nil {
			b.Fatal(err)
		}
		pop += time.Since(start)
		s.Close()
	}
	b.ReportMetric(float64(push.Nanoseconds())/float64(b.N*n), "push-ns/req")
	b.ReportMetric(float64(pop.Nanoseconds())/float64(b.N*n), "pop-ns/req")
}

// A file of format 3 (every handed-out row marked, no watermark) is
// upgraded in place: what it had handed out comes back redelivered, and
// the rest not.
func TestJobStoreUpgradesFormat3(t *testing.T) {
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: entries(0, 4)}}); err != nil {
		t.Fatal(err)
	}
	popBucket(t, s, "a/0", 2) // r0 r1 in flight, under the watermark
	// What format 3 kept on disk for the same state.
	for _, q := range []string{
		`UPDATE entries SET popped = 1 WHERE id <= (SELECT popped_upto FROM buckets WHERE buckets.id = entries.bucket)`,
		`ALTER TABLE buckets DROP COLUMN popped_upto`,
		`UPDATE meta SET value = '3' WHERE key = 'format'`,
	} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()

	s, err = openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var format string
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'format'`).Scan(&format); err != nil || format != jobStoreVersion {
		t.Fatalf("format after the upgrade = %q (%v), want %s", format, err, jobStoreVersion)
	}
	ds := popBucket(t, s, "a/0", 10)
	if got := names(ds); !reflect.DeepEqual(got, []string{"r0", "r1", "r2", "r3"}) {
		t.Fatalf("after the upgrade popped %v", got)
	}
	for i, d := range ds {
		if d.Redelivered != (i < 2) {
			t.Fatalf("%s redelivered = %v", d.Record, d.Redelivered)
		}
	}
}

// Rows handed out in order are under the bucket's watermark: after a close
// with rows in flight, those come back redelivered, a released one and the
// ones never handed out do not, and an acknowledged one never comes back.
func TestJobStoreWatermark(t *testing.T) {
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: entries(0, 6)}, {Bucket: "b/0", Push: entries(10, 12)}}); err != nil {
		t.Fatal(err)
	}
	out, err := s.Sync(nil, []sdk.PopRequest{{Bucket: "a/0", Max: 4}, {Bucket: "b/0", Max: 1}})
	if err != nil {
		t.Fatal(err)
	}
	a := out[0] // r0..r3
	// r0 acknowledged, r2 released, in the Sync that pops r2 again and r4.
	out, err = s.Sync([]sdk.BucketWrite{{Bucket: "a/0", Ack: ids(a[:1]), Release: ids(a[2:3])}}, []sdk.PopRequest{{Bucket: "a/0", Max: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(out[0]); !reflect.DeepEqual(got, []string{"r2", "r4"}) {
		t.Fatalf("after the release popped %v, want r2 r4", got)
	}
	// r2 released again: not redelivered after the reopen.
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Release: ids(out[0][:1])}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ds := popBucket(t, s, "a/0", 10)
	if got := names(ds); !reflect.DeepEqual(got, []string{"r1", "r2", "r3", "r4", "r5"}) {
		t.Fatalf("after reopen popped %v", got)
	}
	want := []bool{true, false, true, true, false}
	for i, d := range ds {
		if d.Redelivered != want[i] {
			t.Fatalf("%s redelivered = %v, want %v", d.Record, d.Redelivered, want[i])
		}
	}
	ds = popBucket(t, s, "b/0", 10)
	if len(ds) != 2 || !ds[0].Redelivered || ds[1].Redelivered {
		t.Fatalf("bucket b/0 after reopen: %v", ds)
	}
}
