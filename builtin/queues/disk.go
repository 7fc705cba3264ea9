package queues

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// Defaults of [DiskConfig].
const (
	DefaultDiskFlushInterval = 200 * time.Millisecond
	DefaultDiskFlushBytes    = 256 << 10
	DefaultDiskSegmentBytes  = 64 << 20
	DefaultDiskReadAhead     = 16 << 10
)

// Stats keys the disk queues maintain.
const (
	// StatDiskDroppedBytes counts bytes of queue files dropped as torn or corrupt.
	StatDiskDroppedBytes = "scheduler/disk/dropped_bytes"
	// StatDiskDroppedRecords counts records known lost with them.
	StatDiskDroppedRecords = "scheduler/disk/dropped_records"
)

// DiskConfig configures disk queues. The zero value is usable: [DiskConfig.Validate]
// fills in the defaults.
type DiskConfig struct {
	// Fsync is when written data is fsynced (JOBDIR_FSYNC, JOBDIR_FSYNC_INTERVAL).
	Fsync recordio.FsyncPolicy
	// FlushInterval bounds how long a pushed request stays in memory before
	// it is handed to the operating system (JOBDIR_FLUSH_INTERVAL): the first
	// call on the queue after that long flushes it.
	FlushInterval time.Duration
	// FlushBytes flushes a queue whose buffer grows past it.
	FlushBytes int
	// PopCommitDelay is how long a pop may stay undurable before an automatic
	// flush makes it durable (Flush and Close always do). A negative value
	// leaves it to Flush and Close alone. 0 means 5 × FlushInterval.
	PopCommitDelay time.Duration
	// SegmentBytes is the size past which a FIFO queue starts a new segment file.
	SegmentBytes int64
	// ReadAhead is how many bytes a queue reads from its file at a time.
	ReadAhead int
	// Pool is the pool of open files and buffer budget; nil means DefaultDiskPool().
	Pool *DiskPool
	// Spider resolves callback names when requests are encoded and decoded; may be nil.
	Spider *framework.Spider
	// Logger receives reports of dropped bytes; the zero value is silent.
	Logger zerolog.Logger
	// Stats receives StatDiskDroppedBytes and StatDiskDroppedRecords; may be nil.
	Stats framework.Stats
}

// Validate fills in defaults and checks the values.
func (c *DiskConfig) Validate() error {
	switch {
	case c.FlushInterval < 0, c.FlushBytes < 0, c.SegmentBytes < 0, c.ReadAhead < 0, c.Fsync.Interval < 0:
		return fmt.Errorf("%w: disk queue config: negative interval or size", framework.ErrSetting)
	case c.Fsync.Mode < recordio.FsyncInterval || c.Fsync.Mode > recordio.FsyncNever:
		return fmt.Errorf("%w: disk queue config: fsync mode %d", framework.ErrSetting, c.Fsync.Mode)
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultDiskFlushInterval
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = DefaultDiskFlushBytes
	}
	if c.PopCommitDelay == 0 {
		c.PopCommitDelay = 5 * c.FlushInterval
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultDiskSegmentBytes
	}
	if c.SegmentBytes < headerSize+minFrame {
		c.SegmentBytes = headerSize + minFrame
	}
	if c.ReadAhead == 0 {
		c.ReadAhead = DefaultDiskReadAhead
	}
	c.ReadAhead = max(c.ReadAhead, 4<<10)
	if c.Fsync.Interval == 0 {
		c.Fsync.Interval = recordio.DefaultFsyncInterval
	}
	if c.Pool == nil {
		c.Pool = DefaultDiskPool()
	}
	return nil
}

// DiskConfigFromJob returns the disk queue configuration of the job
// directory job (its fsync policy, flush interval and segment size), with
// c's spider, logger and stats. It is validated when a queue or store is
// built from it.
func DiskConfigFromJob(job *framework.JobConfig, c *framework.Crawler) DiskConfig {
	cfg := DiskConfig{Spider: c.Spider, Logger: c.Logger, Stats: c.Stats}
	if job != nil {
		cfg.Fsync, cfg.FlushInterval, cfg.SegmentBytes = job.Fsync, job.FlushInterval, job.SegmentBytes
	}
	return cfg
}

// DiskQueue is a crash-safe request queue on disk, first in first out or
// last in first out: Scrapy's PickleFifoDiskQueue and PickleLifoDiskQueue
// without their traps. Requests are stored with [framework.AppendRequest]
// in length- and checksum-framed records (docs/jobdir-queues.md).
//
// Building a DiskQueue does no I/O: the files are read at the first Push,
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
// from the clock at start-up, so a clock set back across a restart by more
// than the previous run's length could repeat one).
//
// A LIFO queue that holds pops not yet durable writes new pushes only when it
// makes those pops durable too, so that a pop is never durable before its
// owner had the chance to record it: until PopCommitDelay passes or the
// buffer reaches four times FlushBytes, such pushes wait for Flush.
//
// Callers serialise calls, as for every queue; a DiskQueue still locks
// itself, because its pool may flush it from another queue's call.
type DiskQueue struct {
	mu    sync.Mutex
	path  string
	cfg   *DiskConfig
	pool  *DiskPool
	lay   layout
	state uint8

	wbuf      []byte
	accounted int
	dirtyElem *list.Element
	readHeld  int // bytes of read buffer the pool counts for this queue
	readElem  *list.Element

	dirtySince    mono   // first buffered push not yet written
	popsSince     mono   // first pop not yet durable
	unsyncedSince mono   // first write not yet fsynced
	dev           uint64 // file system of the queue's files
	writeErr      error  // last failed write, cleared by a successful one

	peeked *framework.Request

	// readOnly queues (VerifyDiskQueue) never write, and send what they
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
	_ framework.Queue   = (*DiskQueue)(nil)
	_ framework.Peeker  = (*DiskQueue)(nil)
	_ framework.Batcher = (*DiskQueue)(nil)
	_ framework.Flusher = (*DiskQueue)(nil)
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

// NewFifoDiskQueue returns a FIFO disk queue kept in the directory path,
// created at the first write. It does no I/O.
func NewFifoDiskQueue(path string, cfg DiskConfig) (*DiskQueue, error) {
	return newDiskQueue(path, false, cfg)
}

// NewLifoDiskQueue returns a LIFO disk queue kept in the file path, created
// at the first write. It does no I/O.
func NewLifoDiskQueue(path string, cfg DiskConfig) (*DiskQueue, error) {
	return newDiskQueue(path, true, cfg)
}

func newDiskQueue(path string, lifo bool, cfg DiskConfig) (*DiskQueue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newDiskQueueShared(path, lifo, &cfg)
}

// newDiskQueueShared builds a queue over a validated config it may share.
func newDiskQueueShared(path string, lifo bool, cfg *DiskConfig) (*DiskQueue, error) {
	if path == "" {
		return nil, ErrDiskQueueKey
	}
	q := &DiskQueue{path: path, cfg: cfg, pool: cfg.Pool}
	if lifo {
		q.lay = &lifoLayout{q: q, file: diskFile{path: path}, rb: readBuf{q: q}}
	} else {
		q.lay = &fifoLayout{q: q, dir: path, rb: readBuf{q: q}}
	}
	return q, nil
}

// DiskQueueFactory returns the registry factory of LIFO (lifo true) or FIFO
// disk queues. Inside a persistent priority queue (cfg.Store set), a queue
// is a bucket of the priority queue's store; otherwise it is a queue of its
// own at the path cfg.Key, configured by cfg.Job ([DiskConfigFromJob]).
func DiskQueueFactory(lifo bool) framework.QueueFactory {
	return func(_ context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
		if cfg.Store != nil {
			return cfg.Store.Bucket(cfg.Key, lifo)
		}
		return newDiskQueue(cfg.Key, lifo, DiskConfigFromJob(cfg.Job, c))
	}
}

var (
	fifoDiskFactory = DiskQueueFactory(false)
	lifoDiskFactory = DiskQueueFactory(true)
)

// FifoDiskFactory builds FIFO disk queues (Scrapy's PickleFifoDiskQueue and
// MarshalFifoDiskQueue); the key is the queue's directory.
func FifoDiskFactory(ctx context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
	return fifoDiskFactory(ctx, c, cfg)
}

// LifoDiskFactory builds LIFO disk queues (Scrapy's PickleLifoDiskQueue and
// MarshalLifoDiskQueue); the key is the queue's file.
func LifoDiskFactory(ctx context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
	return lifoDiskFactory(ctx, c, cfg)
}

// Path returns the queue's path: a directory for FIFO, a file for LIFO.
func (q *DiskQueue) Path() string { return q.path }

// ready loads the queue on first use.
func (q *DiskQueue) ready() error {
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
func (q *DiskQueue) Len() int {
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

// Push adds r. A request the record codec cannot encode is an error
// wrapping [framework.ErrUnserializable] and leaves the queue unchanged, as
// does an error writing earlier buffered requests.
func (q *DiskQueue) Push(r *framework.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.ready(); err != nil {
		return err
	}
	now := clockNow()
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
func (q *DiskQueue) PushBatch(rs []*framework.Request) error {
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
	now := clockNow()
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
func (q *DiskQueue) push(r *framework.Request) error {
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
func (q *DiskQueue) endFrame(b []byte, fs, start int) error {
	b, err := recordio.End(b, fs, recordio.Meta{ID: nextDeliveryID(), Seq: q.lay.seq()})
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
func (q *DiskQueue) beforeWrite(now mono) error {
	if err := q.autoFlush(now); err != nil {
		return err
	}
	if q.pool.overBudget() {
		return q.pool.relieve(q, now)
	}
	return nil
}

// afterWrite notes a buffer that became dirty and tells the pool its size.
func (q *DiskQueue) afterWrite(now mono) {
	if len(q.wbuf) > 0 && q.dirtySince == 0 {
		q.dirtySince = now
	}
	q.pool.account(q, len(q.wbuf))
}

// Pop removes and returns the next request, or (nil, nil) when the queue is
// empty. A record that cannot be read is skipped and reported as a
// [*CorruptRecordError]; the next Pop goes on after it.
func (q *DiskQueue) Pop() (*framework.Request, error) { return q.take(true) }

// Peek returns what Pop would return, without removing it.
func (q *DiskQueue) Peek() (*framework.Request, error) { return q.take(false) }

// PopBatch pops up to max requests, in Pop order.
func (q *DiskQueue) PopBatch(max int) ([]*framework.Request, error) { return popBatch(q, max) }

func (q *DiskQueue) take(pop bool) (*framework.Request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.ready(); err != nil {
		return nil, err
	}
	now := clockNow()
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
		return nil, &CorruptRecordError{File: file, Offset: off, Err: err}
	}
	r.Delivery = fr.ID
	if !pop {
		q.peeked = r
	}
	return r, nil
}

// Flush hands every buffered request to the operating system, makes pops
// durable, and fsyncs as the policy says.
func (q *DiskQueue) Flush() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch q.state {
	case stateNew:
		return nil
	case stateClosed:
		return fmt.Errorf("queues: disk queue %s: %w", q.path, framework.ErrClosed)
	}
	return q.flushLocked(exactNow(), true, false)
}

// Close flushes the queue and closes its files. An empty queue removes its
// files (a FIFO queue its directory too). A queue never used does no I/O.
// Close is idempotent.
func (q *DiskQueue) Close() error {
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
		err = q.flushLocked(exactNow(), true, true)
	}
	err = errors.Join(err, q.lay.release())
	q.wbuf, q.peeked = nil, nil
	q.pool.account(q, 0)
	q.state = stateClosed
	return err
}

// autoFlush flushes what is due at now.
func (q *DiskQueue) autoFlush(now mono) error {
	data := len(q.wbuf) > 0 && (len(q.wbuf) >= q.cfg.FlushBytes || q.dirtySince.Since(now) >= q.cfg.FlushInterval)
	pops := q.popCommitDue(now)
	sync := q.unsyncedSince != 0 && q.cfg.Fsync.Mode == recordio.FsyncInterval && q.fsyncDue(now)
	if !data && !pops && !sync {
		return nil
	}
	return q.flushLocked(now, false, false)
}

func (q *DiskQueue) popCommitDue(now mono) bool {
	if !q.lay.pendingPops() {
		return false
	}
	if len(q.wbuf) >= 4*q.cfg.FlushBytes {
		return true
	}
	return q.cfg.PopCommitDelay >= 0 && q.popsSince != 0 && q.popsSince.Since(now) >= q.cfg.PopCommitDelay
}

// flushLocked writes the buffer and fsyncs as the policy says. explicit
// (Flush, Close) also makes every pop durable; final is Close's.
func (q *DiskQueue) flushLocked(now mono, explicit, final bool) error {
	commit := explicit || q.popCommitDue(now)
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

// fsyncDue reports whether the policy wants the unsynced writes fsynced now.
func (q *DiskQueue) fsyncDue(now mono) bool {
	switch q.cfg.Fsync.Mode {
	case recordio.FsyncAlways:
		return true
	case recordio.FsyncNever:
		return false
	}
	return q.unsyncedSince.Since(now) >= q.cfg.Fsync.Interval
}

// sync makes everything written so far durable.
func (q *DiskQueue) sync() error {
	var err error
	switch {
	case q.cfg.Fsync.Mode == recordio.FsyncAlways || !recordio.SyncFSCoversAll:
		err = q.lay.syncFiles()
	case !q.pool.syncedAfter(q.dev, q.unsyncedSince):
		df := q.lay.anyFile()
		if df == nil {
			break
		}
		var f fileHandle
		if f, err = q.pool.acquire(df, false); err != nil {
			break
		}
		start := exactNow()
		err = syncFS(f)
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

// Write buffers that grew large go back to a pool once written, so that
// thousands of idle queues do not each keep one, and a busy queue does not
// grow a new one at every flush.
var writeBufs sync.Pool

const keptWriteBuffer = 4 << 10

// putBuffer hands a written buffer that grew large back to the pool.
func (q *DiskQueue) putBuffer() {
	if c := cap(q.wbuf); c > keptWriteBuffer && c <= 4*q.cfg.FlushBytes {
		b := q.wbuf[:0]
		writeBufs.Put(&b)
		q.wbuf = nil
	} else if c > keptWriteBuffer {
		q.wbuf = nil
	}
}

// growBuffer makes sure the write buffer can take a frame without many
// reallocations.
func (q *DiskQueue) growBuffer() {
	if cap(q.wbuf)-len(q.wbuf) >= 1<<10 || len(q.wbuf) > 0 {
		return
	}
	if p, ok := writeBufs.Get().(*[]byte); ok {
		q.wbuf = (*p)[:0]
	}
}

// report logs and counts bytes dropped from a queue file.
func (q *DiskQueue) report(file string, off, bytes int64, records int, what string) {
	if q.onReport != nil {
		q.onReport(file, off, bytes, records, what)
		return
	}
	reportDropped(q.cfg, "queue", q.path, file, off, bytes, records, "disk queue: "+what)
}

// reportDropped logs bytes and records a queue dropped from file, named by
// key (the queue's path, or the store's directory), and counts them in
// cfg's stats.
func reportDropped(cfg *DiskConfig, key, name, file string, off, bytes int64, records int, msg string) {
	cfg.Logger.Warn().Str(key, name).Str("file", file).Int64("offset", off).
		Int64("dropped_bytes", bytes).Int("dropped_records", records).Msg(msg)
	if st := cfg.Stats; st != nil {
		if bytes > 0 {
			st.Inc(StatDiskDroppedBytes, bytes)
		}
		if records > 0 {
			st.Inc(StatDiskDroppedRecords, int64(records))
		}
	}
}

// Delivery identifiers: the clock at start-up, then counting up, and moved
// past any identifier found on disk. A push takes far longer than a
// nanosecond, so identifiers stay behind the clock and a later process
// starts past every one an earlier process gave.
var deliveryIDs struct {
	once sync.Once
	next atomic.Uint64
}

const maxDeliveryID = 1 << 62

func initDeliveryIDs() {
	deliveryIDs.once.Do(func() { deliveryIDs.next.Store(uint64(time.Now().UnixNano())) })
}

func nextDeliveryID() uint64 { return nextDeliveryIDs(1) }

// nextDeliveryIDs takes n consecutive identifiers and returns the first.
func nextDeliveryIDs(n uint64) uint64 {
	initDeliveryIDs()
	return deliveryIDs.next.Add(n) - n + 1
}

// sawDeliveryID moves the identifiers past id, found on disk. An id
// beyond any clock reading (nanoseconds since 1970 stay under 2^62 until
// 2116) did not come from a frontier process and is ignored, so that a
// crafted file cannot make the identifiers wrap around.
func sawDeliveryID(id uint64) {
	if id >= maxDeliveryID {
		return
	}
	initDeliveryIDs()
	for {
		cur := deliveryIDs.next.Load()
		if cur >= id || deliveryIDs.next.CompareAndSwap(cur, id) {
			return
		}
	}
}
