package queuestore

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/frontier-go/frontier/internal/clock"
	"github.com/frontier-go/frontier/internal/recordio"
)

// Compaction. A segment is deleted once no live chunk is left in it. A
// bucket drained slowly can keep a few chunks alive in a segment whose other
// chunks are long gone; compaction copies the live records of such chunks
// to the end of the log, as recRelocate frames, so that the segment goes.
// A relocated chunk keeps its number and its records their delivery IDs.

// recRelocate is a chunk's live records copied to a new place: uvarint
// bucket, uvarint chunk, uvarint count, records, like recChunk; frame ID:
// the delivery ID of its first record.
const recRelocate = 'R'

// Compaction thresholds: a full segment other than the active one is
// compacted when less than a quarter of its bytes are live chunks and none of
// its chunks died for storeCompactQuiet (a segment being drained empties on
// its own; copying it would be wasted), at most storeCompactBytes of chunks
// per flush.
const (
	storeCompactRatio = 4
	storeCompactBytes = 8 << 20
	storeCompactQuiet = 10 * time.Second
)

// compact relocates the live chunks of sparse segments.
func (s *Store) compact(now clock.Mono) error {
	var sparse map[uint32]bool
	for n, seg := range s.segs {
		if seg != s.active && seg.live > 0 && !s.stuck[n] && seg.size >= s.cfg.SegmentBytes/2 &&
			seg.liveBytes*storeCompactRatio < seg.size && seg.lastDeath.Since(now) >= s.compactQuiet {
			if sparse == nil {
				sparse = map[uint32]bool{}
			}
			sparse[n] = true
		}
	}
	if len(sparse) == 0 {
		return nil
	}
	s.wbuf, s.plans = s.wbuf[:0], s.plans[:0]
	budget := int64(storeCompactBytes)
	ids := make([]uint64, 0, len(s.buckets))
	for id := range s.buckets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		b := s.buckets[id]
		for i, c := range b.chunks {
			if !sparse[c.seg] || budget <= 0 {
				continue
			}
			if err := s.planRelocate(b, i); err != nil {
				// Leave the segment as it is: the chunk's reader reports it.
				s.cfg.Logger.Warn().Err(err).Str("store", s.dir).Str("segment", storeSegName(c.seg)).Msg("queue store: segment not compacted")
				if s.stuck == nil {
					s.stuck = map[uint32]bool{}
				}
				s.stuck[c.seg] = true
				continue
			}
			budget -= int64(c.size)
		}
	}
	return s.writePlans()
}

// planRelocate appends the frame that copies the live records of chunk i of b.
func (s *Store) planRelocate(b *storeBucket, i int) error {
	c := b.chunks[i]
	body, err := s.readChunkBody(b, c)
	if err != nil {
		return err
	}
	first := c.count - c.live // FIFO: the last live records are left
	if b.lifo {
		first = 0 // LIFO: the first live ones
	}
	from := body.offs[first]
	to := uint32(len(body.data))
	if int(first+c.live) < len(body.offs) {
		to = body.offs[first+c.live]
	}
	hdr := binary.AppendUvarint([]byte{recRelocate}, b.id)
	hdr = binary.AppendUvarint(hdr, uint64(c.no))
	hdr = binary.AppendUvarint(hdr, uint64(c.live))
	ref := chunkRef{base: c.base + uint64(first), no: c.no, count: c.live, live: c.live}
	// The records are copied out of the read window, which later reads reuse.
	return s.planFrame(storePlan{b: b, typ: recRelocate, ref: ref, records: i}, hdr, ref.base, body.data[from:to])
}

// applyRelocate moves chunk p.records of p.b to where its frame was written.
func (s *Store) applyRelocate(seg *storeSeg, off int64, p storePlan) {
	b := p.b
	old := b.chunks[p.records]
	s.chunkGone(old)
	ref := p.ref
	ref.seg, ref.off, ref.size = seg.no, uint32(off), uint32(p.end-p.start)
	b.chunks[p.records] = ref
	seg.hold(ref)
	if b.cur.no == ref.no {
		b.cur = loadedChunk{}
	}
	b.gen++
}

// replayRelocate applies a recRelocate frame found at off in segment segNo.
func (s *Store) replayRelocate(segNo uint32, off int64, fr recordio.Frame, size int) error {
	r := reader{b: fr.Payload[1:]}
	id, no, count := r.uvarint(), r.u32(), r.u32()
	b := s.buckets[id]
	switch {
	case r.bad || count == 0 || count > maxChunkRecords(len(r.b)):
		return fmt.Errorf("%w: bad relocated chunk at offset %d", ErrCorrupt, off)
	case b == nil && s.lossy:
		s.report(s.segPath(segNo), off, int64(size), int(count), "chunk of a bucket whose declaration was lost dropped")
		return nil
	case b == nil:
		return fmt.Errorf("%w: relocated chunk of unknown bucket %d at offset %d", ErrCorrupt, id, off)
	}
	i, found := b.findChunk(no)
	if !found && s.rebuilding {
		// Rebuilding without a checkpoint: the chunk's first copy was in a
		// segment deleted once the records were relocated here.
		i = sort.Search(len(b.chunks), func(k int) bool { return b.chunks[k].no > no })
		b.chunks = slices.Insert(b.chunks, i, chunkRef{})
		b.nextChunk = max(b.nextChunk, no+1)
		found = true
	}
	if !found {
		return nil // the chunk went since (its drop comes later in the log), or was lost with a corrupt stretch
	}
	s.maxID = max(s.maxID, fr.ID+uint64(count)-1)
	b.chunks[i] = chunkRef{base: fr.ID, no: no, seg: segNo, off: uint32(off), size: uint32(size), count: count, live: count}
	return nil
}
