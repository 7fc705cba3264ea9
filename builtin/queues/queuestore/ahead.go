package queuestore

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"

	"github.com/frontier-go/frontier/framework"
)

// Decoding ahead. Most of a pop's cost is reading its record for the first
// time: buckets are popped in turn (a downloader-aware queue's slots, then
// their priorities), so by the time a bucket's turn comes back its next
// record has left the processor's caches. When a pop leaves its bucket's
// next record in the loaded chunk, the store hands that record to a decoder
// goroutine, which decodes it on another core before the bucket is popped
// again.
//
// Only the decoding moves: every pop and every change to a bucket stays on
// the caller's goroutine, under the store's lock, in the order it was
// called. A record decoded ahead is a copy, used by its bucket's next take
// when nothing changed the bucket since (its gen), and forgotten otherwise;
// a take that finds it not yet decoded (or not decodable) reads the record
// itself, as it always did. Chunk bodies are never written once loaded,
// which is why only records in a loaded chunk are decoded ahead, not those
// in a write buffer, which is reused.
//
// It pays when the caller does more than pop between two turns of a bucket,
// as the scheduler does (the in-flight journal, Finish): popping and nothing
// else, the records stay warm enough that decoding ahead costs a little more
// than it saves (BenchmarkStorePopDecodeAhead).

// aheadMax bounds the records decoded ahead and not yet taken, each a
// request in memory, so that a job with many buckets does not hold one per
// bucket: past it, the buckets popped are read as before.
const aheadMax = 16384

// aheadBatch is how many records are handed to the decoder at a time: a
// bucket's turn comes back after every other bucket's, so a batch this
// large is decoded long before it is needed, and a handoff costs little per
// record.
const aheadBatch = 128

// An ahead's state: queued until the decoder takes it (busy) and decodes it
// (done), or until its bucket takes it back first (dropped).
const (
	aheadQueued uint32 = iota
	aheadBusy
	aheadDone
	aheadDropped
)

// ahead is one record handed to the decoder.
type ahead struct {
	state atomic.Uint32

	// Set before the handoff and only read after it.
	gen      uint64 // the bucket's gen when it was handed off
	chunk    uint32 // the number of the loaded chunk holding the record
	i        uint32 // the record's index in the chunk
	delivery uint64
	spider   *framework.Spider

	// Read by the decoder, then cleared: the chunk's records and where the
	// record's length starts (off, or offs[i] when offs is not nil).
	data []byte
	offs []uint32
	off  uint32

	// Set by the decoder before it marks the ahead done.
	// r is nil when the record does not decode: its take reads it again,
	// and reports it.
	r   *framework.Request
	end uint32 // where the record after it starts
}

// decode decodes a's record; it runs on the decoder's goroutine.
func (a *ahead) decode() {
	off := a.off
	if a.offs != nil {
		off = a.offs[a.i]
	}
	rec := a.data[off:]
	n, k := binary.Uvarint(rec)
	a.r, _ = framework.DecodeRequest(rec[k:k+int(n)], a.spider)
	a.end = off + uint32(k) + uint32(n)
	a.data, a.offs = nil, nil
}

// decoder decodes records ahead of their pops on a goroutine of its own,
// started at the first handoff and stopped by Store.Close. Its fields other
// than the channels are the store's, under its lock.
type decoder struct {
	work chan []*ahead
	free chan []*ahead // batches to reuse
	exit chan struct{}

	batch []*ahead // being filled
	slab  []ahead  // aheads not yet used, allocated together
	live  int      // aheads held by buckets
	max   int      // aheadMax; tests lower it
	taken int      // records a take found decoded ahead
	off   bool     // decoding ahead is off: one processor, or stopped
}

func (d *decoder) run() {
	defer close(d.exit)
	for batch := range d.work {
		for i, a := range batch {
			if a.state.CompareAndSwap(aheadQueued, aheadBusy) {
				a.decode()
				a.state.Store(aheadDone)
			}
			batch[i] = nil
		}
		select {
		case d.free <- batch[:0]:
		default:
		}
	}
}

// handOff hands b's next record to the decoder, after a pop, when it is in
// b's loaded chunk and the decoder holds fewer than aheadMax.
func (s *Store) handOff(b *storeBucket) {
	d := &s.dec
	s.forgetAhead(b)
	if d.off || d.live >= d.max || !b.cur.ok {
		return
	}
	src, ok := b.next()
	if !ok || src.chunk < 0 || b.chunks[src.chunk].no != b.cur.no {
		return
	}
	if d.work == nil {
		if runtime.GOMAXPROCS(0) < 2 {
			d.off = true // nothing to run it beside the pops
			return
		}
		// Room for every ahead the bound allows: the decoder may fall
		// behind for a while (a garbage collection, another process on its
		// core), and a record it gets to late is still decoded before its
		// bucket's turn comes back.
		d.work = make(chan []*ahead, aheadMax/aheadBatch)
		d.free = make(chan []*ahead, 8)
		d.exit = make(chan struct{})
		go d.run()
	}
	if len(d.slab) == 0 {
		d.slab = make([]ahead, aheadBatch)
	}
	a := &d.slab[0]
	d.slab = d.slab[1:]
	c := &b.chunks[src.chunk]
	a.gen, a.chunk, a.i = b.gen, c.no, uint32(src.i)
	a.delivery, a.spider = c.base+uint64(src.i), s.cfg.Spider
	a.data = b.cur.body.data
	if uint32(src.i) == b.cur.next {
		a.off = b.cur.nextOff
	} else {
		a.offs = b.cur.body.offs
	}
	b.ahead = a
	d.live++
	if d.batch == nil {
		select {
		case d.batch = <-d.free:
		default:
			d.batch = make([]*ahead, 0, aheadBatch)
		}
	}
	d.batch = append(d.batch, a)
	if len(d.batch) == aheadBatch {
		select {
		case d.work <- d.batch:
		default:
			// The decoder is behind: the takes of this batch's records
			// find them queued and read them themselves.
		}
		d.batch = nil
	}
}

// takeAhead returns b's next record decoded ahead, or nil when there is
// none to use: none was handed off, the bucket changed since, or the
// decoder did not decode it (yet).
func (s *Store) takeAhead(b *storeBucket) *framework.Request {
	a := b.ahead
	r := s.forgetAhead(b)
	if r == nil {
		return nil
	}
	r.Delivery = a.delivery
	s.dec.taken++
	if b.cur.ok && b.cur.no == a.chunk {
		// As if the take had read it: a FIFO reads on from its end.
		b.cur.next, b.cur.nextOff = a.i+1, a.end
	}
	return r
}

// forgetAhead takes back b's record handed to the decoder, and returns it
// decoded when it was and b did not change since. The decoder either never
// decodes it or has finished when forgetAhead returns, and the ahead keeps
// no request alive.
func (s *Store) forgetAhead(b *storeBucket) *framework.Request {
	a := b.ahead
	if a == nil {
		return nil
	}
	b.ahead = nil
	s.dec.live--
	if a.state.CompareAndSwap(aheadQueued, aheadDropped) {
		a.data, a.offs = nil, nil
		return nil
	}
	for a.state.Load() == aheadBusy {
		runtime.Gosched() // one record's decoding
	}
	r := a.r
	a.r = nil
	if a.gen != b.gen {
		return nil
	}
	return r
}

// stopDecoder ends the decoder's goroutine; the store's lock is held.
func (s *Store) stopDecoder() {
	d := &s.dec
	d.off = true
	for _, b := range s.buckets {
		s.forgetAhead(b)
	}
	if d.work != nil {
		close(d.work)
		<-d.exit
		d.work = nil
	}
	d.batch, d.slab = nil, nil
}
