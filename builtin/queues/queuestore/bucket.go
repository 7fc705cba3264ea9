package queuestore

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/clock"
)

// storeBucket is one bucket's state in a Store, under the store's lock.
type storeBucket struct {
	s    *Store
	id   uint64
	rel  string
	lifo bool

	declared bool // its recBucket frame is in the log
	claimed  bool // Store.Bucket asked for it since the store opened
	gone     bool // dropped from the store
	drained  bool // dropped empty: every record popped
	dirty    bool // in s.dirty

	chunks    []chunkRef // on disk, in chunk order
	live      int        // records the chunks hold
	nextChunk uint32

	wbuf  []byte   // buffered records, each a uvarint length then the record
	wends []uint32 // end of each buffered record in wbuf
	wpos  int      // buffered records before wpos are gone (popped or written)
	// wcap is the capacity a new write buffer starts with: a quarter more
	// than the last one held, so that a busy bucket allocates once per
	// flush instead of growing up from a kilobyte.
	wcap uint32

	marks []liveMark // live counts changed since the last flush
	cur   loadedChunk

	// peeked is the request Peek returned, valid while gen is peekGen:
	// every change of the bucket's records counts gen up.
	peeked  *framework.Request
	gen     uint64
	peekGen uint64

	// ahead is its next record, handed to the store's decoder after a pop
	// (see decoder).
	ahead *ahead
}

// liveMark is a chunk's new live count.
type liveMark struct {
	no, live uint32
}

// loadedChunk is the chunk a bucket reads from, parsed.
type loadedChunk struct {
	no   uint32
	ok   bool
	body chunkBody
	// next is the record after the last one read, which starts at byte
	// nextOff: a FIFO reads a chunk's records in order, and finds each
	// without a look at its offset in body.offs (a cache miss per pop, the
	// buckets taking turns).
	next, nextOff uint32
}

// record returns record i of the chunk.
func (l *loadedChunk) record(i int) []byte {
	off := l.nextOff
	if uint32(i) != l.next {
		off = l.body.offs[i]
	}
	rec := l.body.data[off:]
	n, k := binary.Uvarint(rec)
	l.next, l.nextOff = uint32(i)+1, off+uint32(k)+uint32(n)
	return rec[k : k+int(n)]
}

func (b *storeBucket) kind() byte {
	if b.lifo {
		return kindLIFO
	}
	return kindFIFO
}

func (b *storeBucket) buffered() int { return len(b.wends) - b.wpos }

func (b *storeBucket) len() int { return b.live + b.buffered() }

// wstart returns where buffered record i starts in wbuf.
func (b *storeBucket) wstart(i int) int {
	if i == 0 {
		return 0
	}
	return int(b.wends[i-1])
}

// findChunk returns the index of chunk number no in b.chunks, which are in
// number order, and whether it is there.
func (b *storeBucket) findChunk(no uint32) (int, bool) {
	return slices.BinarySearchFunc(b.chunks, no, func(c chunkRef, no uint32) int { return cmp.Compare(c.no, no) })
}

// takeBuffered drops the first n buffered records (written, or popped from a FIFO).
func (b *storeBucket) takeBuffered(n int) {
	b.gen++
	b.wpos += n
	if b.wpos == len(b.wends) {
		b.s.bufPool.give(b)
	}
}

// mark records chunk no's new live count for the next flush.
func (b *storeBucket) mark(no, live uint32) {
	if n := len(b.marks); n > 0 && b.marks[n-1].no == no {
		b.marks[n-1].live = live
	} else {
		b.marks = append(b.marks, liveMark{no: no, live: live})
	}
	b.s.markDirty(b)
}

// Queue is a bucket of a [Store]: a FIFO or LIFO disk queue, as the
// built-in disk queue factories return inside a persistent priority queue.
// It behaves as a filequeue.Queue (Request.Delivery, durability at Flush and
// Close, corrupt records skipped and reported), with its records in the
// store's log.
type Queue struct {
	b      *storeBucket
	key    string
	closed bool
}

var (
	_ framework.Queue   = (*Queue)(nil)
	_ framework.Peeker  = (*Queue)(nil)
	_ framework.Batcher = (*Queue)(nil)
	_ framework.Flusher = (*Queue)(nil)
)

// Key returns the queue's key.
func (q *Queue) Key() string { return q.key }

// usable reports why the queue cannot be used, if it cannot.
func (q *Queue) usable() error {
	switch {
	case q.closed || q.b.gone || q.b.s.closed:
		return fmt.Errorf("queues: disk queue %s: %w", q.key, framework.ErrClosed)
	case q.b.s.readOnly:
		return fmt.Errorf("queues: disk queue %s: the store is open for reading only", q.key)
	}
	return q.b.s.broken
}

// Len returns the number of queued requests.
func (q *Queue) Len() int {
	s := q.b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.closed || q.b.gone {
		return 0
	}
	return q.b.len()
}

// Push adds r. A request the record codec cannot encode is an error
// wrapping [framework.ErrUnserializable] and leaves the queue unchanged, as
// does a failed automatic flush of earlier pushes.
func (q *Queue) Push(r *framework.Request) error {
	s := q.b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now, err := q.beforePush()
	if err != nil {
		return err
	}
	was, from := q.b.len(), len(q.b.wbuf)
	if err := q.appendRecord(r); err != nil {
		return err
	}
	q.buffered(was, from, now)
	return nil
}

// PushBatch adds rs in order; if one of them cannot be encoded, none is
// added and the error names its index.
func (q *Queue) PushBatch(rs []*framework.Request) error {
	s := q.b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now, err := q.beforePush()
	if err != nil {
		return err
	}
	b := q.b
	was, from := b.len(), len(b.wbuf)
	for i, r := range rs {
		if err := q.appendRecord(r); err != nil {
			// Take back the records of the batch already buffered.
			b.wbuf, b.wends = b.wbuf[:from], b.wends[:len(b.wends)-i]
			if len(b.wends) == b.wpos {
				b.takeBuffered(0)
			}
			return fmt.Errorf("request %d of %d: %w", i, len(rs), err)
		}
	}
	if len(rs) > 0 {
		q.buffered(was, from, now)
	}
	return nil
}

// beforePush checks that the queue takes pushes and runs the store's
// automatic flush; it returns the time. The store's lock is held.
func (q *Queue) beforePush() (clock.Mono, error) {
	if err := q.usable(); err != nil {
		return 0, err
	}
	now := clock.Coarse()
	return now, q.b.s.autoFlush(now)
}

// appendRecord encodes r straight into the bucket's write buffer, after its
// uvarint length, and adds it to the buffered records; it leaves the buffer
// as it was when r cannot be encoded. The length's size is guessed from the
// last record's (one byte up to 127 bytes) and the record moved when the
// guess was wrong, so that a record is copied once, not encoded elsewhere
// and copied in.
func (q *Queue) appendRecord(r *framework.Request) error {
	b, s := q.b, q.b.s
	if b.wbuf == nil {
		s.bufPool.take(b)
	}
	start, k := len(b.wbuf), s.bufPool.lenSize
	buf, err := framework.AppendRequest(append(b.wbuf, make([]byte, k)...), r, s.cfg.Spider)
	if err != nil {
		b.wbuf = buf[:start]
		return fmt.Errorf("queues: disk queue %s: %w", q.key, err)
	}
	n := len(buf) - start - k
	if n > storeMaxRecord {
		b.wbuf = buf[:start]
		return fmt.Errorf("queues: disk queue %s: %w: record of %d bytes", q.key, framework.ErrUnserializable, n)
	}
	if need := uvarintSize(n); need != k {
		if need > k {
			buf = append(buf, make([]byte, need-k)...)
		}
		copy(buf[start+need:], buf[start+k:start+k+n])
		buf = buf[:start+need+n]
		s.bufPool.lenSize = need
	}
	binary.PutUvarint(buf[start:], uint64(n))
	b.wbuf = buf
	b.wends = append(b.wends, uint32(len(buf)))
	return nil
}

// uvarintSize returns the size of n's uvarint encoding.
func uvarintSize(n int) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}

// buffered accounts for the records appended to the bucket's write buffer
// from byte from on, the bucket having held was records before them.
func (q *Queue) buffered(was, from int, now clock.Mono) {
	b, s := q.b, q.b.s
	s.buffered += len(b.wbuf) - from
	if len(b.wbuf) >= s.cfg.FlushBytes {
		s.bigBucket = true // written at the next push
	}
	if s.dirtySince == 0 {
		s.dirtySince = now
	}
	s.markDirty(b)
	if b.lifo || was == 0 {
		b.gen++ // the next record changed; a FIFO push leaves the head alone
	}
}

// Pop removes and returns the next request, or (nil, nil) when the queue is
// empty. A record that cannot be read is skipped and reported as a
// [*disk.CorruptRecordError]; the next Pop goes on after it.
func (q *Queue) Pop() (*framework.Request, error) { return q.take(true) }

// Peek returns what Pop would return, without removing it.
func (q *Queue) Peek() (*framework.Request, error) { return q.take(false) }

// PopBatch pops up to max requests, in Pop order.
func (q *Queue) PopBatch(max int) ([]*framework.Request, error) { return disk.PopBatch(q, max) }

// source is where the next record comes from.
type source struct {
	chunk int // index in b.chunks, or -1 for the write buffer
	i     int // record index in the chunk or the buffer
}

func (q *Queue) take(pop bool) (*framework.Request, error) {
	b, s := q.b, q.b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := q.usable(); err != nil {
		return nil, err
	}
	src, ok := b.next()
	if !ok {
		return nil, nil
	}
	r := b.peeked
	if r == nil || b.peekGen != b.gen {
		r = s.takeAhead(b)
	}
	if r == nil {
		var err error
		if r, err = b.decode(src); err != nil {
			b.peeked = nil
			var bad *disk.CorruptRecordError
			if pop && errors.As(err, &bad) && bad.Dropped == 0 {
				s.report(bad.File, bad.Offset, 0, 1, "undecodable record skipped")
				b.advance(src)
			}
			return nil, err
		}
	}
	if pop {
		b.advance(src)
		b.peeked = nil
		s.handOff(b)
	} else {
		b.peeked, b.peekGen = r, b.gen
	}
	return r, nil
}

// next returns where the next record is, without reading it.
func (b *storeBucket) next() (source, bool) {
	switch {
	case b.lifo && b.buffered() > 0:
		return source{chunk: -1, i: len(b.wends) - 1}, true
	case len(b.chunks) > 0:
		if b.lifo {
			c := len(b.chunks) - 1
			return source{chunk: c, i: int(b.chunks[c].live) - 1}, true
		}
		return source{chunk: 0, i: int(b.chunks[0].count - b.chunks[0].live)}, true
	case b.buffered() > 0:
		return source{chunk: -1, i: b.wpos}, true
	}
	return source{}, false
}

// decode reads the record at src. A chunk that cannot be read is reported
// and removed with its records, and a record that does not decode is left
// for the caller to remove: both are a *disk.CorruptRecordError.
func (b *storeBucket) decode(src source) (*framework.Request, error) {
	s := b.s
	if src.chunk < 0 {
		rec := b.wbuf[b.wstart(src.i):b.wends[src.i]]
		_, k := binary.Uvarint(rec)
		r, err := framework.DecodeRequest(rec[k:], s.cfg.Spider)
		if err != nil {
			// Skipped like a record on disk: a record that cannot be read
			// must not stop the queue.
			return nil, &disk.CorruptRecordError{File: b.rel + " (not yet written)", Offset: -1, Err: err}
		}
		r.Delivery = s.ids.Next(1)
		return r, nil
	}
	c := &b.chunks[src.chunk]
	if !b.cur.ok || b.cur.no != c.no {
		if err := b.load(*c); err != nil {
			file, off, lost := s.segPath(c.seg), int64(c.off), int(c.live)
			s.report(file, off, int64(c.size), lost, "unreadable chunk dropped: "+err.Error())
			b.removeChunk(src.chunk)
			return nil, &disk.CorruptRecordError{File: file, Offset: off, Dropped: lost, Err: err}
		}
	}
	r, err := framework.DecodeRequest(b.cur.record(src.i), s.cfg.Spider)
	if err != nil {
		return nil, &disk.CorruptRecordError{File: s.segPath(c.seg), Offset: int64(c.off), Err: err}
	}
	r.Delivery = c.base + uint64(src.i)
	return r, nil
}

// load reads and parses chunk c into b.cur.
func (b *storeBucket) load(c chunkRef) error {
	b.cur = loadedChunk{}
	body, err := b.s.readChunkBody(b, c)
	if err != nil {
		return err
	}
	body.data = bytes.Clone(body.data) // kept beyond the read window's next use
	b.cur = loadedChunk{no: c.no, ok: true, body: body}
	return nil
}

// advance removes the record at src.
func (b *storeBucket) advance(src source) {
	b.gen++
	if src.chunk < 0 {
		b.s.buffered -= int(b.wends[src.i]) - b.wstart(src.i)
		if b.lifo {
			b.wbuf = b.wbuf[:b.wstart(src.i)]
			b.wends = b.wends[:src.i]
			b.takeBuffered(0)
		} else {
			b.takeBuffered(1)
		}
		return
	}
	c := &b.chunks[src.chunk]
	c.live--
	b.live--
	b.mark(c.no, c.live)
	if c.live == 0 {
		b.dropChunk(src.chunk)
	}
}

// removeChunk drops chunk i (the first or the last) with its live records.
func (b *storeBucket) removeChunk(i int) {
	b.gen++
	c := b.chunks[i]
	b.live -= int(c.live)
	b.mark(c.no, 0)
	b.dropChunk(i)
}

// dropChunk forgets chunk i (the first or the last), whose live count is
// marked 0.
func (b *storeBucket) dropChunk(i int) {
	c := b.chunks[i]
	b.s.chunkGone(c)
	if i == 0 {
		b.chunks = b.chunks[1:]
	} else {
		b.chunks = b.chunks[:i]
	}
	if len(b.chunks) == 0 {
		b.chunks = nil
	}
	if b.cur.no == c.no {
		b.cur = loadedChunk{}
	}
}

// Flush writes every buffered request of the store and makes its pops
// durable, fsyncing as the policy says.
func (q *Queue) Flush() error {
	s := q.b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.closed {
		return fmt.Errorf("queues: disk queue %s: %w", q.key, framework.ErrClosed)
	}
	if s.closed {
		return nil
	}
	return s.flushLocked(clock.Exact(), false)
}

// Close closes the queue. An empty queue leaves the store (at the next
// flush); one holding requests keeps them there, for the next Store.Bucket
// of its key. Close is idempotent.
func (q *Queue) Close() error {
	b, s := q.b, q.b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed, b.peeked = true, nil
	s.forgetAhead(b)
	if b.gone || s.closed {
		return nil
	}
	if b.len() == 0 {
		s.dropBucket(b)
		return nil
	}
	b.cur = loadedChunk{}
	return nil
}
