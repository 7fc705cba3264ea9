package lazyfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// op is a write (data at off) or a truncate (to off) not yet fsynced.
type op struct {
	off      int64
	data     []byte
	truncate bool
}

// apply returns b with o applied.
func (o op) apply(b []byte) []byte {
	if o.truncate {
		return resize(b, o.off)
	}
	end := o.off + int64(len(o.data))
	if int64(len(b)) < end {
		b = resize(b, end)
	}
	copy(b[o.off:], o.data)
	return b
}

// resize returns b with length n, zero-filled where it grows.
func resize(b []byte, n int64) []byte {
	if n <= int64(len(b)) {
		return b[:n]
	}
	if n <= int64(cap(b)) {
		old := len(b)
		b = b[:n]
		clear(b[old:])
		return b
	}
	nb := make([]byte, n, max(n, int64(cap(b))*2))
	copy(nb, b)
	return nb
}

// fileNode is a regular file: its page-cache content and its durable one.
type fileNode struct {
	fs.Inode
	lfs     *FS
	mode    uint32
	data    []byte // what readers see
	durable []byte // content at the last fsync; shares data's array while shared
	shared  bool   // data[:len(durable)] is durable's array: copy before changing it
	pending []op   // writes and truncates since the last fsync, split at pages
	cut     []byte // content kept by the power cut, once computed
}

var (
	_ fs.NodeGetattrer = (*fileNode)(nil)
	_ fs.NodeSetattrer = (*fileNode)(nil)
	_ fs.NodeOpener    = (*fileNode)(nil)
	_ fs.NodeReader    = (*fileNode)(nil)
	_ fs.NodeWriter    = (*fileNode)(nil)
	_ fs.NodeFsyncer   = (*fileNode)(nil)
	_ fs.NodeFlusher   = (*fileNode)(nil)
)

func (f *FS) newFile(mode uint32) *fileNode {
	return &fileNode{lfs: f, mode: mode & 0o7777, durable: []byte{}}
}

// unshare copies data away from durable's array before a change below
// len(durable).
func (n *fileNode) unshare(from int64) {
	if n.shared && from < int64(len(n.durable)) {
		n.data = append(make([]byte, 0, cap(n.data)), n.data...)
		n.shared = false
	}
}

func (n *fileNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	n.lfs.attr(&out.Attr, syscall.S_IFREG|n.mode, uint64(len(n.data)))
	return 0
}

func (n *fileNode) Setattr(ctx context.Context, _ fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	if e := n.lfs.check(); e != 0 {
		return e
	}
	if m, ok := in.GetMode(); ok {
		n.mode = m & 0o7777
	}
	if sz, ok := in.GetSize(); ok {
		n.truncate(int64(sz))
	}
	n.lfs.attr(&out.Attr, syscall.S_IFREG|n.mode, uint64(len(n.data)))
	return 0
}

// truncate sets the size, as ftruncate(2). Called with lfs.mu held.
func (n *fileNode) truncate(size int64) {
	if size == int64(len(n.data)) {
		return
	}
	n.unshare(size)
	n.data = resize(n.data, size)
	n.pending = append(n.pending, op{off: size, truncate: true})
}

func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	if e := n.lfs.check(); e != 0 {
		return nil, 0, e
	}
	if flags&syscall.O_TRUNC != 0 {
		n.truncate(0)
	}
	return nil, 0, 0
}

func (n *fileNode) Read(ctx context.Context, _ fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	if e := n.lfs.check(); e != 0 {
		return nil, e
	}
	if off >= int64(len(n.data)) {
		return fuse.ReadResultData(nil), 0
	}
	k := copy(dest, n.data[off:])
	return fuse.ReadResultData(dest[:k]), 0
}

func (n *fileNode) Write(ctx context.Context, _ fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	if e := n.lfs.check(); e != 0 {
		return 0, e
	}
	n.unshare(off)
	n.data = op{off: off, data: data}.apply(n.data)
	// Kept page by page, so that a KeepRandom cut may tear the write.
	for start := off; start < off+int64(len(data)); {
		end := min((start/pageSize+1)*pageSize, off+int64(len(data)))
		n.pending = append(n.pending, op{off: start, data: append([]byte(nil), data[start-off:end-off]...)})
		start = end
	}
	n.lfs.written.Add(int64(len(data)))
	return uint32(len(data)), 0
}

// Fsync makes the file's content durable (fsync and fdatasync alike).
func (n *fileNode) Fsync(ctx context.Context, _ fs.FileHandle, flags uint32) syscall.Errno {
	n.lfs.mu.Lock()
	defer n.lfs.mu.Unlock()
	if e := n.lfs.check(); e != 0 {
		return e
	}
	var bytes int64
	for _, o := range n.pending {
		bytes += int64(len(o.data))
	}
	n.lfs.synced.Add(bytes)
	n.durable = n.data[:len(n.data):len(n.data)]
	n.shared = true
	n.pending = nil
	return 0
}

// Flush (close(2)) does nothing: closing a file does not make it durable.
func (n *fileNode) Flush(ctx context.Context, _ fs.FileHandle) syscall.Errno { return 0 }

// dirNode is a directory: its current entries are the go-fuse tree's
// children, its durable ones are kept here.
type dirNode struct {
	fs.Inode
	lfs     *FS
	mode    uint32
	durable map[string]fs.InodeEmbedder // entries at the last fsync
	initial map[string]fs.InodeEmbedder // entries loaded at mount, added to the tree by build
}

var (
	_ fs.NodeGetattrer = (*dirNode)(nil)
	_ fs.NodeSetattrer = (*dirNode)(nil)
	_ fs.NodeCreater   = (*dirNode)(nil)
	_ fs.NodeMkdirer   = (*dirNode)(nil)
	_ fs.NodeUnlinker  = (*dirNode)(nil)
	_ fs.NodeRmdirer   = (*dirNode)(nil)
	_ fs.NodeRenamer   = (*dirNode)(nil)
	_ fs.NodeFsyncer   = (*dirNode)(nil)
)

func (f *FS) newDir(mode uint32) *dirNode {
	return &dirNode{lfs: f, mode: mode & 0o7777, durable: map[string]fs.InodeEmbedder{}, initial: map[string]fs.InodeEmbedder{}}
}

// build adds the loaded entries to the go-fuse tree, recursively.
func (d *dirNode) build(ctx context.Context) {
	for _, name := range sortedNames(d.initial) {
		c := d.initial[name]
		mode := uint32(syscall.S_IFREG)
		if _, ok := c.(*dirNode); ok {
			mode = syscall.S_IFDIR
		}
		ch := d.NewPersistentInode(ctx, c, fs.StableAttr{Mode: mode, Ino: d.lfs.nextIno()})
		d.AddChild(name, ch, false)
		if cd, ok := c.(*dirNode); ok {
			cd.build(ctx)
		}
	}
	d.initial = nil
}

// currentEntries are the directory's entries as readers see them.
func (d *dirNode) currentEntries() map[string]fs.InodeEmbedder {
	m := map[string]fs.InodeEmbedder{}
	for name, ch := range d.Children() {
		m[name] = ch.Operations()
	}
	return m
}

func (d *dirNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.lfs.mu.Lock()
	defer d.lfs.mu.Unlock()
	d.lfs.attr(&out.Attr, syscall.S_IFDIR|d.mode, pageSize)
	out.Nlink = 2
	return 0
}

func (d *dirNode) Setattr(ctx context.Context, _ fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	d.lfs.mu.Lock()
	defer d.lfs.mu.Unlock()
	if e := d.lfs.check(); e != 0 {
		return e
	}
	if m, ok := in.GetMode(); ok {
		d.mode = m & 0o7777
	}
	d.lfs.attr(&out.Attr, syscall.S_IFDIR|d.mode, pageSize)
	return 0
}

func (d *dirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	d.lfs.mu.Lock()
	defer d.lfs.mu.Unlock()
	if e := d.lfs.check(); e != 0 {
		return nil, nil, 0, e
	}
	n := d.lfs.newFile(mode)
	ch := d.NewPersistentInode(ctx, n, fs.StableAttr{Mode: syscall.S_IFREG, Ino: d.lfs.nextIno()})
	d.lfs.attr(&out.Attr, syscall.S_IFREG|n.mode, 0)
	return ch, nil, 0, 0
}

func (d *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	d.lfs.mu.Lock()
	defer d.lfs.mu.Unlock()
	if e := d.lfs.check(); e != 0 {
		return nil, e
	}
	n := d.lfs.newDir(mode)
	n.initial = nil
	ch := d.NewPersistentInode(ctx, n, fs.StableAttr{Mode: syscall.S_IFDIR, Ino: d.lfs.nextIno()})
	d.lfs.attr(&out.Attr, syscall.S_IFDIR|n.mode, pageSize)
	return ch, 0
}

// Unlink and Rmdir only check: go-fuse removes the child from the tree, and
// the durable entries keep it until the next fsync of the directory.
func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	d.lfs.mu.Lock()
	defer d.lfs.mu.Unlock()
	return d.lfs.check()
}

func (d *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	d.lfs.mu.Lock()
	defer d.lfs.mu.Unlock()
	if e := d.lfs.check(); e != 0 {
		return e
	}
	if ch := d.GetChild(name); ch != nil && len(ch.Children()) > 0 {
		return syscall.ENOTEMPTY
	}
	return 0
}

// Rename only checks, as Unlink: go-fuse moves the child in the tree.
func (d *dirNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	d.lfs.mu.Lock()
	defer d.lfs.mu.Unlock()
	if e := d.lfs.check(); e != 0 {
		return e
	}
	if flags != 0 {
		return syscall.EINVAL // RENAME_NOREPLACE, RENAME_EXCHANGE: unused by the job directory
	}
	src := d.GetChild(name)
	dst := newParent.EmbeddedInode().GetChild(newName)
	if src != nil && dst != nil && src.IsDir() && len(dst.Children()) > 0 {
		return syscall.ENOTEMPTY
	}
	return 0
}

// Fsync makes the directory's current entries durable.
func (d *dirNode) Fsync(ctx context.Context, _ fs.FileHandle, flags uint32) syscall.Errno {
	d.lfs.mu.Lock()
	defer d.lfs.mu.Unlock()
	if e := d.lfs.check(); e != 0 {
		return e
	}
	d.durable = d.currentEntries()
	return 0
}
