package queuestore

// bucketBufs keeps the write buffers of buckets whose buffered records are
// all gone (written by a flush, or popped), for the next bucket that buffers
// a record: a flush lets go of thousands of buffers at once, which the
// pushes after it would otherwise allocate and grow again from nothing.
// Only large buffers are kept (each has memory pages of its own): a small
// one kept would hold on to the whole page run it shares with others, so
// that a few kept buffers could pin megabytes. What it keeps is bounded by
// a small part of the store's flush budget, so that an idle store holds
// little.
type bucketBufs struct {
	free  []bucketBuf
	bytes int // capacity of the buffers kept
	// lenSize is the size of the last record's uvarint length, the guess
	// for the next record's.
	lenSize int
}

// bucketBuf is a bucket's write buffer and its record ends, emptied.
type bucketBuf struct {
	data []byte
	ends []uint32
}

// Bucket write buffer sizes.
const (
	// wbufInitial is the capacity of a new bucket write buffer.
	wbufInitial = 1 << 10
	// wbufMaxHint bounds the capacity a bucket's next buffer starts with.
	wbufMaxHint = 1 << 20
	// wbufKeepOwn is the largest write buffer a bucket keeps for itself.
	wbufKeepOwn = 4 << 10
	// wbufKeepMin and wbufKeepMax bound the write buffers kept for reuse:
	// from the size the Go runtime gives pages of their own, to a size few
	// buckets reach.
	wbufKeepMin = 32 << 10
	wbufKeepMax = 1 << 20
	// wbufKeepBudget is how many times the flush threshold (FlushBytes)
	// the buffers kept may take.
	wbufKeepBudget = 8
)

// size is what a buffer pair takes in memory.
func (f bucketBuf) size() int { return cap(f.data) + 4*cap(f.ends) }

// take gives b a write buffer: a kept one when b's last grew past what a
// bucket keeps for itself, else a new one of the size b's last one needed.
func (p *bucketBufs) take(b *storeBucket) {
	if n := len(p.free); n > 0 && b.wcap > wbufKeepOwn {
		f := p.free[n-1]
		p.free[n-1] = bucketBuf{}
		p.free = p.free[:n-1]
		p.bytes -= f.size()
		b.wbuf, b.wends = f.data, f.ends
		return
	}
	c := max(wbufInitial, int(b.wcap))
	b.wbuf = make([]byte, 0, c)
	b.wends = make([]uint32, 0, c/32)
}

// give takes back b's write buffer, which holds no record left: a small
// one stays with b, a large one is kept for reuse while the kept buffers
// stay within their budget. b's next buffer is sized from what this one
// held.
func (p *bucketBufs) give(b *storeBucket) {
	used := len(b.wbuf)
	if cap(b.wbuf) <= wbufKeepOwn {
		b.wbuf, b.wends, b.wpos = b.wbuf[:0], b.wends[:0], 0
		return
	}
	b.wcap = uint32(min(used+used/4, wbufMaxHint))
	f := bucketBuf{data: b.wbuf[:0], ends: b.wends[:0]}
	b.wbuf, b.wends, b.wpos = nil, nil, 0
	if cap(f.data) < wbufKeepMin || cap(f.data) > wbufKeepMax || p.bytes+f.size() > wbufKeepBudget*b.s.cfg.FlushBytes {
		return
	}
	p.free = append(p.free, f)
	p.bytes += f.size()
}
