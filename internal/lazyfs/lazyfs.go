package lazyfs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// pageSize is the granularity at which a write may survive torn under
// KeepRandom.
const pageSize = 4096

// CutMode says what a power cut keeps of what was not fsynced.
type CutMode struct {
	keep bool
	seed uint64
}

// DropAll loses every write and directory operation not made durable by an
// fsync.
var DropAll = CutMode{}

// KeepRandom keeps a random subset of each file's unsynced writes (page by
// page, applied in a random order) and, for each directory, either its
// durable or its current entries, drawn from seed.
func KeepRandom(seed uint64) CutMode { return CutMode{keep: true, seed: seed} }

// String names the mode for test logs.
func (m CutMode) String() string {
	if m.keep {
		return fmt.Sprintf("KeepRandom(%d)", m.seed)
	}
	return "DropAll"
}

// Counters are what a filesystem counted since it was mounted, in bytes of
// file data (writes; a truncate counts as nothing).
type Counters struct {
	Written int64 // handed to write(2)
	Synced  int64 // made durable by an fsync
	Dropped int64 // lost by the power cut
	Kept    int64 // not fsynced, kept by a KeepRandom cut
}

// FS is a mounted lazy filesystem.
type FS struct {
	tb      testing.TB
	backing string
	mnt     string
	server  *fuse.Server

	mu      sync.Mutex
	root    *dirNode
	ino     uint64
	frozen  bool
	done    bool
	written atomic.Int64
	synced  atomic.Int64
	dropped atomic.Int64
	kept    atomic.Int64
	started time.Time
	lost    []string // what the last cut lost, for failure messages
}

// Lost describes what the last power cut did not keep as it was: files with
// unsynced writes (bytes dropped and kept) and names whose directory was not
// fsynced. It is meant for the message of a failing test.
func (f *FS) Lost() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.lost...)
}

// lostNames lists the names of d's tree whose entry is not durable.
func (f *FS) lostNames(d *dirNode, path string) {
	cur := d.currentEntries()
	for _, name := range sortedNames(cur) {
		if d.durable[name] != cur[name] {
			f.lost = append(f.lost, fmt.Sprintf("%s: created or replaced, its directory not fsynced since", filepath.Join(path, name)))
		}
		if cd, ok := cur[name].(*dirNode); ok {
			f.lostNames(cd, filepath.Join(path, name))
		}
	}
	for _, name := range sortedNames(d.durable) {
		if _, ok := cur[name]; !ok {
			f.lost = append(f.lost, fmt.Sprintf("%s: removed or renamed, its directory not fsynced since", filepath.Join(path, name)))
		}
	}
}

// Available reports why lazyfs cannot mount here ("" when it can).
func Available() string {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return "lazyfs: no /dev/fuse (FUSE is not available on this machine)"
	}
	if _, err := exec.LookPath("fusermount3"); err == nil {
		return ""
	}
	if _, err := exec.LookPath("fusermount"); err == nil {
		return ""
	}
	return "lazyfs: /dev/fuse exists but neither fusermount3 nor fusermount is on the PATH (install Debian's fuse3)"
}

// Mount loads backing into memory and mounts it at a new directory under
// tb.TempDir. It skips the test when FUSE is unavailable (fails it when
// /dev/fuse exists, fusermount does not and CI is set). The filesystem is
// unmounted cleanly at the end of the test if it still is mounted.
func Mount(tb testing.TB, backing string) *FS {
	tb.Helper()
	if why := Available(); why != "" {
		_, devErr := os.Stat("/dev/fuse")
		if devErr == nil && os.Getenv("CI") != "" {
			tb.Fatal(why)
		}
		tb.Skip(why)
	}
	f := &FS{tb: tb, backing: backing, mnt: tb.TempDir(), started: time.Now()}
	root, err := f.load(backing)
	if err != nil {
		tb.Fatalf("lazyfs: load %s: %v", backing, err)
	}
	f.root = root
	one := time.Second
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName:        "lazyfs",
			Name:          "lazyfs",
			MaxBackground: 64,
		},
		EntryTimeout: &one,
		AttrTimeout:  &one,
		UID:          uint32(os.Getuid()),
		GID:          uint32(os.Getgid()),
		OnAdd:        func(ctx context.Context) { root.build(ctx) },
	}
	server, err := fs.Mount(f.mnt, root, opts)
	if err != nil {
		tb.Fatalf("lazyfs: mount %s at %s: %v (is fusermount3 installed and /dev/fuse usable?)", backing, f.mnt, err)
	}
	f.server = server
	tb.Cleanup(func() {
		if !f.done {
			if err := f.Unmount(); err != nil {
				tb.Errorf("lazyfs: %v", err)
			}
		}
	})
	return f
}

// Dir returns the mount point.
func (f *FS) Dir() string { return f.mnt }

// Counters returns what the filesystem counted so far.
func (f *FS) Counters() Counters {
	return Counters{Written: f.written.Load(), Synced: f.synced.Load(), Dropped: f.dropped.Load(), Kept: f.kept.Load()}
}

// PowerCut simulates a power cut: the filesystem is frozen, unmounted, and
// the backing directory replaced by what survived under mode. Processes
// still using the mount get EIO; kill them first.
func (f *FS) PowerCut(mode CutMode) error {
	f.mu.Lock()
	f.frozen = true
	rng := rand.New(rand.NewPCG(mode.seed, 0x1a2f5))
	f.lost = f.lost[:0]
	f.lostNames(f.root, "")
	tree := f.survivors(f.root, "", mode, rng)
	f.mu.Unlock()
	if err := f.unmount(); err != nil {
		return err
	}
	return f.writeBack(tree)
}

// Unmount unmounts cleanly: everything written, synced or not, is written
// to the backing directory, as a real unmount writes the page cache back.
func (f *FS) Unmount() error {
	f.mu.Lock()
	f.frozen = true
	tree := f.current(f.root)
	f.mu.Unlock()
	if err := f.unmount(); err != nil {
		return err
	}
	return f.writeBack(tree)
}

func (f *FS) unmount() error {
	if f.done {
		return fmt.Errorf("lazyfs: %s is not mounted", f.mnt)
	}
	f.done = true
	var err error
	for i := 0; i < 50; i++ {
		if err = f.server.Unmount(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond) // a process still closing its files
	}
	// Detach it: nothing can use it any more (it is frozen).
	for _, fm := range []string{"fusermount3", "fusermount"} {
		if exec.Command(fm, "-u", "-z", f.mnt).Run() == nil {
			return nil
		}
	}
	return fmt.Errorf("lazyfs: unmount %s: %w (a process still uses it; kill it first)", f.mnt, err)
}

// entry is a file or directory as written back to the backing directory.
type entry struct {
	dir      bool
	mode     uint32
	data     []byte
	children map[string]*entry
}

// survivors builds what a power cut keeps of d. Called with f.mu held.
func (f *FS) survivors(d *dirNode, path string, mode CutMode, rng *rand.Rand) *entry {
	names := d.durable
	if mode.keep && rng.IntN(2) == 0 {
		names = d.currentEntries()
	}
	e := &entry{dir: true, mode: d.mode, children: map[string]*entry{}}
	for _, name := range sortedNames(names) {
		switch n := names[name].(type) {
		case *dirNode:
			e.children[name] = f.survivors(n, filepath.Join(path, name), mode, rng)
		case *fileNode:
			e.children[name] = &entry{mode: n.mode, data: f.fileSurvivor(n, filepath.Join(path, name), mode, rng)}
		}
	}
	return e
}

// fileSurvivor is n's content after a cut: its durable content, plus under
// KeepRandom a random subset of the pending operations in a random order.
// A file reachable under two names is cut once.
func (f *FS) fileSurvivor(n *fileNode, path string, mode CutMode, rng *rand.Rand) []byte {
	if n.cut != nil {
		return n.cut
	}
	out := append([]byte{}, n.durable...)
	var keep []op
	var kept, dropped int64
	for _, o := range n.pending {
		if mode.keep && rng.IntN(2) == 0 {
			keep = append(keep, o)
			kept += int64(len(o.data))
		} else {
			dropped += int64(len(o.data))
		}
	}
	f.kept.Add(kept)
	f.dropped.Add(dropped)
	if len(n.pending) > 0 {
		f.lost = append(f.lost, fmt.Sprintf("%s: %d operations not fsynced, %d bytes dropped, %d kept (size %d, durable %d)",
			path, len(n.pending), dropped, kept, len(n.data), len(n.durable)))
	}
	rng.Shuffle(len(keep), func(i, j int) { keep[i], keep[j] = keep[j], keep[i] })
	for _, o := range keep {
		out = o.apply(out)
	}
	n.cut = out
	return out
}

// current is the page cache's tree (a clean unmount). Called with f.mu held.
func (f *FS) current(d *dirNode) *entry {
	e := &entry{dir: true, mode: d.mode, children: map[string]*entry{}}
	for name, c := range d.currentEntries() {
		switch n := c.(type) {
		case *dirNode:
			e.children[name] = f.current(n)
		case *fileNode:
			e.children[name] = &entry{mode: n.mode, data: n.data}
		}
	}
	return e
}

// writeBack replaces the backing directory's contents with tree.
func (f *FS) writeBack(tree *entry) error {
	old, err := os.ReadDir(f.backing)
	if err != nil {
		return fmt.Errorf("lazyfs: write back to %s: %w", f.backing, err)
	}
	for _, o := range old {
		if err := os.RemoveAll(filepath.Join(f.backing, o.Name())); err != nil {
			return fmt.Errorf("lazyfs: write back to %s: %w", f.backing, err)
		}
	}
	return writeTree(f.backing, tree)
}

func writeTree(dir string, e *entry) error {
	for name, c := range e.children {
		p := filepath.Join(dir, name)
		if c.dir {
			if err := os.Mkdir(p, os.FileMode(c.mode&0o777)|0o700); err != nil {
				return fmt.Errorf("lazyfs: write back %s: %w", p, err)
			}
			if err := writeTree(p, c); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(p, c.data, os.FileMode(c.mode&0o777)|0o600); err != nil {
			return fmt.Errorf("lazyfs: write back %s: %w", p, err)
		}
	}
	return nil
}

// load reads the backing directory into a tree of nodes, all durable.
func (f *FS) load(dir string) (*dirNode, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	d := f.newDir(uint32(st.Mode().Perm()))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir():
			c, err := f.load(p)
			if err != nil {
				return nil, err
			}
			d.initial[e.Name()] = c
		case e.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			info, err := e.Info()
			if err != nil {
				return nil, err
			}
			c := f.newFile(uint32(info.Mode().Perm()))
			c.data = b
			c.durable = b[:len(b):len(b)]
			c.shared = true
			d.initial[e.Name()] = c
		default:
			return nil, fmt.Errorf("%s: lazyfs holds only files and directories", p)
		}
	}
	for name, c := range d.initial {
		d.durable[name] = c
	}
	return d, nil
}

func (f *FS) nextIno() uint64 {
	f.ino++
	return f.ino + 1 // 1 is the root's
}

func sortedNames(m map[string]fs.InodeEmbedder) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// attr fills the attributes shared by files and directories.
func (f *FS) attr(out *fuse.Attr, mode uint32, size uint64) {
	out.Mode = mode
	out.Size = size
	out.Blocks = (size + 511) / 512
	out.Blksize = pageSize
	out.Nlink = 1
	out.Owner = fuse.Owner{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
	t := f.started
	out.SetTimes(&t, &t, &t)
}

// check returns EIO once the filesystem is frozen by a cut or an unmount.
func (f *FS) check() syscall.Errno {
	if f.frozen {
		return syscall.EIO
	}
	return 0
}
