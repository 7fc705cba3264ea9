package main

import (
	"path/filepath"
	"testing"

	"github.com/frontier-go/frontier/plugins/sdk"
)

func TestPragmas(t *testing.T) {
	for _, sync := range []string{"normal", "full"} {
		q, err := openQueue(filepath.Join(t.TempDir(), "q"), kindFifo, sync)
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

func BenchmarkCommit(b *testing.B) {
	q, err := openQueue(filepath.Join(b.TempDir(), "q"), kindFifo, "normal")
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	e := []sdk.Entry{{Record: make([]byte, 100)}}
	for b.Loop() {
		if err := q.Push(e); err != nil {
			b.Fatal(err)
		}
		ds, err := q.Pop(1)
		if err != nil {
			b.Fatal(err)
		}
		if err := q.Ack([]uint64{ds[0].ID}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreRoundTrip measures the SQLite store alone: 100k records of
// 100 bytes pushed, popped and acknowledged in batches of 512.
func BenchmarkStoreRoundTrip(b *testing.B) {
	const n, batch = 100_000, 512
	rec := make([]byte, 100)
	for b.Loop() {
		q, err := openQueue(filepath.Join(b.TempDir(), "q"), kindFifo, "normal")
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
			acks = acks[:0]
			for _, d := range ds {
				acks = append(acks, d.ID)
			}
		}
		q.Close()
	}
}
