package queuestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/internal/recordio"
)

// storeFiles is a store's directory as bytes, by file name.
type storeFiles map[string][]byte

func readStoreFiles(t testing.TB, dir string) storeFiles {
	t.Helper()
	out := storeFiles{}
	for _, name := range dirNames(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = data
	}
	return out
}

func (fs storeFiles) write(t testing.TB, dir string) {
	t.Helper()
	for name, data := range fs {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// lastSegment returns the name of the last segment of fs.
func (fs storeFiles) lastSegment() string {
	var segs []string
	for name := range fs {
		if _, ok := parseStoreSegName(name); ok {
			segs = append(segs, name)
		}
	}
	slices.Sort(segs)
	return segs[len(segs)-1]
}

// storeFuzzRun runs a small store over segments of 400 bytes: buckets of both
// kinds, pushes, pops, a bucket drained and dropped, then declared again.
// It returns its files as a crash leaves them (the log replayed from the
// checkpoint written at creation) and after Close (the checkpoint lists
// everything).
func storeFuzzRun(f *testing.F) (crashed, closed storeFiles) {
	dir := f.TempDir()
	s, err := Open(dir, storeTestConfig(400))
	if err != nil {
		f.Fatal(err)
	}
	bucket := func(name string, lifo bool) *Queue { return bucketOf(f, s, name, lifo) }
	a, b, d := bucket("a", false), bucket("b/c", true), bucket("d", false)
	for i := range 5 {
		r := disktest.Req(f, fmt.Sprintf("http://a/%d", i))
		r.Meta = map[string]any{"depth": i, "k": []any{"v", 1.5, nil}}
		if err := a.Push(r); err != nil {
			f.Fatal(err)
		}
	}
	disktest.MustPush(f, b, "http://b/1", "http://b/2", "http://b/3", "http://b/4")
	disktest.MustPush(f, d, "http://d/1", "http://d/2")
	mustFlush(f, s)
	disktest.PopURLs(f, a, 2)
	disktest.PopURLs(f, b, 1)
	disktest.MustPush(f, a, "http://a/x", "http://a/y")
	disktest.PopURLs(f, d, 2)
	disktest.MustClose(f, d) // empty: dropped
	mustFlush(f, s)
	disktest.MustPush(f, bucket("d", true), "http://d/3")
	disktest.PopURLs(f, a, 4)
	mustFlush(f, s)
	crashed = readStoreFiles(f, dir)
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
	return crashed, readStoreFiles(f, dir)
}

// The fuzz inputs come as a file's bytes, or, when framed is true, as
// frames to write with valid checksums, so that the fuzzer reaches past
// them: each an uvarint ID, an uvarint length and the payload.

// framedInput returns the frames of a file as a framed fuzz input.
func framedInput(data []byte) []byte {
	var out []byte
	for len(data) > 0 {
		fr, k, err := recordio.Next(data)
		if err != nil {
			break
		}
		out = binary.AppendUvarint(out, fr.ID)
		out = binary.AppendUvarint(out, uint64(len(fr.Payload)))
		out = append(out, fr.Payload...)
		data = data[k:]
	}
	return out
}

// frameInput writes a framed fuzz input as frames.
func frameInput(in []byte) []byte {
	var out []byte
	for len(in) > 0 {
		id, k := binary.Uvarint(in)
		if k <= 0 {
			break
		}
		in = in[k:]
		n, k := binary.Uvarint(in)
		if k <= 0 {
			break
		}
		in = in[k:]
		n = min(n, uint64(len(in)))
		if n > 0 {
			out, _ = recordio.Append(out, in[:n], recordio.Meta{ID: id})
		}
		in = in[n:]
	}
	return out
}

// useStore reads and opens the store in dir and uses it as a resume would:
// Read and Open agree on whether it opens; every bucket pops
// until empty, with corrupt records reported as *disk.CorruptRecordError and a
// bounded number of pops; a push into a new bucket, a close, and a reopen
// finds the push. Nothing panics.
func useStore(t *testing.T, dir string, size int) {
	rs, rerr := Read(dir, func(string, int64, int64, int, string) {})
	if rerr == nil {
		for _, info := range rs.Buckets() {
			_ = rs.Records(info.Key, func(uint64, []byte) error { return nil })
		}
		if err := rs.Close(); err != nil {
			t.Fatalf("close a read-only store: %v", err)
		}
	}
	s, err := Open(dir, storeTestConfig(1<<10))
	if (err == nil) != (rerr == nil) {
		if s != nil {
			_ = s.Close()
		}
		t.Fatalf("Read: %v; Open: %v", rerr, err)
	}
	if err != nil {
		return
	}
	for _, info := range s.Buckets() {
		q, err := s.Queue(filepath.Join(dir, filepath.FromSlash(info.Key)), info.LIFO)
		if err != nil {
			continue // a key no Bucket call can name
		}
		for pops := 0; ; pops++ {
			if pops > size+10 {
				t.Fatalf("bucket %s: %d pops and not empty (len %d)", info.Key, pops, q.Len())
			}
			r, err := q.Pop()
			var cre *disk.CorruptRecordError
			if err != nil && !errors.As(err, &cre) {
				t.Fatalf("bucket %s: pop: %v", info.Key, err)
			}
			if err == nil && r == nil {
				break
			}
		}
		if q.Len() != 0 {
			t.Fatalf("bucket %s: len %d after popping everything", info.Key, q.Len())
		}
	}
	after, err := s.Queue(filepath.Join(dir, "fuzz", "after"), false)
	if err != nil || after.Len() != 0 {
		_ = s.Close()
		return // the input declared it
	}
	disktest.MustPush(t, after, "http://fuzz/after")
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err = Open(dir, storeTestConfig(1<<10))
	if err != nil {
		t.Fatalf("reopen after a close: %v", err)
	}
	defer s.Close()
	disktest.SameList(t, disktest.URLsOf(popAll(t, bucketOf(t, s, "fuzz/after", false))), []string{"http://fuzz/after"})
}

// FuzzStoreIndex: any bytes as the checkpoint of a real store's segments
// are a store or an error, never a panic.
func FuzzStoreIndex(f *testing.F) {
	crashed, closed := storeFuzzRun(f)
	segs := maps.Clone(closed)
	delete(segs, IndexFile)
	size := 0
	for _, b := range segs {
		size += len(b)
	}
	for _, index := range [][]byte{closed[IndexFile], crashed[IndexFile]} {
		f.Add(index, false)
		f.Add(index[:len(index)/2], false)
		f.Add(framedInput(index), true)
	}
	f.Add([]byte{}, false)
	f.Add([]byte(storeIndexMagic), false)
	f.Fuzz(func(t *testing.T, data []byte, framed bool) {
		if framed {
			data = frameInput(data)
		}
		dir := t.TempDir()
		segs.write(t, dir)
		if err := os.WriteFile(filepath.Join(dir, IndexFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		useStore(t, dir, size+len(data))
	})
}

// FuzzStoreSegment: any bytes as the last segment of a real store, its log
// replayed from its start, are a store or an error, never a panic; what
// opens pops without a panic.
func FuzzStoreSegment(f *testing.F) {
	crashed, _ := storeFuzzRun(f)
	last := crashed.lastSegment()
	fixed := maps.Clone(crashed)
	delete(fixed, last)
	data := crashed[last]
	f.Add(data, false)
	for _, cut := range []int{0, 10, len(data) / 3, len(data) / 2, len(data) - 1} {
		f.Add(data[:cut], false)
	}
	f.Add(append(slices.Clone(data), "garbage"...), false)
	f.Add(framedInput(data), true)
	size := 0
	for _, b := range crashed {
		size += len(b)
	}
	f.Fuzz(func(t *testing.T, in []byte, framed bool) {
		if framed {
			in = frameInput(in)
		}
		dir := t.TempDir()
		fixed.write(t, dir)
		if err := os.WriteFile(filepath.Join(dir, last), in, 0o644); err != nil {
			t.Fatal(err)
		}
		useStore(t, dir, size+len(in))
	})
}
