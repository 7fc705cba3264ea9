package lazyfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// write creates path with data through the mount, fsyncing the file when
// sync is set.
func write(t *testing.T, path string, data []byte, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatalf("fsync of directory %s: %v", dir, err)
	}
}

func appendTo(t *testing.T, path string, data []byte, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

func readBacking(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSyncedSurvivesUnsyncedDropped(t *testing.T) {
	backing := t.TempDir()
	lfs := Mount(t, backing)
	p := filepath.Join(lfs.Dir(), "log")
	write(t, p, []byte("durable."), true)
	syncDir(t, lfs.Dir())
	appendTo(t, p, []byte("lost"), false)
	// Readers see the unsynced write (page cache).
	if got, _ := os.ReadFile(p); string(got) != "durable.lost" {
		t.Fatalf("read through the mount: %q, want the unsynced write too", got)
	}
	if err := lfs.PowerCut(DropAll); err != nil {
		t.Fatal(err)
	}
	if got := readBacking(t, filepath.Join(backing, "log")); string(got) != "durable." {
		t.Fatalf("after a cut: %q, want %q", got, "durable.")
	}
	c := lfs.Counters()
	if c.Synced != 8 || c.Dropped != 4 || c.Written != 12 {
		t.Fatalf("counters %+v, want 8 synced, 4 dropped of 12 written", c)
	}
}

func TestOverwriteAndTruncateUndone(t *testing.T) {
	backing := t.TempDir()
	if err := os.WriteFile(filepath.Join(backing, "f"), []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	lfs := Mount(t, backing)
	p := filepath.Join(lfs.Dir(), "f")
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("ab"), 2); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("XYZ"), 5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got, _ := os.ReadFile(p); string(got) != "01ab4XYZ" {
		t.Fatalf("read through the mount: %q", got)
	}
	if err := lfs.PowerCut(DropAll); err != nil {
		t.Fatal(err)
	}
	if got := readBacking(t, filepath.Join(backing, "f")); string(got) != "0123456789" {
		t.Fatalf("after a cut: %q, want the loaded content", got)
	}
}

func TestDirectoryOperationsNeedDirectoryFsync(t *testing.T) {
	backing := t.TempDir()
	if err := os.WriteFile(filepath.Join(backing, "old"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(backing, "gone"), []byte("gone"), 0o644); err != nil {
		t.Fatal(err)
	}
	lfs := Mount(t, backing)
	d := lfs.Dir()
	// The atomic replace without the directory fsync.
	write(t, filepath.Join(d, "tmp"), []byte("new"), true)
	if err := os.Rename(filepath.Join(d, "tmp"), filepath.Join(d, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(d, "gone")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(d, "created"), []byte("x"), true)
	if err := os.Mkdir(filepath.Join(d, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(d, "old")); string(got) != "new" {
		t.Fatalf("read through the mount after rename: %q", got)
	}
	if err := lfs.PowerCut(DropAll); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(backing)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != "gone" || names[1] != "old" {
		t.Fatalf("after a cut the directory holds %v, want [gone old]", names)
	}
	if got := readBacking(t, filepath.Join(backing, "old")); string(got) != "old" {
		t.Fatalf("rename not undone: old holds %q", got)
	}
}

func TestDirectoryFsyncMakesRenameDurable(t *testing.T) {
	backing := t.TempDir()
	lfs := Mount(t, backing)
	d := lfs.Dir()
	if err := os.Mkdir(filepath.Join(d, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	syncDir(t, d)
	write(t, filepath.Join(d, "sub", "tmp"), []byte("new"), true)
	if err := os.Rename(filepath.Join(d, "sub", "tmp"), filepath.Join(d, "sub", "file")); err != nil {
		t.Fatal(err)
	}
	syncDir(t, filepath.Join(d, "sub"))
	write(t, filepath.Join(d, "unsynced-name"), []byte("data synced, name not"), true)
	if err := lfs.PowerCut(DropAll); err != nil {
		t.Fatal(err)
	}
	if got := readBacking(t, filepath.Join(backing, "sub", "file")); string(got) != "new" {
		t.Fatalf("sub/file: %q, want %q", got, "new")
	}
	if _, err := os.Stat(filepath.Join(backing, "sub", "tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("sub/tmp survived the durable rename: %v", err)
	}
	if _, err := os.Stat(filepath.Join(backing, "unsynced-name")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file whose directory was never fsynced survived: %v", err)
	}
}

func TestKeepRandomKeepsASubset(t *testing.T) {
	// Sixteen one-page writes after a synced prefix, cut many times: each
	// cut keeps the prefix and some pages, and over the cuts some pages are
	// kept and some dropped.
	const pages = 16
	var keptSome, droppedSome bool
	for seed := uint64(0); seed < 8; seed++ {
		backing := t.TempDir()
		lfs := Mount(t, backing)
		p := filepath.Join(lfs.Dir(), "f")
		write(t, p, bytes.Repeat([]byte{'s'}, pageSize), true)
		syncDir(t, lfs.Dir())
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= pages; i++ {
			if _, err := f.WriteAt(bytes.Repeat([]byte{byte('a' + i)}, pageSize), int64(i*pageSize)); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		if err := lfs.PowerCut(KeepRandom(seed)); err != nil {
			t.Fatal(err)
		}
		got := readBacking(t, filepath.Join(backing, "f"))
		if len(got) < pageSize || !bytes.Equal(got[:pageSize], bytes.Repeat([]byte{'s'}, pageSize)) {
			t.Fatalf("seed %d: the synced page is not intact", seed)
		}
		for i := 1; i <= pages; i++ {
			var page []byte
			if (i+1)*pageSize <= len(got) {
				page = got[i*pageSize : (i+1)*pageSize]
			}
			switch {
			case bytes.Equal(page, bytes.Repeat([]byte{byte('a' + i)}, pageSize)):
				keptSome = true
			case page == nil || bytes.Equal(page, make([]byte, pageSize)):
				droppedSome = true
			default:
				t.Fatalf("seed %d: page %d holds neither its write nor zeros", seed, i)
			}
		}
		c := lfs.Counters()
		if c.Kept+c.Dropped != pages*pageSize {
			t.Fatalf("seed %d: counters %+v, want kept+dropped = %d", seed, c, pages*pageSize)
		}
	}
	if !keptSome || !droppedSome {
		t.Fatalf("KeepRandom kept some: %t, dropped some: %t; want both", keptSome, droppedSome)
	}
}

func TestCleanUnmountKeepsEverything(t *testing.T) {
	backing := t.TempDir()
	lfs := Mount(t, backing)
	write(t, filepath.Join(lfs.Dir(), "f"), []byte("never synced"), false)
	if err := lfs.Unmount(); err != nil {
		t.Fatal(err)
	}
	if got := readBacking(t, filepath.Join(backing, "f")); string(got) != "never synced" {
		t.Fatalf("after a clean unmount: %q", got)
	}
}

func TestFlockAndMmap(t *testing.T) {
	backing := t.TempDir()
	lfs := Mount(t, backing)
	p := filepath.Join(lfs.Dir(), "lock")
	write(t, p, []byte("mapped contents"), false)
	a, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := unix.Flock(int(a.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("flock: %v", err)
	}
	if err := unix.Flock(int(b.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("second flock of a locked file: %v, want EWOULDBLOCK", err)
	}
	if os.Getenv("FRONTIER_LAZYFS_MMAP") == "" {
		// Known problem: once in an uncached run of the whole suite, the
		// test binary hung at exit after this test, a thread waiting in the
		// kernel for an answer from the file system it was itself serving.
		// Until that is understood, the mmap half runs on demand only.
		t.Log("mmap half skipped; set FRONTIER_LAZYFS_MMAP=1 to run it")
		return
	}
	data, err := unix.Mmap(int(b.Fd()), 0, 15, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	defer unix.Munmap(data)
	if string(data) != "mapped contents" {
		t.Fatalf("mmap read %q", data)
	}
}
