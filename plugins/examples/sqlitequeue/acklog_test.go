package main

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/frontier-go/frontier/plugins/sdk"
)

// logCounts returns the ids in the log and the rows of the entries table of
// the job store in dir, read with a connection of its own (the store must
// be closed).
func logCounts(t *testing.T, dir string) (logged, rows int) {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, "sqlitequeue-fifo.sqlite3"), "normal"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT coalesce(sum(json_array_length(ids)), 0) FROM acked`).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM entries`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	return logged, rows
}

// withoutDeleter runs the test with the deleter off, as a process killed
// before it applied the log leaves the file.
func withoutDeleter(t *testing.T) {
	startDeleter = false
	t.Cleanup(func() { startDeleter = true })
}

// Acknowledgements a killed process logged and never applied are applied
// when the store opens: the entries they name never come back, and the
// others come back redelivered, in order.
func TestJobStoreAckLogAppliedAtOpen(t *testing.T) {
	withoutDeleter(t)
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: entries(0, 6)}, {Bucket: "b/0", Push: entries(10, 13)}}); err != nil {
		t.Fatal(err)
	}
	a := popBucket(t, s, "a/0", 4) // r0-r3
	b := popBucket(t, s, "b/0", 2) // r10 r11
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Ack: []uint64{a[0].ID, a[2].ID}}, {Bucket: "b/0", Ack: ids(b[1:])}}); err != nil {
		t.Fatal(err)
	}
	if st := s.Buckets(); st["a/0"] != (sdk.State{Pending: 2, InFlight: 2}) || st["b/0"] != (sdk.State{Pending: 1, InFlight: 1}) {
		t.Fatalf("Buckets after the acknowledgements = %v", st)
	}
	s.Close()
	if logged, rows := logCounts(t, dir); logged != 3 || rows != 9 {
		t.Fatalf("after close: %d ids logged, %d entries; want 3 and 9", logged, rows)
	}

	s, err = openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	got := popBucket(t, s, "a/0", 10)
	if n := names(got); !reflect.DeepEqual(n, []string{"r1", "r3", "r4", "r5"}) {
		t.Fatalf("a/0 after reopen popped %v", n)
	}
	for i, d := range got {
		if want := i < 2; d.Redelivered != want {
			t.Errorf("%s redelivered = %v, want %v", d.Record, d.Redelivered, want)
		}
	}
	if n := names(popBucket(t, s, "b/0", 10)); !reflect.DeepEqual(n, []string{"r10", "r12"}) {
		t.Fatalf("b/0 after reopen popped %v", n)
	}
	s.Close()
	if logged, rows := logCounts(t, dir); logged != 0 || rows != 6 {
		t.Fatalf("after the reopen: %d ids logged, %d entries; want 0 and 6", logged, rows)
	}
}

// A store that is never idle applies its oldest log rows in the Syncs
// that go over the bound, so the log never holds more than it.
func TestJobStoreAckLogBounded(t *testing.T) {
	withoutDeleter(t)
	defer func(n int) { maxAckBacklog = n }(maxAckBacklog)
	maxAckBacklog = 700
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: entries(0, 3000)}}); err != nil {
		t.Fatal(err)
	}
	acked := 0
	for acked < 2500 {
		ds := popBucket(t, s, "a/0", 250)
		if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Ack: ids(ds)}}); err != nil {
			t.Fatal(err)
		}
		acked += len(ds)
		if s.backlog > maxAckBacklog {
			t.Fatalf("after %d acknowledged: %d ids in the log, bound %d", acked, s.backlog, maxAckBacklog)
		}
	}
	backlog := s.backlog
	s.Close()
	logged, rows := logCounts(t, dir)
	if logged != backlog || logged == 0 || rows != 3000-acked+logged {
		t.Fatalf("after close: %d ids logged (the store counted %d), %d entries; want %d entries", logged, backlog, rows, 3000-acked+logged)
	}
}

// The deleter applies the log while no Sync runs: once the store is left
// alone, the log is empty and only the entries not acknowledged are left.
func TestJobStoreDeleterEmptiesTheLog(t *testing.T) {
	dir := t.TempDir()
	s, err := openJobStore(dir, false, "normal")
	if err != nil {
		t.Fatal(err)
	}
	var ws []sdk.BucketWrite
	for _, b := range []string{"a/0", "b/0", "c/0"} {
		ws = append(ws, sdk.BucketWrite{Bucket: b, Push: entries(0, 2000)})
	}
	if err := s.Write(ws); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		var acks []sdk.BucketWrite
		for _, b := range []string{"a/0", "b/0", "c/0"} {
			acks = append(acks, sdk.BucketWrite{Bucket: b, Ack: ids(popBucket(t, s, b, 150))})
		}
		if err := s.Write(acks); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		backlog := s.backlog
		s.mu.Unlock()
		if backlog == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d ids still in the log", backlog)
		}
	}
	s.Close()
	if logged, rows := logCounts(t, dir); logged != 0 || rows != 3*(2000-1500) {
		t.Fatalf("%d ids logged, %d entries; want 0 and %d", logged, rows, 3*(2000-1500))
	}
}

// A file of format 5 (ids from the meta table, no log) opens as format 6
// with its entries, their order and their watermark as they were, and the
// ids go on from where next_id said: the rows acknowledged at the table's
// end do not give their ids again.
func TestJobStoreUpgradesFormat5(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "sqlitequeue-fifo.sqlite3"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		`CREATE TABLE buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, popped_upto INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE entries (id INTEGER PRIMARY KEY, bucket INTEGER NOT NULL, record BLOB NOT NULL, popped INTEGER NOT NULL DEFAULT 0)`,
		`INSERT INTO meta VALUES ('format', '5'), ('kind', 'fifo'), ('next_id', '9')`,
		`INSERT INTO buckets VALUES (1, 'a/0', 2)`,
		// r0 under the watermark, r1 under it but released, r2 and r3
		// above it; rows 5 to 8 were acknowledged.
		`INSERT INTO entries VALUES (1, 1, 'r0', 0), (2, 1, 'r1', -1), (3, 1, 'r2', 0), (4, 1, 'r3', 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openUpgraded(t, dir)
	if err := s.Write([]sdk.BucketWrite{{Bucket: "a/0", Push: entries(4, 6)}}); err != nil {
		t.Fatal(err)
	}
	got := popBucket(t, s, "a/0", 10)
	if n := names(got); !reflect.DeepEqual(n, []string{"r0", "r1", "r2", "r3", "r4", "r5"}) {
		t.Fatalf("after the upgrade popped %v", n)
	}
	for i, d := range got {
		if want := i == 0; d.Redelivered != want {
			t.Errorf("%s redelivered = %v, want %v", d.Record, d.Redelivered, want)
		}
	}
	if got[4].ID != 9 || got[5].ID != 10 {
		t.Fatalf("the rows pushed after the upgrade got ids %d and %d, want 9 and 10", got[4].ID, got[5].ID)
	}
}
