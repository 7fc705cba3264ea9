package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/plugins/sdk"
)

func entries(from, to int) []sdk.Entry {
	var out []sdk.Entry
	for i := from; i < to; i++ {
		out = append(out, sdk.Entry{Record: []byte(fmt.Sprintf("r%d", i))})
	}
	return out
}

func names(ds []sdk.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Record))
	}
	return out
}

func ids(ds []sdk.Delivery) []uint64 {
	var out []uint64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func mustPop(t *testing.T, q sdk.Queue, n int) []sdk.Delivery {
	t.Helper()
	ds, err := q.Pop(n)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestPagedQueueOrderAcrossPages(t *testing.T) {
	for _, lifo := range []bool{false, true} {
		t.Run(fmt.Sprintf("lifo=%v", lifo), func(t *testing.T) {
			q, err := openPagedQueue(filepath.Join(t.TempDir(), "q"), lifo, "normal")
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			for _, b := range [][2]int{{0, 3}, {3, 4}, {4, 9}} {
				if err := q.Push(entries(b[0], b[1])); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, n := range []int{2, 4, 10} {
				got = append(got, names(mustPop(t, q, n))...)
			}
			want := []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"}
			if lifo {
				slicesReverse(want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("popped %v, want %v", got, want)
			}
			if st := q.Len(); st.Pending != 0 || st.InFlight != 9 {
				t.Fatalf("Len = %+v", st)
			}
		})
	}
}

func slicesReverse(s []string) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// Acknowledged pages are deleted; what is in flight comes back after a
// reopen, marked redelivered; released records come back unmarked.
func TestPagedQueueReopen(t *testing.T) {
	key := filepath.Join(t.TempDir(), "q")
	q, err := openPagedQueue(key, false, "full")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Push(entries(0, 4)); err != nil {
		t.Fatal(err)
	}
	if err := q.Push(entries(4, 8)); err != nil {
		t.Fatal(err)
	}
	first := mustPop(t, q, 4) // the whole first page
	if err := q.Ack(ids(first)); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := q.db.QueryRow(`SELECT count(*) FROM pages`).Scan(&pages); err != nil || pages != 1 {
		t.Fatalf("pages after acknowledging the first = %d, %v", pages, err)
	}
	second := mustPop(t, q, 3) // r4 r5 r6 in flight
	if err := q.Ack(ids(second[:1])); err != nil {
		t.Fatal(err)
	}
	if err := q.Release(ids(second[2:])); err != nil { // r6 back, not redelivered
		t.Fatal(err)
	}
	// Unknown and repeated IDs are ignored.
	if err := q.Ack([]uint64{ids(second)[0], 999 << idxBits}); err != nil {
		t.Fatal(err)
	}
	if st := q.Len(); st.Pending != 2 || st.InFlight != 1 {
		t.Fatalf("Len = %+v, want 2 pending (r6 r7), 1 in flight (r5)", st)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q, err = openPagedQueue(key, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if st := q.Len(); st.Pending != 3 || st.InFlight != 0 {
		t.Fatalf("Len after reopen = %+v, want 3 pending", st)
	}
	ds := mustPop(t, q, 10)
	if got := names(ds); !reflect.DeepEqual(got, []string{"r5", "r6", "r7"}) {
		t.Fatalf("after reopen popped %v", got)
	}
	if !ds[0].Redelivered || ds[1].Redelivered || ds[2].Redelivered {
		t.Fatalf("redelivered flags %v %v %v, want true false false", ds[0].Redelivered, ds[1].Redelivered, ds[2].Redelivered)
	}
}

func TestQueueKindMismatch(t *testing.T) {
	key := filepath.Join(t.TempDir(), "q")
	q, err := openPagedQueue(key, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	q.Close()
	if _, err := openPagedQueue(key, true, "normal"); !errors.Is(err, errKindMismatch) {
		t.Fatalf("opening a FIFO file as LIFO: %v", err)
	}
	if _, err := openQueue(key, kindPriority, "normal"); !errors.Is(err, errKindMismatch) {
		t.Fatalf("opening a FIFO file as a priority queue: %v", err)
	}
	if _, err := openPagedQueue("", false, "normal"); !errors.Is(err, errEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
}

func TestFormatVersion(t *testing.T) {
	key := filepath.Join(t.TempDir(), "q")
	q, err := openPagedQueue(key, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.db.Exec(`UPDATE meta SET value = '99' WHERE key = 'format'`); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if _, err := openPagedQueue(key, false, "normal"); !errors.Is(err, errFormatVersion) {
		t.Fatalf("opening a file of format 99: %v", err)
	}
}

// A damaged page is an error, never a panic.
func TestCorruptPage(t *testing.T) {
	key := filepath.Join(t.TempDir(), "q")
	q, err := openPagedQueue(key, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Push(entries(0, 3)); err != nil {
		t.Fatal(err)
	}
	q.Close()
	for _, tc := range []struct{ name, sql string }{
		{"truncated data", `UPDATE pages SET data = substr(data, 1, 4)`},
		{"bad length", `UPDATE pages SET data = x'ff'`},
		{"short marks", `INSERT OR REPLACE INTO marks (page, popped, acked) SELECT id, x'', x'' FROM pages`},
		{"record count", `UPDATE pages SET n = 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := filepath.Join(t.TempDir(), "q")
			q, err := openPagedQueue(k, false, "normal")
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Push(entries(0, 3)); err != nil {
				t.Fatal(err)
			}
			if _, err := q.db.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			q.Close()
			q, err = openPagedQueue(k, false, "normal")
			if err != nil {
				return // refused at open: fine
			}
			defer q.Close()
			if _, err := q.Pop(3); err == nil {
				t.Fatal("popping a damaged page succeeded")
			}
		})
	}
}

func TestPriorityQueueStore(t *testing.T) {
	key := filepath.Join(t.TempDir(), "pq")
	q, err := openQueue(key, kindPriorityStart, "normal")
	if err != nil {
		t.Fatal(err)
	}
	push := []sdk.Entry{
		{Record: []byte("start0"), Priority: 0, Start: true},
		{Record: []byte("reg0"), Priority: 0},
		{Record: []byte("reg3"), Priority: 3},
		{Record: []byte("start3"), Priority: 3, Start: true},
		{Record: []byte("reg0b"), Priority: 0},
		{Record: []byte("neg"), Priority: -1},
	}
	if err := q.Push(push); err != nil {
		t.Fatal(err)
	}
	ds := mustPop(t, q, 2)
	if got := names(ds); !reflect.DeepEqual(got, []string{"reg3", "start3"}) {
		t.Fatalf("popped %v", got)
	}
	if err := q.Ack(ids(ds[:1])); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, err = openQueue(key, kindPriorityStart, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ds = mustPop(t, q, 10)
	if got := names(ds); !reflect.DeepEqual(got, []string{"start3", "reg0", "reg0b", "start0", "neg"}) {
		t.Fatalf("after reopen popped %v", got)
	}
	if !ds[0].Redelivered || ds[1].Redelivered {
		t.Fatal("redelivered flags wrong")
	}
}

func TestMemoryPriorityQueue(t *testing.T) {
	q, err := openMemoryQueue(kindPriority)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Push([]sdk.Entry{{Record: []byte("a"), Priority: 1}, {Record: []byte("b"), Priority: 2}}); err != nil {
		t.Fatal(err)
	}
	ds := mustPop(t, q, 1)
	if err := q.Release(ids(ds)); err != nil {
		t.Fatal(err)
	}
	if got := names(mustPop(t, q, 5)); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Fatalf("popped %v", got)
	}
}

func TestDupeFilter(t *testing.T) {
	dir := t.TempDir()
	d, err := openDupeFilter(dir, "normal")
	if err != nil {
		t.Fatal(err)
	}
	seen := func(d *dupeFilter, fp string) bool {
		t.Helper()
		ok, err := d.Seen(sdk.SeenRequest{Fingerprint: []byte(fp)})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if seen(d, "a") || !seen(d, "a") || seen(d, "b") {
		t.Fatal("wrong answers in one run")
	}
	if err := d.Close("finished"); err != nil {
		t.Fatal(err)
	}
	d, err = openDupeFilter(dir, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if !seen(d, "a") || !seen(d, "b") || seen(d, "c") {
		t.Fatal("fingerprints not kept across a clean close")
	}
	// No close (a crash): "c" is forgotten, never the others.
	d.db.Close()
	d, err = openDupeFilter(dir, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close("finished")
	if !seen(d, "a") || seen(d, "c") {
		t.Fatal("after a crash: want a seen, c forgotten")
	}
	// Without JOBDIR it works in memory.
	m, err := openDupeFilter("", "normal")
	if err != nil {
		t.Fatal(err)
	}
	if seen(m, "x") || !seen(m, "x") {
		t.Fatal("memory filter")
	}
	m.Close("finished")
}

func TestConfigure(t *testing.T) {
	for _, tc := range []struct {
		config string
		want   string
		err    bool
	}{
		{`{}`, "normal", false},
		{`{"synchronous": "FULL"}`, "full", false},
		{`{"synchronous": "sometimes"}`, "", true},
		{`{"synchronus": "full"}`, "", true},
	} {
		s := &settings{}
		err := s.configure(json.RawMessage(tc.config), zerolog.Nop())
		if (err != nil) != tc.err {
			t.Fatalf("%s: error %v", tc.config, err)
		}
		if err != nil {
			if !errors.Is(err, sdk.ErrBadConfig) {
				t.Fatalf("%s: error %v does not wrap ErrBadConfig", tc.config, err)
			}
			continue
		}
		if s.synchronous() != tc.want {
			t.Fatalf("%s: synchronous = %s", tc.config, s.synchronous())
		}
	}
}

func TestPragmas(t *testing.T) {
	for _, sync := range []string{"normal", "full"} {
		q, err := openPagedQueue(filepath.Join(t.TempDir(), "q"), false, sync)
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var syn int
		if err := q.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := q.db.QueryRow("PRAGMA synchronous").Scan(&syn); err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"normal": 1, "full": 2}[sync]
		if mode != "wal" || syn != want {
			t.Fatalf("synchronous %s: journal_mode=%s synchronous=%d, want wal and %d", sync, mode, syn, want)
		}
		q.Close()
	}
}

// BenchmarkStoreRoundTrip measures the paged store alone: 100k records of
// 100 bytes pushed, popped and acknowledged in batches of 512.
func BenchmarkStoreRoundTrip(b *testing.B) {
	const n, batch = 100_000, 512
	rec := make([]byte, 100)
	for b.Loop() {
		q, err := openPagedQueue(filepath.Join(b.TempDir(), "q"), false, "normal")
		if err != nil {
			b.Fatal(err)
		}
		es := make([]sdk.Entry, batch)
		for i := range es {
			es[i] = sdk.Entry{Record: rec}
		}
		for i := 0; i < n; i += batch {
			if err := q.Push(es); err != nil {
				b.Fatal(err)
			}
		}
		var acks []uint64
		for {
			ds, err := q.Pop(batch)
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			if err := q.Write(acks, nil, nil); err != nil {
				b.Fatal(err)
			}
			acks = ids(ds)
		}
		q.Close()
	}
}
