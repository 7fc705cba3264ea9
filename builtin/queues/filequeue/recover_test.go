package filequeue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// drain pops everything and returns the URLs, failing on any error.
func drain(t testing.TB, q *Queue) []string {
	t.Helper()
	var out []string
	for {
		r, err := q.Pop()
		if err != nil {
			t.Fatalf("pop: %v", err)
		}
		if r == nil {
			return out
		}
		out = append(out, r.URL)
	}
}

// queueFiles returns the regular files a queue keeps (one for LIFO).
func queueFiles(t testing.TB, path string) []string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsDir() {
		return []string{path}
	}
	m, err := filepath.Glob(filepath.Join(path, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// copyQueue copies the queue at src to dst, cutting its last file at cut
// bytes (cut < 0: whole).
func copyQueue(t testing.TB, src, dst string, cut int64) {
	t.Helper()
	files := queueFiles(t, src)
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if i == len(files)-1 && cut >= 0 {
			data = data[:cut]
		}
		target := dst
		if len(files) > 1 || filepath.Dir(f) == src {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			target = filepath.Join(dst, filepath.Base(f))
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// recordEnds returns the end offset of every whole frame in a queue file.
func recordEnds(t testing.TB, file string) []int64 {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	sc := newFrameScanner(f, headerSize, fi.Size(), 0, false)
	var ends []int64
	for {
		fr, off, err := sc.next()
		if err != nil {
			return ends
		}
		ends = append(ends, off+int64(fr.Size()))
	}
}

// A queue file cut at every byte reopens with the whole records before the
// cut, drops and reports the torn rest, and never panics; verify agrees.
func TestDiskQueueTruncatedEveryByte(t *testing.T) {
	urls := []string{"http://x/1", "http://x/22", "http://x/333", "http://x/4444", "http://x/55555", "http://x/666666"}
	for _, k := range disktest.Kinds() {
		for _, popped := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s/popped%d", k.Name, popped), func(t *testing.T) {
				dir := t.TempDir()
				src := filepath.Join(dir, "src")
				q := openDisk(t, src, k.LIFO, testDiskConfig())
				disktest.MustPush(t, q, urls...)
				if err := q.Flush(); err != nil {
					t.Fatal(err)
				}
				disktest.PopURLs(t, q, popped)
				disktest.MustClose(t, q)
				file := queueFiles(t, src)[0]
				ends := recordEnds(t, file)
				fi, _ := os.Stat(file)
				if len(ends) != len(urls) {
					t.Fatalf("%d frames in the file, want %d", len(ends), len(urls))
				}
				for cut := int64(0); cut <= fi.Size(); cut++ {
					whole := 0
					for _, e := range ends {
						if e <= cut {
							whole++
						}
					}
					var want []string
					if k.LIFO {
						// Pops are durable, and the cursor ends the stack; a
						// cut inside the stack falls back to its whole frames.
						live := len(urls) - popped
						want = disktest.Order(true, urls[:min(whole, live)]...)
					} else if whole > popped {
						want = urls[popped:whole]
					}
					dst := filepath.Join(dir, fmt.Sprintf("cut%d", cut))
					copyQueue(t, src, dst, cut)
					rep, err := Verify(dst, nil)
					if err != nil {
						t.Fatalf("cut %d: verify: %v", cut, err)
					}
					var reported int64
					cfg := testDiskConfig()
					q := openDisk(t, dst, k.LIFO, cfg)
					q.onReport = func(_ string, _, bytes int64, _ int, _ string) { reported += bytes }
					if q.Len() != len(want) {
						t.Fatalf("cut %d: len %d, want %d", cut, q.Len(), len(want))
					}
					got := drain(t, q)
					disktest.SameList(t, got, want)
					if rep.Records != len(want) {
						t.Fatalf("cut %d: verify counts %d records, want %d", cut, rep.Records, len(want))
					}
					if rep.DroppedBytes != reported {
						t.Fatalf("cut %d: verify says %d bytes dropped, the queue reported %d", cut, rep.DroppedBytes, reported)
					}
					// What lies past the end of a LIFO stack is the remains of
					// popped records, not a torn tail.
					limit := fi.Size()
					if k.LIFO {
						limit = ends[len(urls)-popped-1]
					}
					torn := cut > 0 && cut < limit && cut != headerSize && !slices.Contains(ends, cut)
					if k.LIFO && popped > 0 && cut > limit && cut < ends[len(urls)-popped] {
						// The first frame past the cursor cut: it may as well
						// be a record pushed after the cursor was written,
						// so the cut is reported (nothing is counted lost).
						torn = true
					}
					if torn != (reported > 0) {
						t.Fatalf("cut %d: %d bytes reported dropped, torn %v", cut, reported, torn)
					}
					disktest.MustPush(t, q, "http://x/after")
					disktest.MustClose(t, q)
					q = openDisk(t, dst, k.LIFO, testDiskConfig())
					disktest.SameList(t, drain(t, q), []string{"http://x/after"})
					disktest.MustClose(t, q)
				}
			})
		}
	}
}

func faultyPool(budget *int64) *Pool {
	p := NewPool(PoolConfig{})
	var mu sync.Mutex
	p.openFile = func(name string, flag int, perm os.FileMode) (disk.File, error) {
		f, err := disk.OpenRaw(name, flag, perm)
		if err != nil {
			return nil, err
		}
		return disktest.FullDisk{File: f, Budget: budget, Mu: &mu}, nil
	}
	return p
}

// A write that fails part way (ENOSPC) is a clear error; the records
// written before stay readable after a reopen, and the queue recovers once
// there is room.
func TestDiskQueueWriteError(t *testing.T) {
	first := []string{"http://x/1", "http://x/2", "http://x/3"}
	second := []string{"http://x/4", "http://x/5", "http://x/6"}
	for _, k := range disktest.Kinds() {
		for _, room := range []int64{0, 1, 30, 100} {
			t.Run(fmt.Sprintf("%s/room%d", k.Name, room), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "q")
				budget := int64(1 << 30)
				cfg := testDiskConfig()
				cfg.Pool = faultyPool(&budget)
				q := openDisk(t, path, k.LIFO, cfg)
				disktest.MustPush(t, q, first...)
				if err := q.Flush(); err != nil {
					t.Fatal(err)
				}
				budget = room
				disktest.MustPush(t, q, second...)
				err := q.Flush()
				if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
					t.Fatalf("flush on a full disk: %v; want ENOSPC naming the file", err)
				}
				// Abandon the queue (a crash), and reopen: the first records
				// are there, and of the others at most those written whole.
				q2 := openDisk(t, path, k.LIFO, testDiskConfig())
				got := disktest.Order(k.LIFO, drain(t, q2)...)
				_ = q2.lay.release()
				if len(got) < len(first) || !slices.Equal(got, append(append([]string{}, first...), second[:len(got)-len(first)]...)) {
					t.Fatalf("after a failed flush: %v", got)
				}
				// The failed queue goes on once there is room again.
				budget = 1 << 30
				if err := q.Flush(); err != nil {
					t.Fatalf("flush after room was made: %v", err)
				}
				disktest.MustClose(t, q)
				q3 := openDisk(t, path, k.LIFO, testDiskConfig())
				disktest.SameList(t, drain(t, q3), disktest.Order(k.LIFO, append(append([]string{}, first...), second...)...))
				disktest.MustClose(t, q3)
			})
		}
	}
}

// A real full file system: a 64 KiB tmpfs, where the test may mount one.
func TestDiskQueueFullFileSystem(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			path := filepath.Join(mnt, k.Name)
			q := openDisk(t, path, k.LIFO, testDiskConfig())
			r := disktest.Req(t, "http://x/big")
			r.Body = make([]byte, 1000)
			var pushed, flushed int
			var err error
			for pushed = 0; pushed < 200; pushed++ {
				if err = q.Push(r); err != nil {
					break
				}
				if err = q.Flush(); err != nil {
					break
				}
				flushed = pushed + 1
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling 64 KiB: %v after %d pushes; want ENOSPC", err, pushed)
			}
			q2 := openDisk(t, path, k.LIFO, testDiskConfig())
			if n := q2.Len(); n != flushed {
				t.Fatalf("after a full disk: %d records, want the %d flushed", n, flushed)
			}
			if got := drain(t, q2); len(got) != flushed {
				t.Fatalf("popped %d", len(got))
			}
			_ = q2.lay.release()
			_ = q.lay.release()
			_ = os.RemoveAll(path)
		})
	}
}

// A record damaged in the middle of a file is an error naming the file and
// the offset, the queue goes on after it, and verify reports it.
func TestDiskQueueCorruptRecord(t *testing.T) {
	urls := []string{"http://x/1", "http://x/2", "http://x/3", "http://x/4", "http://x/5"}
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			q := openDisk(t, path, k.LIFO, testDiskConfig())
			disktest.MustPush(t, q, urls...)
			disktest.MustClose(t, q)
			file := queueFiles(t, path)[0]
			ends := recordEnds(t, file)
			data, _ := os.ReadFile(file)
			data[ends[2]-recordio.TailSize-2] ^= 0x40 // inside the third record's payload
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(path, nil)
			if err != nil || rep.Records != 4 || rep.DroppedRecords != 1 || rep.OK() {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
			q = openDisk(t, path, k.LIFO, testDiskConfig())
			var got []string
			var cre *disk.CorruptRecordError
			for i := 0; i < 6; i++ {
				r, err := q.Pop()
				switch {
				case errors.As(err, &cre):
					if cre.File != file || cre.Offset != ends[1] && cre.Offset != ends[2] || !errors.Is(err, framework.ErrCorruptRecord) {
						t.Fatalf("corrupt record error %+v", cre)
					}
					got = append(got, "<corrupt>")
				case err != nil:
					t.Fatal(err)
				case r != nil:
					got = append(got, r.URL)
				}
			}
			want := []string{urls[0], urls[1], "<corrupt>", urls[3], urls[4]}
			if k.LIFO {
				want = []string{urls[4], urls[3], "<corrupt>", urls[1], urls[0]}
			}
			disktest.SameList(t, got, want)
			disktest.MustClose(t, q)
		})
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// However many queues there are, the pool keeps at most MaxOpenFiles open.
func TestDiskQueueBoundedDescriptors(t *testing.T) {
	const max, n = 16, 600
	dir := t.TempDir()
	before := openFDs(t)
	pool := NewPool(PoolConfig{MaxOpenFiles: max})
	open := func() []*Queue {
		qs := make([]*Queue, n)
		for i := range qs {
			cfg := testConfig{Pool: pool}
			qs[i] = openDisk(t, filepath.Join(dir, fmt.Sprintf("slot%d", i%50), fmt.Sprint(i)), i%2 == 0, cfg)
		}
		return qs
	}
	qs := open()
	for round := 0; round < 3; round++ {
		for i, q := range qs {
			disktest.MustPush(t, q, fmt.Sprintf("http://x/%d/%d", i, round))
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range qs {
		disktest.PopURLs(t, q, 1)
		if err := q.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if got := openFDs(t) - before; got > max || pool.OpenFiles() > max {
		t.Fatalf("%d descriptors opened for %d queues (pool: %d), want at most %d", got, n, pool.OpenFiles(), max)
	}
	for _, q := range qs {
		disktest.MustClose(t, q)
	}
	qs = open() // reopen: no I/O until used
	if pool.OpenFiles() != 0 {
		t.Fatalf("opening queues opened %d files", pool.OpenFiles())
	}
	for i, q := range qs {
		if q.Len() != 2 {
			t.Fatalf("queue %d: len %d after reopen, want 2", i, q.Len())
		}
	}
	if got := openFDs(t) - before; got > max {
		t.Fatalf("%d descriptors after reopening %d queues, want at most %d", got, n, max)
	}
	for i, q := range qs {
		if got := drain(t, q); len(got) != 2 {
			t.Fatalf("queue %d: %v after reopen", i, got)
		}
		disktest.MustClose(t, q)
	}
	if got := openFDs(t) - before; got != 0 {
		t.Fatalf("%d descriptors left open after closing every queue", got)
	}
}

// Damage to a header's fixed part (magic and first seq) loses nothing: the
// cursor slots have their own checksums, so durable pops stay popped, and
// the header is repaired.
func TestDiskQueueDamagedHeader(t *testing.T) {
	urls := []string{"http://x/1", "http://x/2", "http://x/3", "http://x/4", "http://x/5"}
	for _, k := range disktest.Kinds() {
		for _, at := range []int{8, 12} { // the first seq, its checksum
			t.Run(fmt.Sprintf("%s/byte%d", k.Name, at), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "q")
				q := openDisk(t, path, k.LIFO, testDiskConfig())
				disktest.MustPush(t, q, urls...)
				if err := q.Flush(); err != nil {
					t.Fatal(err)
				}
				disktest.PopURLs(t, q, 2)
				disktest.MustClose(t, q)
				file := queueFiles(t, path)[0]
				data, _ := os.ReadFile(file)
				data[at] ^= 0x10
				if err := os.WriteFile(file, data, 0o644); err != nil {
					t.Fatal(err)
				}
				want := disktest.Order(k.LIFO, urls[2:]...)
				if k.LIFO {
					want = disktest.Order(true, urls[:3]...)
				}
				if rep, err := Verify(path, nil); err != nil || rep.Records != 3 || len(rep.Problems) != 1 {
					t.Fatalf("verify: %+v, %v", rep, err)
				}
				q = openDisk(t, path, k.LIFO, testDiskConfig())
				var reports int
				q.onReport = func(string, int64, int64, int, string) { reports++ }
				disktest.SameList(t, drain(t, q), want)
				if reports != 1 {
					t.Fatalf("%d reports, want 1", reports)
				}
				disktest.MustPush(t, q, "http://x/6")
				disktest.MustClose(t, q)
				if rep, err := Verify(path, nil); err != nil || rep.Records != 1 || !rep.OK() {
					t.Fatalf("after repair: %+v, %v", rep, err)
				}
			})
		}
	}
}

// Files that are not this build's queues are refused with a clear error,
// and left alone: a newer format version, Scrapy's queues, the other kind.
func TestDiskQueueForeignFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		lifo bool
		make func(t *testing.T, path string)
		want error
		text string
	}{
		{"lifo from a newer frontier", true, func(t *testing.T, path string) {
			q := openDisk(t, path, true, testDiskConfig())
			disktest.MustPush(t, q, "http://x/1")
			disktest.MustClose(t, q)
			data, _ := os.ReadFile(path)
			newerVersion(data, 2)
			_ = os.WriteFile(path, data, 0o644)
		}, disk.ErrVersion, "format version 2"},
		{"fifo from a newer frontier", false, func(t *testing.T, path string) {
			q := openDisk(t, path, false, testDiskConfig())
			disktest.MustPush(t, q, "http://x/1")
			disktest.MustClose(t, q)
			file := queueFiles(t, path)[0]
			data, _ := os.ReadFile(file)
			newerVersion(data, 9)
			_ = os.WriteFile(file, data, 0o644)
		}, disk.ErrVersion, "format version 9"},
		{"scrapy lifo", true, func(t *testing.T, path string) {
			// queuelib's LifoDiskQueue: a 4-byte count, then payload and length.
			data := append([]byte{0, 0, 0, 1}, bytes80("\x80\x04\x95pickle")...)
			_ = os.WriteFile(path, data, 0o644)
		}, disk.ErrNotQueue, "Scrapy"},
		{"short scrapy lifo", true, func(t *testing.T, path string) {
			_ = os.WriteFile(path, []byte("\x00\x00\x00\x01\x80\x04\x95\x05short\x00\x00\x00\x09"), 0o644)
		}, disk.ErrNotQueue, "Scrapy"},
		{"scrapy fifo", false, func(t *testing.T, path string) {
			_ = os.MkdirAll(path, 0o755)
			_ = os.WriteFile(filepath.Join(path, "q00000"), []byte("\x00\x00\x00\x05hello"), 0o644)
			_ = os.WriteFile(filepath.Join(path, "0000000001.seg"), bytes80("{\"chunksize\": 100000}"), 0o644)
		}, disk.ErrNotQueue, "no frontier FIFO segment header"},
		{"fifo where a lifo was", false, func(t *testing.T, path string) {
			q := openDisk(t, path, true, testDiskConfig())
			disktest.MustPush(t, q, "http://x/1")
			disktest.MustClose(t, q)
		}, disk.ErrNotQueue, "LIFO"},
		{"lifo where a fifo was", true, func(t *testing.T, path string) {
			q := openDisk(t, path, false, testDiskConfig())
			disktest.MustPush(t, q, "http://x/1")
			disktest.MustClose(t, q)
		}, disk.ErrNotQueue, "FIFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			tc.make(t, path)
			before := disktest.Snapshot(t, path)
			q := openDisk(t, path, tc.lifo, testDiskConfig())
			if q.Len() != 0 {
				t.Fatal("a foreign queue has a length")
			}
			_, err := q.Pop()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("got %v, want %v mentioning %q", err, tc.want, tc.text)
			}
			if err := q.Push(disktest.Req(t, "http://x/2")); !errors.Is(err, tc.want) {
				t.Fatalf("push: %v", err)
			}
			disktest.MustClose(t, q)
			if after := disktest.Snapshot(t, path); after != before {
				t.Fatal("a foreign queue's files were changed")
			}
		})
	}
}

// newerVersion makes the header in data a newer frontier's: format
// version v, with the fixed part's checksum that goes with it.
func newerVersion(data []byte, v byte) {
	data[7] = v
	copy(data[:16], appendFixedHeader(nil, string(data[:7])+string(v), binary.LittleEndian.Uint32(data[8:])))
}

// A flipped bit in a file's format version byte fails the header's
// checksum: damage, not a newer frontier's file. The queue is read as one
// whose header is damaged, every record kept, instead of being refused.
func TestDiskQueueFlippedVersionByte(t *testing.T) {
	for _, lifo := range []bool{true, false} {
		t.Run(fmt.Sprintf("lifo=%v", lifo), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "q")
			q := openDisk(t, path, lifo, testDiskConfig())
			for i := range 5 {
				disktest.MustPush(t, q, fmt.Sprintf("http://x/%d", i))
			}
			disktest.MustClose(t, q)
			file := path
			if !lifo {
				file = queueFiles(t, path)[0]
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data[7] ^= 0x10
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(path, nil)
			if err != nil || rep.Records != 5 {
				t.Fatalf("verify: %d records, %v; want 5", rep.Records, err)
			}
			q = openDisk(t, path, lifo, testDiskConfig())
			defer disktest.MustClose(t, q)
			if q.Len() != 5 {
				t.Fatalf("Len %d after a flipped version bit, want 5", q.Len())
			}
			if got := disktest.PopURLs(t, q, 5); len(got) != 5 {
				t.Fatalf("popped %q", got)
			}
		})
	}
}

// bytes80 pads s to a header's length.
func bytes80(s string) []byte {
	b := []byte(s)
	for len(b) < headerSize+10 {
		b = append(b, ' ')
	}
	return b
}

// A queue or a verify that fails to open closes what it opened: crafted
// files do not leak descriptors.
func TestDiskQueueFailedOpenLeaksNothing(t *testing.T) {
	dir := t.TempDir()
	lifo := filepath.Join(dir, "lifo")
	_ = os.WriteFile(lifo, bytes80("not a queue"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	_ = os.MkdirAll(fifo, 0o755)
	_ = os.WriteFile(filepath.Join(fifo, segName(1)), bytes80("\x00\x00\x00\x00\x00\x00\x00\x00"), 0o644)
	_ = os.WriteFile(filepath.Join(fifo, segName(2)), bytes80("not a segment"), 0o644)
	before := openFDs(t)
	for range 50 {
		for _, k := range disktest.Kinds() {
			path := fifo
			if k.LIFO {
				path = lifo
			}
			q := openDisk(t, path, k.LIFO, testDiskConfig())
			if _, err := q.Pop(); !errors.Is(err, disk.ErrNotQueue) {
				t.Fatalf("%s: %v", k.Name, err)
			}
			disktest.MustClose(t, q)
			if _, err := Verify(path, nil); !errors.Is(err, disk.ErrNotQueue) {
				t.Fatalf("verify %s: %v", k.Name, err)
			}
		}
	}
	if after := openFDs(t); after > before {
		t.Fatalf("%d descriptors leaked", after-before)
	}
}

// Issue 10: a LIFO file cut to nothing was taken for a file a crash tore
// while creating it, silently; its requests were lost and verify said OK.
// It is still opened empty (a crash can leave it so), but said.
func TestLifoEmptyFileReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q")
	q := openDisk(t, path, true, testDiskConfig())
	disktest.MustPush(t, q, "http://x/1", "http://x/2")
	disktest.MustClose(t, q)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Records != 0 {
		t.Fatalf("verify of a LIFO cut to nothing: %+v, want a problem and no record", rep)
	}
	q = openDisk(t, path, true, testDiskConfig())
	defer disktest.MustClose(t, q)
	if q.Len() != 0 {
		t.Fatalf("len %d, want 0", q.Len())
	}
}

// Issue 10: a LIFO file that never recorded a pop (its cursor at the
// header, as a killed job leaves it) cut inside its first record lost
// every record silently: with no pop recorded nothing stale lies past the
// cursor, so the bad frame is reported.
func TestLifoCutAfterFreshCursorReported(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "q")
	q := openDisk(t, src, true, testDiskConfig())
	disktest.MustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "cut")
	copyQueue(t, src, dst, headerSize+10) // a killed process's file, cut
	disktest.MustClose(t, q)
	rep, err := Verify(dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() {
		t.Fatalf("verify of a LIFO cut inside its first record: %+v, want the loss said", rep)
	}
}

// Issue 10: a LIFO file with damaged records inside the stack lost the
// intact records beyond the first damaged one: after the cursor they were
// taken for a torn tail, below it the scan back stopped at the first
// damage. Both resynchronise: only the damaged records are lost, whether
// the file was closed (cursor at the top) or its process killed (cursor at
// the header, the records written since).
func TestLifoDamagedRecordsInsideTheStack(t *testing.T) {
	for _, closed := range []bool{true, false} {
		t.Run(fmt.Sprintf("closed=%v", closed), func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "q")
			q := openDisk(t, src, true, testDiskConfig())
			var urls []string
			for i := range 6 {
				urls = append(urls, fmt.Sprintf("http://x/%d", i))
			}
			disktest.MustPush(t, q, urls...)
			if err := q.Flush(); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, "damaged")
			if closed {
				disktest.MustClose(t, q)
				copyQueue(t, src, dst, -1)
			} else {
				copyQueue(t, src, dst, -1)
				disktest.MustClose(t, q)
			}
			data, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			var mids []int64
			if _, err := recordio.Scan(data[:], headerSize, func(off int64, fr recordio.Frame) error {
				mids = append(mids, off+int64(fr.Size())/2)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(mids) < 6 {
				t.Fatalf("%d frames, want 6", len(mids))
			}
			data[mids[1]] ^= 0x10
			data[mids[4]] ^= 0x10
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				t.Fatal(err)
			}
			q = openDisk(t, dst, true, testDiskConfig())
			defer disktest.MustClose(t, q)
			var got []string
			for spins := 0; q.Len() > 0 && spins < 100; spins++ {
				r, err := q.Pop()
				if err == nil && r != nil {
					got = append(got, r.URL)
				}
			}
			disktest.SameList(t, got, []string{urls[5], urls[3], urls[2], urls[0]})
		})
	}
}

// A LIFO file whose first frame past the cursor is damaged (a flipped bit,
// or the file cut inside it) while records pushed after the cursor was
// written follow it: those records are kept (their ids are above the
// cursor's bound, so they are no popped record's remains), and the damage
// is reported, not taken silently for the remains of popped records.
func TestDiskQueueLifoDamagedFrameAtCursor(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	q := openDisk(t, src, true, testDiskConfig())
	disktest.MustPush(t, q, "http://x/1", "http://x/2", "http://x/3")
	disktest.MustClose(t, q)
	q = openDisk(t, src, true, testDiskConfig())
	disktest.PopURLs(t, q, 1)
	disktest.MustClose(t, q) // the cursor: 2 records
	q = openDisk(t, src, true, testDiskConfig())
	disktest.MustPush(t, q, "http://x/4", "http://x/5", "http://x/6")
	if err := q.Flush(); err != nil {
		t.Fatal(err)
	}
	// A crash: the pushes are in the file, past the cursor.
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	h, err := parseHeader(data, lifoMagic)
	if err != nil || !h.cursorOK || int64(h.cursor.Off) >= int64(len(data)) {
		t.Fatalf("cursor %+v (%v) of a %d-byte file: the test needs frames past it", h.cursor, err, len(data))
	}
	disktest.MustClose(t, q)
	at := int64(h.cursor.Off)
	dst := filepath.Join(dir, "flipped")
	data[at+int64(recordio.Overhead)/2+2] ^= 0x40 // inside the first frame past the cursor
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dst, nil)
	if err != nil || rep.Records != 4 || rep.OK() {
		t.Fatalf("verify: %d records, ok %v, %v; want 4 and the damage reported", rep.Records, rep.OK(), err)
	}
	q = openDisk(t, dst, true, testDiskConfig())
	defer disktest.MustClose(t, q)
	if q.Len() < 4 {
		t.Fatalf("Len %d, want the 2 records below the cursor and the 2 pushed after the damaged one", q.Len())
	}
	var got []string
	for q.Len() > 0 {
		r, err := q.Pop()
		var cre *disk.CorruptRecordError
		switch {
		case errors.As(err, &cre):
			continue // the damaged record, skipped
		case err != nil:
			t.Fatal(err)
		case r == nil:
			t.Fatal("Len above 0, Pop returned nothing")
		}
		got = append(got, r.URL)
	}
	for _, u := range []string{"http://x/1", "http://x/2", "http://x/5", "http://x/6"} {
		if !slices.Contains(got, u) {
			t.Errorf("%s lost: drained %q", u, got)
		}
	}
}
