package main

import (
	"database/sql"
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
// priority queue: records of 100 bytes over buckets of hosts and
// priorities (100k over 1,000 buckets, and 1M over 10,000: 1,000 hosts x 10
// priorities, as the bench command has), pushed in Syncs of 8,192 taking
// turns among the buckets (one write per bucket), then popped in Syncs
// that each pop 16 from 257 buckets, in turns, and acknowledge what the
// Sync before popped. It reports the time per request of each phase.
func BenchmarkJobStoreScheduler(b *testing.B) {
	for _, c := range []struct {
		name       string
		n, buckets int
	}{{"n=100k", 100_000, 1000}, {"n=1M", 1_000_000, 10_000}} {
		b.Run(c.name, func(b *testing.B) { benchScheduler(b, c.n, c.buckets) })
	}
}

func benchScheduler(b *testing.B, n, buckets int) {
	const batch, peers, fetch = 8192, 257, 16
	rec := make([]byte, 100)
	names := make([]string, buckets)
	for i := range names {
		names[i] = fmt.Sprintf("requests.queue/host%d.example/%d", i%1000, i/1000)
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

// oldJobSchema is the job store's schema of formats 3 and 4: rows
// clustered by (bucket, id); format 3 has no watermark column.
const oldJobSchema = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE %s);
CREATE TABLE entries (
	bucket INTEGER NOT NULL,
	id INTEGER NOT NULL,
	record BLOB NOT NULL,
	popped INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (bucket, id)
) WITHOUT ROWID;`

// openUpgraded opens the FIFO job store of an older format in dir and
// checks that it is of the current format once open; the test closes it.
func openUpgraded(t *testing.T, dir string) *jobStore {
	t.Helper()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var format string
	if err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'format'`).Scan(&format); err != nil || format != jobStoreVersion {
		t.Fatalf("format after the upgrade = %q (%v), want %s", format, err, jobStoreVersion)
	}
	return s
}

// writeOldJobStore writes a FIFO job store of format 3 or 4 in dir, as
// those versions of the plugin left it, from SQL statements.
func writeOldJobStore(t *testing.T, dir, format string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "sqlitequeue-fifo.sqlite3"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	column := ", popped_upto INTEGER NOT NULL DEFAULT 0"
	if format == "3" {
		column = ""
	}
	stmts = append([]string{
		fmt.Sprintf(oldJobSchema, column),
		`INSERT INTO meta VALUES ('format', '` + format + `'), ('kind', 'fifo'), ('next_id', '7')`,
	}, stmts...)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// Files of formats 3 (every handed-out row marked, no watermark) and 4
// (a watermark, rows clustered by bucket) are upgraded in place: each
// bucket pops its rows in their order, those handed out before come back
// redelivered and the rest not, and new rows get new ids.
func TestJobStoreUpgradesOldFormats(t *testing.T) {
	for _, c := range []struct {
		format string
		rows   []string
		wantA  []string
		redelA []bool
	}{
		{"3", []string{
			`INSERT INTO buckets (id, name) VALUES (1, 'a/0'), (2, 'b/0')`,
			`INSERT INTO entries VALUES (1, 1, 'a0', 1), (2, 2, 'b0', 0), (1, 3, 'a1', 0), (2, 4, 'b1', 0), (1, 5, 'a2', 1)`,
		}, []string{"a0", "a1", "a2"}, []bool{true, false, true}},
		{"4", []string{
			`INSERT INTO buckets (id, name, popped_upto) VALUES (1, 'a/0', 3), (2, 'b/0', 0)`,
			// a0 under the watermark, a1 released, a2 above it, a3 marked.
			`INSERT INTO entries VALUES (1, 1, 'a0', 0), (2, 2, 'b0', 0), (1, 3, 'a1', -1), (2, 4, 'b1', 0), (1, 5, 'a2', 0), (1, 6, 'a3', 1)`,
		}, []string{"a0", "a1", "a2", "a3"}, []bool{true, false, false, true}},
	} {
		t.Run("format "+c.format, func(t *testing.T) {
			dir := t.TempDir()
			writeOldJobStore(t, dir, c.format, c.rows...)
			s := openUpgraded(t, dir)
			if got := s.Buckets(); got["a/0"].Pending != len(c.wantA) || got["b/0"].Pending != 2 {
				t.Fatalf("Buckets after the upgrade = %v", got)
			}
			if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: []sdk.Entry{{Record: []byte("a9")}}}}); err != nil {
				t.Fatal(err)
			}
			ds := popBucket(t, s, "a/0", 10)
			if got := names(ds); !reflect.DeepEqual(got, append(c.wantA, "a9")) {
				t.Fatalf("after the upgrade popped %v", got)
			}
			for i, d := range ds[:len(c.wantA)] {
				if d.Redelivered != c.redelA[i] {
					t.Fatalf("%s redelivered = %v", d.Record, d.Redelivered)
				}
			}
			if d := ds[len(ds)-1]; d.ID != 7 || d.Redelivered {
				t.Fatalf("the row pushed after the upgrade: id %d (want 7, next_id), redelivered %v", d.ID, d.Redelivered)
			}
			if got := names(popBucket(t, s, "b/0", 10)); !reflect.DeepEqual(got, []string{"b0", "b1"}) {
				t.Fatalf("bucket b/0 after the upgrade popped %v", got)
			}
		})
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

// A Sync that asks twice for the same bucket hands out different rows,
// each request the next ones in the store's order; a released row comes
// back in its place.
func TestJobStoreSameBucketTwiceInASync(t *testing.T) {
	for _, lifo := range []bool{false, true} {
		s, err := openJobStore(t.TempDir(), lifo, "normal")
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Sync([]sdk.BucketWrite{{Bucket: "a", Push: entries(0, 5)}}, []sdk.PopRequest{{Bucket: "a", Max: 2}, {Bucket: "b", Max: 2}, {Bucket: "a", Max: 2}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool][][]string{false: {{"r0", "r1"}, nil, {"r2", "r3"}}, true: {{"r4", "r3"}, nil, {"r2", "r1"}}}[lifo]
		for i := range want {
			if got := names(out[i]); !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("lifo=%v: request %d popped %v, want %v", lifo, i, got, want[i])
			}
		}
		if err := s.Write([]sdk.BucketWrite{{Bucket: "a", Release: ids(out[0][1:])}}); err != nil {
			t.Fatal(err)
		}
		wantNext := map[bool][]string{false: {"r1", "r4"}, true: {"r3", "r0"}}[lifo]
		if got := names(popBucket(t, s, "a", 5)); !reflect.DeepEqual(got, wantNext) {
			t.Fatalf("lifo=%v: after the release popped %v, want %v", lifo, got, wantNext)
		}
		if st := s.Len("a"); st.Pending != 0 || st.InFlight != 5 {
			t.Fatalf("lifo=%v: Len = %+v", lifo, st)
		}
		s.Close()
	}

	// The FIFO watermark covers both requests: after a reopen, every row
	// the Sync handed out comes back redelivered, and only those.
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync([]sdk.BucketWrite{{Bucket: "a", Push: entries(0, 5)}}, []sdk.PopRequest{{Bucket: "a", Max: 2}, {Bucket: "a", Max: 2}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = openJobStore(dir, false, "normal"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, d := range popBucket(t, s, "a", 5) {
		if want := i < 4; d.Redelivered != want {
			t.Errorf("after reopen %s redelivered = %v, want %v", d.Record, d.Redelivered, want)
		}
	}
}

// BenchmarkJobStoreOpen measures opening a job store of 1M pending
// records of 100 bytes over 10,000 buckets: reading every bucket's ids.
func BenchmarkJobStoreOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		b.Fatal(err)
	}
	rec := make([]byte, 100)
	for i := 0; i < 1_000_000; i += 8192 {
		var ws []sdk.BucketWrite
		for j := i; j < i+8192; j++ {
			ws = append(ws, sdk.BucketWrite{Bucket: fmt.Sprintf("q/h%d/%d", j%1000, j/1000%10), Push: []sdk.Entry{{Record: rec}}})
		}
		if err := s.Write(ws); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	for b.Loop() {
		s, err := openJobStore(dir, false, "normal")
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// A LIFO store marks the rows it hands out: after a close, those in flight
// come back redelivered in their place, a released one and those never
// handed out do not, and an acknowledged one never comes back.
func TestJobStoreLifoReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := openJobStore(dir, true, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: entries(0, 5)}}); err != nil {
		t.Fatal(err)
	}
	ds := popBucket(t, s, "a/0", 3) // r4 r3 r2
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Ack: ids(ds[:1]), Release: ids(ds[2:])}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = openJobStore(dir, true, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ds = popBucket(t, s, "a/0", 10)
	if got := names(ds); !reflect.DeepEqual(got, []string{"r3", "r2", "r1", "r0"}) {
		t.Fatalf("after reopen popped %v", got)
	}
	want := []bool{true, false, false, false}
	for i, d := range ds {
		if d.Redelivered != want[i] {
			t.Fatalf("%s redelivered = %v, want %v", d.Record, d.Redelivered, want[i])
		}
	}
}

// One Sync popping many buckets gives each entry its own flag: rows marked
// by an earlier run come back redelivered wherever they sit in the Sync,
// the others do not.
func TestJobStoreLifoReopenManyBuckets(t *testing.T) {
	dir := t.TempDir()
	s, err := openJobStore(dir, true, "normal")
	if err != nil {
		t.Fatal(err)
	}
	buckets := []string{"a/0", "b/0", "c/0"}
	var ws []sdk.BucketWrite
	for _, b := range buckets {
		ws = append(ws, sdk.BucketWrite{Bucket: b, Push: entries(0, 4)})
	}
	if err := s.Write(ws); err != nil {
		t.Fatal(err)
	}
	popBucket(t, s, "b/0", 2) // r3 r2 marked
	popBucket(t, s, "c/0", 1) // r3 marked
	s.Close()

	s, err = openJobStore(dir, true, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var reqs []sdk.PopRequest
	for _, b := range buckets {
		reqs = append(reqs, sdk.PopRequest{Bucket: b, Max: 4})
	}
	out, err := s.PopMany(reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]bool{
		"a/0": {false, false, false, false},
		"b/0": {true, true, false, false},
		"c/0": {true, false, false, false},
	}
	for i, b := range buckets {
		if got := names(out[i]); !reflect.DeepEqual(got, []string{"r3", "r2", "r1", "r0"}) {
			t.Fatalf("%s popped %v", b, got)
		}
		for j, d := range out[i] {
			if d.Redelivered != want[b][j] {
				t.Errorf("%s %s redelivered = %v, want %v", b, d.Record, d.Redelivered, want[b][j])
			}
		}
	}
}

// Ids are never given twice: rows acknowledged at the end of the table,
// deleted and gone by the next open, leave their ids unused.
func TestJobStoreIdsNotReused(t *testing.T) {
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: entries(0, 5)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Ack: ids(popBucket(t, s, "a/0", 5))}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for round := range 2 {
		if s, err = openJobStore(dir, false, "normal"); err != nil {
			t.Fatal(err)
		}
		if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: entries(5, 6)}}); err != nil {
			t.Fatal(err)
		}
		ds := popBucket(t, s, "a/0", 5)
		if len(ds) != 1 || ds[0].ID != uint64(6+round) {
			t.Fatalf("round %d: popped %v with ids %v, want one with id %d", round, names(ds), ids(ds), 6+round)
		}
		if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Ack: ids(ds)}}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// splitRows takes whatever a damaged file gives it without a panic: it
// returns an error, or every row asked for with a record and a flag.
func FuzzSplitRows(f *testing.F) {
	f.Add([]byte("r1r22"), []byte("[2,3]"), []byte("[1]"), []byte("[1]"), uint8(1), uint8(1))
	f.Add([]byte("abc"), []byte("[1,1,1]"), []byte("[]"), []byte("[]"), uint8(2), uint8(1))
	f.Add([]byte("x"), []byte("[-1]"), []byte("[5]"), []byte("[-1]"), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, recs, lens, at, popped []byte, first, second uint8) {
		taken := [][]int64{make([]int64, first%8), make([]int64, second%8)}
		for i := range taken {
			for j := range taken[i] {
				taken[i][j] = int64(10*i + j + 1)
			}
		}
		out := make([][]sdk.Delivery, len(taken))
		flags, err := splitRows(recs, lens, at, popped, len(taken[0])+len(taken[1]), taken, out)
		if err != nil {
			return
		}
		total := 0
		for i := range taken {
			if len(out[i]) != len(taken[i]) || len(flags[i]) != len(taken[i]) {
				t.Fatalf("request %d: %d rows and %d flags for %d asked", i, len(out[i]), len(flags[i]), len(taken[i]))
			}
			for _, d := range out[i] {
				total += len(d.Record)
			}
		}
		if total != len(recs) {
			t.Fatalf("the rows hold %d bytes of the %d read", total, len(recs))
		}
	})
}
