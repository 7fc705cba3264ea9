package filequeue

// readBuf caches bytes [off, off+len(b)) of one of its queue's files. Its
// storage comes from its queue's pool and counts against the queue pool's
// read budget, so that thousands of queues popped in turn do not each keep
// a buffer.
type readBuf struct {
	q    *Queue
	file *diskFile
	off  int64
	b    []byte
	p    *[]byte // pooled storage of b
	// spent marks a buffer read to its end; it is given back by settle,
	// once the caller is done with the last frame read from it.
	spent bool
}

func readBufClass(n int) int {
	c := 0
	for size := minReadAhead; size < n; size *= 2 {
		c++
	}
	return c
}

func (p *Pool) getReadBuf(n int) *[]byte {
	c := readBufClass(n)
	if c < len(p.readBufs) {
		if b, ok := p.readBufs[c].Get().(*[]byte); ok {
			return b
		}
		b := make([]byte, minReadAhead<<c)
		return &b
	}
	b := make([]byte, n)
	return &b
}

func (p *Pool) putReadBuf(b *[]byte) {
	if c := readBufClass(cap(*b)); c < len(p.readBufs) && cap(*b) == minReadAhead<<c {
		p.readBufs[c].Put(b)
	}
}

// at returns the cached bytes from off, if the buffer holds file at off.
func (rb *readBuf) at(file *diskFile, off int64) ([]byte, bool) {
	if rb.file != file || off < rb.off || off >= rb.off+int64(len(rb.b)) {
		return nil, false
	}
	return rb.b[off-rb.off:], true
}

// take returns a buffer of n bytes for file's bytes from off.
func (rb *readBuf) take(file *diskFile, off int64, n int) []byte {
	rb.spent = false
	if rb.p != nil && (cap(*rb.p) < n || cap(*rb.p) > 2*n && cap(*rb.p) > minReadAhead) {
		rb.q.pool.putReadBuf(rb.p)
		rb.p = nil
	}
	if rb.p == nil {
		rb.p = rb.q.pool.getReadBuf(n)
	}
	rb.file, rb.off, rb.b = file, off, (*rb.p)[:n]
	rb.q.pool.holdRead(rb.q, cap(*rb.p))
	return rb.b
}

// consumed marks the buffer spent once the head has passed its end.
func (rb *readBuf) consumed(head int64) {
	if rb.b != nil && head >= rb.off+int64(len(rb.b)) {
		rb.spent = true
	}
}

// settle gives a spent buffer back. A frame returned by a pop aliases the
// buffer, so the buffer may go back to the pool (and to another queue) only
// after the frame was decoded.
func (rb *readBuf) settle() {
	if rb.spent {
		rb.drop()
	}
}

func (rb *readBuf) drop() {
	rb.spent = false
	if rb.p != nil {
		rb.q.pool.holdRead(rb.q, 0)
		rb.q.pool.putReadBuf(rb.p)
	}
	rb.file, rb.b, rb.p = nil, nil, nil
}

// holdRead records that q holds n bytes of read buffer (0: none), and when
// the pool is over its read budget makes the queues that read least
// recently give theirs back (those in use are skipped).
func (p *Pool) holdRead(q *Queue, n int) {
	p.mu.Lock()
	p.reading += int64(n - q.readHeld)
	q.readHeld = n
	switch {
	case n == 0 && q.readElem != nil:
		p.readers.Remove(q.readElem)
		q.readElem = nil
	case n == 0:
	case q.readElem == nil:
		q.readElem = p.readers.PushFront(q)
	default:
		p.readers.MoveToFront(q.readElem)
	}
	p.readerCount.Store(int64(p.readers.Len()))
	over := n > 0 && p.reading > p.readBudget
	tries := p.readers.Len()
	p.mu.Unlock()
	for ; over && tries > 0; tries-- {
		p.mu.Lock()
		e := p.readers.Back()
		victim := e.Value.(*Queue)
		if victim == q {
			p.mu.Unlock()
			return
		}
		p.readers.MoveToFront(e)
		p.mu.Unlock()
		if victim.mu.TryLock() {
			victim.lay.dropReadBuffer()
			victim.mu.Unlock()
		}
		p.mu.Lock()
		over = p.reading > p.readBudget
		p.mu.Unlock()
	}
}

// ReadBuffered returns the bytes of read buffer the pool's queues hold.
func (p *Pool) ReadBuffered() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reading
}

// readAhead is how much q reads at a time: ReadAhead, or less when many
// queues hold read buffers, so that they share the pool's read budget
// instead of taking turns at it (at least minReadAhead).
func (q *Queue) readAhead() int {
	ra := q.cfg.ReadAhead
	if n := q.pool.readerCount.Load(); n > 0 {
		share := minReadAhead
		for int64(share)*2*(n+1) <= q.pool.readBudget {
			share *= 2 // a power of two, as the buffers are
		}
		ra = min(ra, share)
	}
	return ra
}

const minReadAhead = 1 << 10
