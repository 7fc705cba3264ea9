package filequeue

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/internal/clock"
	"github.com/frontier-go/frontier/internal/recordio"
)

// Defaults of [PoolConfig].
const (
	DefaultMaxOpenFiles    = 256
	DefaultBufferBytes     = 32 << 20
	DefaultReadBufferBytes = 32 << 20
)

// PoolConfig configures a [Pool].
type PoolConfig struct {
	// MaxOpenFiles bounds the file descriptors the pool's queues keep open;
	// files are reopened on demand. 0 means DefaultMaxOpenFiles.
	MaxOpenFiles int
	// BufferBytes bounds the bytes the pool's queues hold in memory before
	// writing them: past it, the queues that buffered first are flushed.
	// 0 means DefaultBufferBytes.
	BufferBytes int64
	// ReadBufferBytes bounds the bytes the pool's queues keep read ahead:
	// past it, the queues that read least recently let theirs go (and read
	// again when popped). 0 means DefaultReadBufferBytes.
	ReadBufferBytes int64
}

// Pool holds what disk queues share, so that their cost does not grow
// with their number: a bounded set of open files (at most MaxOpenFiles
// descriptors, whatever the number of queues and segments; an idle one is
// closed when another must open), budgets of buffered and read-ahead bytes,
// and when each file system was last synced.
//
// A pool also owns what its queues must not repeat or need not allocate
// each: the delivery identifiers of their records ([disk.IDs]) and the
// write and read buffers they borrow between flushes and reads.
//
// A Pool is safe for concurrent use. The queues of a [Store] share its
// pool, one per job directory; a queue built alone has one of its own.
type Pool struct {
	maxFiles   int
	budget     int64
	readBudget int64

	mu       sync.Mutex
	open     int
	idle     []*diskFile // open, not in use; in no order
	rng      uint64      // xorshift state for picking a file to close
	dirty    list.List   // *Queue holding buffered writes; oldest first
	synced   map[uint64]clock.Mono
	unsynced map[string]unsyncedPath
	readers  list.List // *Queue holding a read buffer; most recent first
	reading  int64     // bytes of those buffers

	readerCount atomic.Int64 // readers.Len(), read without the lock

	buffered atomic.Int64
	counts   struct{ opens, reads, writes, syncs, readBytes, writtenBytes atomic.Int64 }

	ids *disk.IDs
	// writeBufs keeps write buffers that grew large once written, so that
	// thousands of idle queues do not each keep one, and a busy queue does
	// not grow a new one at every flush.
	writeBufs sync.Pool
	// readBufs keeps read buffers by power-of-two size, from 1 KiB to
	// 64 KiB; a larger one (a huge record) is not kept.
	readBufs [7]sync.Pool

	// readOnly pools open files for reading only (Verify).
	readOnly bool

	// openFile opens files; tests replace it to inject errors.
	openFile func(name string, flag int, perm os.FileMode) (disk.File, error)
}

// NewPool returns an empty pool.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.MaxOpenFiles <= 0 {
		cfg.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = DefaultBufferBytes
	}
	if cfg.ReadBufferBytes <= 0 {
		cfg.ReadBufferBytes = DefaultReadBufferBytes
	}
	return &Pool{
		maxFiles:   cfg.MaxOpenFiles,
		budget:     cfg.BufferBytes,
		readBudget: cfg.ReadBufferBytes,
		synced:     map[uint64]clock.Mono{},
		unsynced:   map[string]unsyncedPath{},
		openFile:   disk.OpenRaw,
		ids:        disk.NewIDs(),
	}
}

// OpenFiles returns the number of files the pool holds open.
func (p *Pool) OpenFiles() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

// Buffered returns the bytes the pool's queues hold in memory, not yet written.
func (p *Pool) Buffered() int64 { return p.buffered.Load() }

// diskFile is one file of a queue, open or not. Only the queue that owns it
// uses it, under that queue's lock; the pool may close it while it is idle.
type diskFile struct {
	path string
	f    disk.File
	pins int
	idx  int // index in the pool's idle files, -1 when not idle
}

// acquire returns f's handle, opening the file if needed (creating it when
// create is true), and pins it until release.
func (p *Pool) acquire(df *diskFile, create bool) (disk.File, error) {
	p.mu.Lock()
	if df.f != nil {
		if df.pins == 0 {
			p.unidle(df)
		}
		df.pins++
		p.mu.Unlock()
		return df.f, nil
	}
	var victims []disk.File
	for p.open >= p.maxFiles && len(p.idle) > 0 {
		v := p.idle[p.random(len(p.idle))]
		p.unidle(v)
		victims = append(victims, v.f)
		v.f = nil
		p.open--
	}
	p.open++
	p.mu.Unlock()
	for _, v := range victims {
		_ = v.Close() // read-only use or already handed to the OS: nothing to lose
	}
	flag := os.O_RDWR
	if p.readOnly {
		flag = os.O_RDONLY
	}
	if create {
		flag |= os.O_CREATE | os.O_TRUNC
	}
	f, err := p.openFile(df.path, flag, 0o644)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.open--
		return nil, err
	}
	p.counts.opens.Add(1)
	df.f = countedFile{f, p}
	df.pins++
	return df.f, nil
}

// unidle takes df out of the idle files.
func (p *Pool) unidle(df *diskFile) {
	last := p.idle[len(p.idle)-1]
	p.idle[df.idx], last.idx = last, df.idx
	p.idle = p.idle[:len(p.idle)-1]
	df.idx = -1
}

// random returns a pseudo-random number below n. Files to close are picked
// at random rather than least recently used: a scheduler visits its queues
// in turn, and for a cycle longer than the pool LRU would close every file
// just before its next use, while random choice keeps a share of them.
func (p *Pool) random(n int) int {
	if p.rng == 0 {
		p.rng = 0x9e3779b97f4a7c15
	}
	p.rng ^= p.rng << 13
	p.rng ^= p.rng >> 7
	p.rng ^= p.rng << 17
	return int(p.rng % uint64(n))
}

// release unpins df; it stays open until the pool needs the descriptor.
func (p *Pool) release(df *diskFile) {
	p.mu.Lock()
	df.pins--
	if df.pins == 0 && df.f != nil {
		df.idx = len(p.idle)
		p.idle = append(p.idle, df)
	}
	p.mu.Unlock()
}

// forget closes df if open. If df is pinned, the pin's release finds it
// closed.
func (p *Pool) forget(df *diskFile) error {
	p.mu.Lock()
	f := df.f
	if df.f != nil && df.pins == 0 {
		p.unidle(df)
	}
	if f != nil {
		df.f = nil
		p.open--
	}
	p.mu.Unlock()
	if f != nil {
		return f.Close()
	}
	return nil
}

// account records that q now buffers n bytes instead of q.accounted, and
// keeps q on the dirty list while it buffers anything.
func (p *Pool) account(q *Queue, n int) {
	if d := n - q.accounted; d != 0 {
		p.buffered.Add(int64(d))
		q.accounted = n
	}
	if (n > 0) == (q.dirtyElem != nil) {
		return
	}
	p.mu.Lock()
	if n > 0 {
		q.dirtyElem = p.dirty.PushBack(q)
	} else {
		p.dirty.Remove(q.dirtyElem)
		q.dirtyElem = nil
	}
	p.mu.Unlock()
}

func (p *Pool) overBudget() bool { return p.buffered.Load() > p.budget }

// relieve flushes the queues that buffered first until the pool is back
// under three quarters of its budget, or maxRelieve queues were tried.
// self, whose lock the caller holds, is flushed directly; other queues are
// skipped while in use. Errors of other queues stay with them (they retry at
// their next flush); self's error is returned.
func (p *Pool) relieve(self *Queue, now clock.Mono) error {
	target := p.budget / 4 * 3
	p.mu.Lock()
	n := min(p.dirty.Len(), maxRelieve)
	p.mu.Unlock()
	for i := 0; i < n && p.buffered.Load() > target; i++ {
		p.mu.Lock()
		e := p.dirty.Front()
		if e == nil {
			p.mu.Unlock()
			return nil
		}
		q := e.Value.(*Queue)
		p.dirty.MoveToBack(e)
		p.mu.Unlock()
		if q == self {
			if err := q.flushLocked(now, false, false); err != nil {
				return err
			}
			continue
		}
		if q.mu.TryLock() {
			if q.state == stateReady && q.writeErr == nil {
				_ = q.flushLocked(now, false, false)
			}
			q.mu.Unlock()
		}
	}
	return nil
}

// unsyncedPath is a queue path written to and not fsynced since.
type unsyncedPath struct {
	dev uint64
	at  clock.Mono
}

// noteUnsynced records that path (a LIFO file or a FIFO directory) holds
// writes not yet fsynced, for Sync.
func (p *Pool) noteUnsynced(path string, dev uint64, at clock.Mono) {
	p.mu.Lock()
	if _, ok := p.unsynced[path]; !ok {
		p.unsynced[path] = unsyncedPath{dev: dev, at: at}
	}
	p.mu.Unlock()
}

func (p *Pool) noteSynced(path string) {
	p.mu.Lock()
	delete(p.unsynced, path)
	p.mu.Unlock()
}

// Sync makes every write of the pool's queues durable, open or closed,
// whatever their fsync policy: on Linux one syncfs(2) per file system,
// elsewhere an fsync of every file written. Call it after closing the
// queues when the job must survive a machine crash (a pause).
func (p *Pool) Sync() error {
	p.mu.Lock()
	pending := make(map[string]unsyncedPath, len(p.unsynced))
	for path, u := range p.unsynced {
		if s, ok := p.synced[u.dev]; !ok || s <= u.at {
			pending[path] = u
		}
	}
	p.mu.Unlock()
	done := map[uint64]bool{}
	var errs []error
	for path, u := range pending {
		if recordio.SyncFSCoversAll && done[u.dev] {
			continue
		}
		start := clock.Exact()
		if err := syncPath(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("queues: sync %s: %w", path, err))
			continue
		}
		done[u.dev] = true
		if recordio.SyncFSCoversAll {
			p.markSynced(u.dev, start)
		} else {
			p.noteSynced(path)
		}
	}
	return errors.Join(errs...)
}

// syncPath syncs a queue path: its file system on Linux; elsewhere the file,
// or the directory and every file in it.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if recordio.SyncFSCoversAll {
		return recordio.SyncFS(f)
	}
	names, err := f.Readdirnames(-1)
	if err != nil { // a file
		return f.Sync()
	}
	for _, n := range names {
		g, err := os.OpenFile(filepath.Join(path, n), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		err = g.Sync()
		g.Close()
		if err != nil {
			return err
		}
	}
	return f.Sync()
}

// maxRelieve bounds the queues one call tries to flush for the budget, so
// that queues that cannot write yet (a LIFO queue whose pops are not yet
// durable) do not make every push scan them all.
const maxRelieve = 64

// syncedAfter reports whether file system dev was synced after t began.
func (p *Pool) syncedAfter(dev uint64, t clock.Mono) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.synced[dev]
	return ok && s >= t
}

// markSynced records a syncfs of dev begun at start, which made every path
// of dev written before it durable.
func (p *Pool) markSynced(dev uint64, start clock.Mono) {
	p.mu.Lock()
	if s := p.synced[dev]; start > s {
		p.synced[dev] = start
	}
	for path, u := range p.unsynced {
		if u.dev == dev && u.at < start {
			delete(p.unsynced, path)
		}
	}
	p.mu.Unlock()
}

// PoolStats counts what a pool's queues asked of the file system.
type PoolStats struct {
	Opens, Reads, Writes, Syncs int64
	ReadBytes, WrittenBytes     int64
}

// Stats returns the pool's counters since it was made.
func (p *Pool) Stats() PoolStats {
	c := &p.counts
	return PoolStats{
		Opens: c.opens.Load(), Reads: c.reads.Load(), Writes: c.writes.Load(), Syncs: c.syncs.Load(),
		ReadBytes: c.readBytes.Load(), WrittenBytes: c.writtenBytes.Load(),
	}
}

// countedFile counts a file's reads, writes and syncs in its pool.
type countedFile struct {
	disk.File
	p *Pool
}

func (f countedFile) ReadAt(b []byte, off int64) (int, error) {
	f.p.counts.reads.Add(1)
	n, err := f.File.ReadAt(b, off)
	f.p.counts.readBytes.Add(int64(n))
	return n, err
}

func (f countedFile) WriteAt(b []byte, off int64) (int, error) {
	f.p.counts.writes.Add(1)
	n, err := f.File.WriteAt(b, off)
	f.p.counts.writtenBytes.Add(int64(n))
	return n, err
}

func (f countedFile) Sync() error {
	f.p.counts.syncs.Add(1)
	return f.File.Sync()
}

// SyncFS syncs the file's file system.
func (f countedFile) SyncFS() error {
	f.p.counts.syncs.Add(1)
	return disk.SyncFS(f.File)
}

// writeCursor writes c into its slot of f's header (the slot alternates with
// the cursor's generation), opening f if the pool had closed it.
func (p *Pool) writeCursor(f *diskFile, c recordio.Cursor) error {
	var slot [recordio.CursorSize]byte
	c.AppendTo(slot[:0])
	fh, err := p.acquire(f, false)
	if err != nil {
		return err
	}
	_, err = fh.WriteAt(slot[:], int64(slotOffset(c)))
	p.release(f)
	return err
}

// syncFile fsyncs f, opening it if the pool had closed it.
func (p *Pool) syncFile(f *diskFile) error {
	fh, err := p.acquire(f, false)
	if err != nil {
		return err
	}
	err = fh.Sync()
	p.release(f)
	return err
}

// syncDirs fsyncs the directories in *dirs in order, dropping each once it
// is synced, so that a failure leaves the rest for the next attempt.
func syncDirs(dirs *[]string) error {
	for len(*dirs) > 0 {
		if err := recordio.SyncDir((*dirs)[0]); err != nil {
			return err
		}
		*dirs = (*dirs)[1:]
	}
	return nil
}
