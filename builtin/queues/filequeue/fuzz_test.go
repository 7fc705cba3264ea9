package filequeue

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/internal/recordio"
)

// seedQueueFiles adds to f the files of real queues: empty, a few records,
// records some of them popped, and a torn copy of each.
func seedQueueFiles(f *testing.F, lifo bool) {
	dir := f.TempDir()
	for i, steps := range []struct{ push, pop int }{{1, 0}, {5, 0}, {6, 2}, {3, 3}} {
		path := filepath.Join(dir, string(rune('a'+i)))
		q, err := testDiskConfig().open(path, lifo)
		if err != nil {
			f.Fatal(err)
		}
		for j := range steps.push {
			r := disktest.Req(f, "http://example.com/"+string(rune('a'+j)))
			r.Meta = map[string]any{"depth": j, "k": []any{"v", 1.5, nil}}
			if err := q.Push(r); err != nil {
				f.Fatal(err)
			}
		}
		if err := q.Flush(); err != nil {
			f.Fatal(err)
		}
		for range steps.pop {
			if _, err := q.Pop(); err != nil {
				f.Fatal(err)
			}
		}
		if err := q.Flush(); err != nil {
			f.Fatal(err)
		}
		file := path
		if !lifo {
			file = filepath.Join(path, segName(1))
		}
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)*2/3])
		_ = q.lay.release()
	}
	f.Add([]byte{})
	f.Add([]byte(lifoMagic))
}

// fuzzQueueFile stores data as a queue's only file and uses the queue:
// verify, open, pop everything, push, close and reopen. Bad bytes are
// errors or dropped records, never a panic or a loop.
func fuzzQueueFile(t *testing.T, data []byte, lifo bool) {
	dir := t.TempDir()
	path := filepath.Join(dir, "q")
	file := path
	if !lifo {
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
		file = filepath.Join(path, segName(1))
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, verr := Verify(path, func(Record) error { return nil })
	n, lerr := Len(path)
	if (verr == nil) != (lerr == nil) {
		t.Fatalf("verify: %v, len: %v", verr, lerr)
	}
	q := openDisk(t, path, lifo, testDiskConfig())
	defer func() { _ = q.lay.release() }()
	if verr != nil {
		if q.Len() != 0 {
			t.Fatalf("an unreadable queue has length %d", q.Len())
		}
		if _, err := q.Pop(); err == nil {
			t.Fatal("an unreadable queue pops without an error")
		}
		return
	}
	if q.Len() != n {
		t.Fatalf("len %d, Len %d", q.Len(), n)
	}
	popped := 0
	for i := 0; i <= len(data)/minFrame+2; i++ {
		r, err := q.Pop()
		var cre *disk.CorruptRecordError
		if err != nil && !errors.As(err, &cre) {
			t.Fatalf("pop: %v", err)
		}
		if err == nil && r == nil {
			break
		}
		if r != nil {
			popped++
		}
	}
	if q.Len() != 0 {
		t.Fatalf("len %d after popping everything", q.Len())
	}
	if popped > rep.Records {
		t.Fatalf("popped %d, verify counted %d", popped, rep.Records)
	}
	disktest.MustPush(t, q, "http://x/after")
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	q2 := openDisk(t, path, lifo, testDiskConfig())
	disktest.SameList(t, drain(t, q2), []string{"http://x/after"})
	disktest.MustClose(t, q2)
}

func FuzzDiskQueueLifoFile(f *testing.F) {
	seedQueueFiles(f, true)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzQueueFile(t, data, true) })
}

func FuzzDiskQueueFifoSegment(f *testing.F) {
	seedQueueFiles(f, false)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzQueueFile(t, data, false) })
}

// FuzzDiskQueueHeader: any bytes are a header or an error.
func FuzzDiskQueueHeader(f *testing.F) {
	f.Add(appendHeader(nil, fifoMagic, 7, recordio.Cursor{Gen: 1, Off: headerSize, Seq: 7}))
	f.Add(appendHeader(nil, lifoMagic, 0, recordio.Cursor{Gen: 2, Off: 200, ID: 9, Seq: 3}))
	f.Add(make([]byte, headerSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, magic := range []string{fifoMagic, lifoMagic} {
			h, err := parseHeader(b, magic)
			if err != nil || !h.cursorOK {
				continue
			}
			again := appendHeader(nil, magic, h.first, h.cursor)
			h2, err := parseHeader(again, magic)
			if err != nil || h2 != h {
				t.Fatalf("header does not round-trip: %+v vs %+v (%v)", h, h2, err)
			}
		}
		_, _ = parseSegName(string(b))
	})
}
