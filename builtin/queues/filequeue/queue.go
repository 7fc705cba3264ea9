package filequeue

import (
	"container/list"
	"errors"
	"fmt"
	"sync"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/clock"
	"github.com/frontier-go/frontier/internal/recordio"
)

// Queue is a crash-safe request queue on disk, first in first out or
// last in first out: Scrapy's PickleFifoDiskQueue and PickleLifoDiskQueue
// without their traps. Requests are stored with [framework.AppendRequest]
// in length- and checksum-framed records (docs/jobdir-queues.md).
//
// Building a Queue does no I/O: the files are read at the first Push,
// Pop, Peek or Len, so opening thousands of queues on resume costs nothing
// until they are used, and a queue's state is recovered from its own files
// (a FIFO's segment header cursor and last record, a LIFO's last record),
// never from anything written only at close.
//
// Durability. Pushes are buffered in memory and handed to the operating
// system in one write (group commit) at Flush, at Close, when the buffer
// passes FlushBytes or the pool's budget, and by the first call after
// FlushInterval; a queue nobody calls keeps its buffer until Flush or Close.
// A pop is made durable (FIFO: the head cursor rewritten, used segments
// deleted; LIFO: the file truncated) at Flush and Close, and by an automatic
// flush once it is PopCommitDelay old. After a crash, every record pushed
// and flushed is there, except those whose pop was made durable; a record
// whose pop was not yet durable is delivered again, with the same
// Request.Delivery. Nothing else comes back. Fsyncs follow the Fsync policy,
// so a machine crash can lose what was written since the last fsync.
//
// Request.Delivery is set on every request Pop and Peek return: an
// identifier stored with the record, the same after a crash, and never given
// to another record of any queue in this process or later ones (it derives
// from the clock when the queue's pool was made, and is moved past every
// identifier its files hold, so a clock set back across a restart by more
// than the previous run's length could repeat one). The identifiers belong
// to the queue's [Pool]: queues of one pool (the buckets of one [Store])
// never share one; a queue standing alone ([NewFifo], [NewLifo]) has a pool,
// and identifiers, of its own.
//
// A LIFO queue that holds pops not yet durable writes new pushes only when it
// makes those pops durable too, so that a pop is never durable before its
// owner had the chance to record it: until PopCommitDelay passes or the
// buffer reaches four times FlushBytes, such pushes wait for Flush.
//
// Callers serialise calls, as for every queue; a Queue still locks
// itself, because its pool may flush it from another queue's call.
type Queue struct {
	mu    sync.Mutex
	path  string
	cfg   *disk.Config
	pool  *Pool
	lay   layout
	state uint8

	wbuf      []byte
	accounted int
	dirtyElem *list.Element
	readHeld  int // bytes of read buffer the pool counts for this queue
	readElem  *list.Element

	dirtySince    clock.Mono // first buffered push not yet written
	popsSince     clock.Mono // first pop not yet durable
	unsyncedSince clock.Mono // first write not yet fsynced
	dev           uint64     // file system of the queue's files
	writeErr      error      // last failed write, cleared by a successful one

	peeked *framework.Request

	// readOnly queues (Verify) never write, and send what they
	// would report to onReport instead of the log.
	readOnly bool
	onReport func(file string, off, bytes int64, records int, what string)
}

const (
	stateNew uint8 = iota
	stateReady
	stateClosed
)

var (
	_ framework.Queue   = (*Queue)(nil)
	_ framework.Peeker  = (*Queue)(nil)
	_ framework.Batcher = (*Queue)(nil)
	_ framework.Flusher = (*Queue)(nil)
)

// layout is a queue's file layout: where frames go and come from.
type layout interface {
	// load reads the queue's state from its files.
	load() error
	count() int
	// seq is the seq the next pushed frame carries.
	seq() uint32
	// pushed records the frame appended at q.wbuf[start:]; on error the
	// frame is no longer in q.wbuf.
	pushed(start int) error
	// next returns the next frame, removing it when pop is true, with the
	// file and offset it came from; ok is false when the queue is empty.
	next(pop bool) (fr recordio.Frame, file string, off int64, ok bool, err error)
	// flush writes q.wbuf, and makes pops durable when commit is true;
	// final is Close's flush. It reports whether anything was written.
	flush(commit, final bool) (bool, error)
	pendingPops() bool
	// remove deletes the files of an empty queue.
	remove() error
	// syncFiles fsyncs what was written since the last sync; syncAny
	// returns a file of the queue to sync its whole file system through.
	syncFiles() error
	anyFile() *diskFile
	// release closes the queue's files.
	release() error
	// footprint returns the number of files and their bytes on disk.
	footprint() (files int, bytes int64)
	// dropReadBuffer gives the read buffer back (the pool's read budget).
	dropReadBuffer()
	// settle gives back a read buffer the last frame emptied, once that
	// frame is no longer used.
	settle()
}

// NewFifo returns a FIFO disk queue kept in the directory path, created at
// the first write. It does no I/O. The queue stands alone: it gets a [Pool]
// of its own, and with it delivery identifiers of its own (never repeated
// within the queue, nor across processes); queues that share descriptors and
// budgets, and never repeat each other's identifiers, come from one [Store].
func NewFifo(path string, cfg disk.Config) (*Queue, error) {
	return newStandalone(path, false, cfg)
}

// NewLifo returns a LIFO disk queue kept in the file path, created at the
// first write. It does no I/O. Like [NewFifo]'s, the queue has a pool of its
// own.
func NewLifo(path string, cfg disk.Config) (*Queue, error) {
	return newStandalone(path, true, cfg)
}

func newStandalone(path string, lifo bool, cfg disk.Config) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newQueue(path, lifo, &cfg, NewPool(PoolConfig{}))
}

// newQueue builds a queue in pool over a validated config it may share.
func newQueue(path string, lifo bool, cfg *disk.Config, pool *Pool) (*Queue, error) {
	if path == "" {
		return nil, ErrKey
	}
	q := &Queue{path: path, cfg: cfg, pool: pool}
	if lifo {
		q.lay = &lifoLayout{q: q, file: diskFile{path: path}, rb: readBuf{q: q}}
	} else {
		q.lay = &fifoLayout{q: q, dir: path, rb: readBuf{q: q}}
	}
	return q, nil
}

// Config returns the queue's validated configuration.
func (q *Queue) Config() disk.Config { return *q.cfg }

// Path returns the queue's path: a directory for FIFO, a file for LIFO.
func (q *Queue) Path() string { return q.path }

// ready loads the queue on first use.
func (q *Queue) ready() error {
	switch q.state {
	case stateReady:
		return nil
	case stateClosed:
		return fmt.Errorf("queues: disk queue %s: %w", q.path, framework.ErrClosed)
	}
	if err := q.lay.load(); err != nil {
		_ = q.lay.release()
		return fmt.Errorf("queues: open disk queue %s: %w", q.path, err)
	}
	q.state = stateReady
	return nil
}

// Len returns the number of queued requests, reading the queue's files at
// the first call. A queue that cannot be read reports 0 (the error comes
// from the next Pop) and keeps its files.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.ready(); err != nil {
		if q.state != stateClosed {
			q.cfg.Logger.Error().Err(err).Str("queue", q.path).Msg("disk queue unreadable")
		}
		return 0
	}
	return q.lay.count()
}

// LoadError returns why the queue's files cannot be read (nil when they
// can, or the queue is closed), reading them at the first call as Len does.
func (q *Queue) LoadError() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state == stateClosed {
		return nil
	}
	return q.ready()
}

// Push adds r. A request the record codec cannot encode is an error
// wrapping [framework.ErrUnserializable] and leaves the queue unchanged, as
// does an error writing earlier buffered requests.
func (q *Queue) Push(r *framework.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.ready(); err != nil {
		return err
	}
	now := clock.Coarse()
	if err := q.beforeWrite(now); err != nil {
		return err
	}
	q.growBuffer()
	err := q.push(r)
	q.afterWrite(now)
	return err
}

// PushBatch adds rs in order. If one of them cannot be encoded, none is
// added and the error names its index. An error writing to disk part way
// (only when a FIFO segment fills up) leaves the requests before it added.
func (q *Queue) PushBatch(rs []*framework.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.ready(); err != nil {
		return err
	}
	// Encode everything first, so that an unserializable request changes nothing.
	var scratch []byte
	ends := make([]int, len(rs))
	for i, r := range rs {
		var err error
		if scratch, err = framework.AppendRequest(scratch, r, q.cfg.Spider); err != nil {
			return fmt.Errorf("queues: disk queue %s: request %d of %d: %w", q.path, i, len(rs), err)
		}
		if n := len(scratch) - lastEnd(ends, i); n > recordio.MaxPayload {
			return fmt.Errorf("queues: disk queue %s: request %d of %d: %w: record of %d bytes", q.path, i, len(rs), framework.ErrUnserializable, n)
		}
		ends[i] = len(scratch)
	}
	now := clock.Coarse()
	if err := q.beforeWrite(now); err != nil {
		return err
	}
	defer q.afterWrite(now)
	for i := range rs {
		start := len(q.wbuf)
		b, fs := recordio.Begin(q.wbuf)
		b = append(b, scratch[lastEnd(ends, i):ends[i]]...)
		if err := q.endFrame(b, fs, start); err != nil {
			return fmt.Errorf("queues: disk queue %s: pushed %d of %d: %w", q.path, i, len(rs), err)
		}
	}
	return nil
}

func lastEnd(ends []int, i int) int {
	if i == 0 {
		return 0
	}
	return ends[i-1]
}

// push encodes r as a frame at the end of the buffer.
func (q *Queue) push(r *framework.Request) error {
	start := len(q.wbuf)
	b, fs := recordio.Begin(q.wbuf)
	b, err := framework.AppendRequest(b, r, q.cfg.Spider)
	if err != nil {
		q.wbuf = b[:start]
		return fmt.Errorf("queues: disk queue %s: %w", q.path, err)
	}
	return q.endFrame(b, fs, start)
}

// endFrame completes the frame b[fs:] and hands it to the layout.
func (q *Queue) endFrame(b []byte, fs, start int) error {
	b, err := recordio.End(b, fs, recordio.Meta{ID: q.pool.ids.Next(1), Seq: q.lay.seq()})
	if err != nil {
		q.wbuf = b[:start]
		return fmt.Errorf("queues: disk queue %s: %w: %w", q.path, framework.ErrUnserializable, err)
	}
	q.wbuf = b
	if err := q.lay.pushed(start); err != nil {
		return err
	}
	q.peeked = nil
	return nil
}

// beforeWrite runs the automatic flush and the pool's budget before a push.
func (q *Queue) beforeWrite(now clock.Mono) error {
	if err := q.autoFlush(now); err != nil {
		return err
	}
	if q.pool.overBudget() {
		return q.pool.relieve(q, now)
	}
	return nil
}

// afterWrite notes a buffer that became dirty and tells the pool its size.
func (q *Queue) afterWrite(now clock.Mono) {
	if len(q.wbuf) > 0 && q.dirtySince == 0 {
		q.dirtySince = now
	}
	q.pool.account(q, len(q.wbuf))
}

// Pop removes and returns the next request, or (nil, nil) when the queue is
// empty. A record that cannot be read is skipped and reported as a
// [*disk.CorruptRecordError]; the next Pop goes on after it.
func (q *Queue) Pop() (*framework.Request, error) { return q.take(true) }

// Peek returns what Pop would return, without removing it.
func (q *Queue) Peek() (*framework.Request, error) { return q.take(false) }

// PopBatch pops up to max requests, in Pop order.
func (q *Queue) PopBatch(max int) ([]*framework.Request, error) { return disk.PopBatch(q, max) }

func (q *Queue) take(pop bool) (*framework.Request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.ready(); err != nil {
		return nil, err
	}
	now := clock.Coarse()
	if err := q.autoFlush(now); err != nil {
		return nil, err
	}
	defer q.pool.account(q, len(q.wbuf))
	fr, file, off, ok, err := q.lay.next(pop)
	defer q.lay.settle() // fr.Payload may point into the read buffer
	if pop && q.popsSince == 0 && q.lay.pendingPops() {
		q.popsSince = now
	}
	if err != nil || !ok {
		q.peeked = nil
		return nil, err
	}
	if r := q.peeked; r != nil {
		if pop {
			q.peeked = nil
		}
		return r, nil
	}
	r, err := framework.DecodeRequest(fr.Payload, q.cfg.Spider)
	if err != nil {
		if pop {
			q.report(file, off, 0, 1, "undecodable record skipped")
		}
		return nil, &disk.CorruptRecordError{File: file, Offset: off, Err: err}
	}
	r.Delivery = fr.ID
	if !pop {
		q.peeked = r
	}
	return r, nil
}

// Flush hands every buffered request to the operating system, makes pops
// durable, and fsyncs as the policy says.
func (q *Queue) Flush() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch q.state {
	case stateNew:
		return nil
	case stateClosed:
		return fmt.Errorf("queues: disk queue %s: %w", q.path, framework.ErrClosed)
	}
	return q.flushLocked(clock.Exact(), true, false)
}

// Close flushes the queue and closes its files. An empty queue removes its
// files (a FIFO queue its directory too). A queue never used does no I/O.
// Close is idempotent.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state != stateReady {
		q.state = stateClosed
		return nil
	}
	var err error
	if q.lay.count() == 0 {
		// Everything was popped: nothing to write, the files go.
		q.wbuf = q.wbuf[:0]
		err = q.lay.remove()
		q.pool.noteSynced(q.path)
	} else {
		err = q.flushLocked(clock.Exact(), true, true)
	}
	err = errors.Join(err, q.lay.release())
	q.wbuf, q.peeked = nil, nil
	q.pool.account(q, 0)
	q.state = stateClosed
	return err
}

// autoFlush flushes what is due at now.
func (q *Queue) autoFlush(now clock.Mono) error {
	data := len(q.wbuf) > 0 && (len(q.wbuf) >= q.cfg.FlushBytes || q.dirtySince.Since(now) >= q.cfg.FlushInterval)
	pops := q.popCommitDue(now)
	sync := q.unsyncedSince != 0 && q.cfg.Fsync.Mode == recordio.FsyncInterval && q.fsyncDue(now)
	if !data && !pops && !sync {
		return nil
	}
	return q.flushLocked(now, false, false)
}

func (q *Queue) popCommitDue(now clock.Mono) bool {
	if !q.lay.pendingPops() || q.popsDeferred(false) {
		return false
	}
	if len(q.wbuf) >= 4*q.cfg.FlushBytes {
		return true
	}
	return q.cfg.PopCommitDelay >= 0 && q.popsSince != 0 && q.popsSince.Since(now) >= q.cfg.PopCommitDelay
}

// flushLocked writes the buffer and fsyncs as the policy says. explicit
// (Flush, Close) also makes every pop durable; final is Close's.
func (q *Queue) flushLocked(now clock.Mono, explicit, final bool) error {
	commit := (explicit && !q.popsDeferred(final)) || q.popCommitDue(now)
	wrote, err := q.lay.flush(commit, final)
	q.pool.account(q, len(q.wbuf))
	if err != nil {
		q.writeErr = err
		return err
	}
	q.writeErr = nil
	if len(q.wbuf) == 0 {
		q.dirtySince = 0
		q.putBuffer()
	}
	if !q.lay.pendingPops() {
		q.popsSince = 0
	}
	if wrote && q.unsyncedSince == 0 {
		q.unsyncedSince = now
		if q.cfg.Fsync.Mode != recordio.FsyncAlways {
			q.pool.noteUnsynced(q.path, q.dev, now)
		}
	}
	if q.unsyncedSince == 0 || !q.fsyncDue(now) {
		return nil
	}
	return q.sync()
}

// popsDeferred reports whether a flush leaves the pops uncommitted (the
// head cursor, a LIFO's truncation, segments popped to their end): under
// JOBDIR_FSYNC=interval, between two ticks of the job's shared clock, the
// in-flight journal's records of the deliveries are not yet fsynced, and a
// pop written now could reach the disk before them at a power cut. The next
// tick's flush, or Close (final), commits them. A LIFO whose pushes would
// overwrite records popped since the last commit commits anyway: the pushes
// of a returned Flush must survive the death of the process.
func (q *Queue) popsDeferred(final bool) bool {
	if final || !q.cfg.Fsync.Deferred() {
		return false
	}
	_, lifo := q.lay.(*lifoLayout)
	return !lifo || len(q.wbuf) == 0
}

// fsyncDue reports whether the policy wants the unsynced writes fsynced now.
func (q *Queue) fsyncDue(now clock.Mono) bool {
	return q.cfg.Fsync.DueAfter(q.unsyncedSince.Since(now))
}

// sync makes everything written so far durable.
func (q *Queue) sync() error {
	var err error
	switch {
	case q.cfg.Fsync.Mode == recordio.FsyncAlways || !recordio.SyncFSCoversAll:
		err = q.lay.syncFiles()
	case !q.pool.syncedAfter(q.dev, q.unsyncedSince):
		df := q.lay.anyFile()
		if df == nil {
			break
		}
		var f disk.File
		if f, err = q.pool.acquire(df, false); err != nil {
			break
		}
		start := clock.Exact()
		err = disk.SyncFS(f)
		q.pool.release(df)
		if err == nil {
			q.pool.markSynced(q.dev, start)
		}
	}
	if err != nil {
		return fmt.Errorf("queues: disk queue %s: fsync: %w", q.path, err)
	}
	q.unsyncedSince = 0
	if q.cfg.Fsync.Mode == recordio.FsyncAlways || !recordio.SyncFSCoversAll {
		q.pool.noteSynced(q.path)
	}
	return nil
}

const keptWriteBuffer = 4 << 10

// putBuffer hands a written buffer that grew large back to the pool.
func (q *Queue) putBuffer() {
	if c := cap(q.wbuf); c > keptWriteBuffer && c <= 4*q.cfg.FlushBytes {
		b := q.wbuf[:0]
		q.pool.writeBufs.Put(&b)
		q.wbuf = nil
	} else if c > keptWriteBuffer {
		q.wbuf = nil
	}
}

// growBuffer makes sure the write buffer can take a frame without many
// reallocations.
func (q *Queue) growBuffer() {
	if cap(q.wbuf)-len(q.wbuf) >= 1<<10 || len(q.wbuf) > 0 {
		return
	}
	if p, ok := q.pool.writeBufs.Get().(*[]byte); ok {
		q.wbuf = (*p)[:0]
	}
}

// report logs and counts bytes dropped from a queue file.
func (q *Queue) report(file string, off, bytes int64, records int, what string) {
	if q.onReport != nil {
		q.onReport(file, off, bytes, records, what)
		return
	}
	disk.ReportDropped(q.cfg, "queue", q.path, file, off, bytes, records, "disk queue: "+what)
}
