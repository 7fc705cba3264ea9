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
