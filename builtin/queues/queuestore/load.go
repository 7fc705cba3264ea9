package queuestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/internal/clock"
	"github.com/frontier-go/frontier/internal/recordio"
)

// ErrCorrupt marks a queue store whose checkpoint or log contradicts
// itself: whole, checksummed frames that no store writes. A resume refuses
// it rather than guess.
var ErrCorrupt = errors.New("queues: corrupt queue store")

// load recovers the store: the checkpoint, then the log after it. A
// checkpoint that is missing while segments exist, or damaged, is rebuilt
// from the segments, which declare every bucket they hold chunks of (format
// 2; see rebuild), and the rebuild is reported.
func (s *Store) load() error {
	path, err := s.place()
	if err != nil {
		return err
	}
	var data []byte
	if path == "" {
		// A segment's content had the checkpoint's name, and no checkpoint
		// is anywhere else.
		path, err = filepath.Join(s.dir, IndexFile), os.ErrNotExist
	} else {
		data, err = os.ReadFile(path)
	}
	switch {
	case err == nil:
		if err := s.decodeIndex(data); err != nil {
			if errors.Is(err, disk.ErrVersion) {
				// A newer frontier's: refused.
				return fmt.Errorf("%s: %w", path, err)
			}
			// Damaged, or another file in its place (not a checkpoint at
			// all): the segments are the truth. Open keeps the file aside.
			s.report(path, 0, 0, 0, fmt.Sprintf("checkpoint damaged (%v): rebuilt from the segments, nothing lost", err))
			s.startRebuild()
			s.indexDamaged = true
		}
	case os.IsNotExist(err):
		if segs, _ := listSegments(s.dir); len(segs) > 0 {
			s.report(path, -1, 0, 0, "checkpoint missing: rebuilt from the segments, nothing lost")
			s.startRebuild()
		}
	default:
		return err
	}
	nums, err := listSegments(s.dir)
	if err != nil {
		return err
	}
	for _, n := range nums {
		st, err := os.Stat(s.segPath(n))
		if err != nil {
			return err
		}
		s.segs[n] = &storeSeg{no: n, size: st.Size(), lastDeath: clock.Coarse()}
		s.nextSeg = max(s.nextSeg, n+1)
	}
	for i, n := range nums {
		if n < s.ckpt.seg {
			continue
		}
		start := int64(0)
		if n == s.ckpt.seg {
			start = s.ckpt.off
		}
		if err := s.replay(s.segs[n], start, i == len(nums)-1); err != nil {
			return fmt.Errorf("%s: %w", s.segPath(n), err)
		}
	}
	if s.ckpt.seg != 0 && s.segs[s.ckpt.seg] == nil && s.ckpt.off >= segHeaderSize {
		// It was whole (its header fsynced) when the checkpoint was
		// written: only damage takes it away, with whatever the log held
		// after the checkpoint.
		s.report(s.segPath(s.ckpt.seg), s.ckpt.off, 0, 0, "missing: the segment the checkpoint goes on from is gone, with the requests written after the checkpoint (how many is unknown)")
	}
	s.reportGaps(nums)
	s.reportOrphans()
	s.settleChunks()
	s.rebuilding = false
	if len(nums) > 0 && !s.readOnly {
		if seg := s.segs[nums[len(nums)-1]]; seg != nil && seg.size < s.cfg.SegmentBytes && !seg.headless {
			s.active = seg
		}
	}
	for _, seg := range s.segs {
		if seg.live == 0 && seg != s.active {
			s.deadSegs++
		}
	}
	s.ids.Saw(s.maxID)
	s.ckptAt = clock.Exact()
	return nil
}

// settleChunks drops the chunks whose bytes are missing and counts the
// live chunks of each segment and the live records of each bucket.
func (s *Store) settleChunks() {
	for _, b := range s.buckets {
		kept := b.chunks[:0]
		b.live = 0
		for _, c := range b.chunks {
			seg := s.segs[c.seg]
			if seg == nil || int64(c.off)+int64(c.size) > seg.size {
				s.report(s.segPath(c.seg), int64(c.off), int64(c.size), int(c.live), "chunk missing (its segment is gone or cut short)")
				b.marks = append(b.marks, liveMark{no: c.no})
				s.markDirty(b)
				continue
			}
			seg.hold(c)
			b.live += int(c.live)
			kept = append(kept, c)
		}
		if len(kept) == 0 {
			kept = nil
		}
		b.chunks = kept
	}
}

// errOtherSegment is a segment header naming another segment than the file
// it is in: a segment of the store under another name (swapped, copied), whose
// frames are not salvaged at the checkpoint's offset in this one (their
// chunks and counts belong to the other segment).
var errOtherSegment = errors.New("the header of another segment")

// readSegHeader reads the first frame of segment no's file f and checks
// that it is the segment's header: an error wrapping errOtherSegment when it
// is another segment's.
func (s *Store) readSegHeader(f interface {
	ReadAt(p []byte, off int64) (int, error)
}, no uint32) error {
	// The header's segment number is a uvarint: a few bytes more than the
	// first segment's header.
	buf := make([]byte, segHeaderSize+binary.MaxVarintLen32)
	n, _ := f.ReadAt(buf, 0)
	fr, _, err := recordio.Next(buf[:n])
	if err != nil {
		return fmt.Errorf("%w: no segment header (%v)", disk.ErrNotQueue, err)
	}
	if err := checkSegHeader(fr.Payload, no); err != nil {
		if _, ok := cutMagic(fr.Payload, recSegHeader, storeSegMagic); ok && !errors.Is(err, disk.ErrVersion) {
			return fmt.Errorf("%w: %w", errOtherSegment, err)
		}
		return err
	}
	return nil
}

// replay applies the frames of seg from start. A bad frame ends the
// segment: in the last segment, it is the torn tail of writes a crash
// interrupted, cut off; in another, the rest of the segment is lost.
func (s *Store) replay(seg *storeSeg, start int64, last bool) error {
	file := s.segPath(seg.no)
	if start > seg.size {
		s.report(file, seg.size, 0, 0, "segment shorter than the checkpoint says")
		return nil
	}
	f, err := s.fileOf(seg)
	if err != nil {
		return err
	}
	buf := make([]byte, seg.size-start)
	if _, err := f.ReadAt(buf, start); err != nil {
		return err
	}
	pos := 0
	if start == 0 {
		fr, k, err := recordio.Next(buf)
		switch {
		case err == nil:
			// A whole first frame is skipped, a header or not.
			err, pos = checkSegHeader(fr.Payload, seg.no), k
		case last && int64(len(buf)) < segHeaderSize:
			// Created at the crash, before its header was whole.
			if len(buf) > 0 {
				s.report(file, 0, int64(len(buf)), 0, "segment torn while being created dropped")
			}
			return s.cut(seg, 0)
		default:
			err = fmt.Errorf("%w: no segment header (%v)", disk.ErrNotQueue, err)
		}
		if err != nil {
			if errors.Is(err, disk.ErrVersion) {
				return err
			}
			// Damaged, or another file in its place: salvage the valid
			// frames it holds (resynchronise on the first one).
			seg.headless, s.lossy = true, true
			if pos == 0 {
				if skip, ok := recordio.Sync(buf[min(1, len(buf)):]); ok {
					pos = skip + 1
				} else {
					pos = len(buf)
				}
			}
			s.report(file, 0, int64(pos), 0, fmt.Sprintf("corrupt segment header (%v): the segment's valid frames are kept", err))
		}
	}
	for pos < len(buf) {
		fr, k, err := recordio.Next(buf[pos:])
		if err == nil {
			if err = s.replayFrame(seg.no, start+int64(pos), fr, k); err != nil {
				if !seg.headless && start > 0 && errors.Is(err, ErrCorrupt) {
					// Replayed from the checkpoint's offset, the header was
					// not read: a file in the segment's place (not one)
					// salvages like a segment whose header is damaged.
					if herr := s.readSegHeader(f, seg.no); herr != nil && !errors.Is(herr, disk.ErrVersion) && !errors.Is(herr, errOtherSegment) {
						seg.headless, s.lossy = true, true
						s.report(file, 0, 0, 0, fmt.Sprintf("corrupt segment header (%v): the segment's valid frames are kept", herr))
					}
				}
				if !seg.headless || !errors.Is(err, ErrCorrupt) {
					return err
				}
				// Another file's frame, in a segment that is not one.
				s.report(file, start+int64(pos), int64(k), 0, "frame no queue store writes skipped: "+err.Error())
			}
			pos += k
			continue
		}
		at := start + int64(pos)
		if skip, ok := recordio.Sync(buf[pos+1:]); ok {
			// Damage, not a crash: valid frames follow. Go on from the
			// next one; frames of what the damaged stretch held (a
			// bucket's declaration, a chunk) are dropped and reported.
			s.report(file, at, int64(skip+1), 0, "corrupt stretch skipped (the frames after it are kept)")
			s.lossy = true
			pos += skip + 1
			continue
		}
		n := int64(len(buf) - pos)
		if !last {
			s.report(file, at, n, 0, "corrupt frame: the rest of the segment is dropped")
			seg.size = at
			s.lossy = true
			return nil
		}
		s.report(file, at, n, 0, "torn tail dropped (writes a crash interrupted)")
		return s.cut(seg, at)
	}
	return nil
}

// orphanLive applies a live-count record of bucket id, whose declaration
// was lost, to its dropped chunks.
func (s *Store) orphanLive(id uint64, r reader) {
	chunks := s.orphans[id]
	for len(r.b) > 0 {
		no, live := r.u32(), r.u32()
		if r.bad {
			return
		}
		for i := range chunks {
			if chunks[i].no == no && live <= chunks[i].live {
				chunks[i].live = live
			}
		}
	}
}

// reportOrphans reports the chunks of buckets whose declaration was lost,
// with the records still live in them: what the load dropped.
func (s *Store) reportOrphans() {
	for _, chunks := range s.orphans {
		for _, c := range chunks {
			if c.live > 0 {
				s.report(s.segPath(c.seg), c.off, c.size, int(c.live), "chunk of a bucket whose declaration was lost dropped")
			}
		}
	}
	s.orphans = nil
}

// reportGaps reports the segments missing among nums (sorted) after the
// checkpoint's: the log is written in order, and a segment is deleted only
// once a checkpoint no longer needs it, so a gap there is damage, and the
// requests written in the missing segments are lost.
func (s *Store) reportGaps(nums []uint32) {
	for i := 1; i < len(nums); i++ {
		for n := max(nums[i-1]+1, s.ckpt.seg); n < nums[i]; n++ {
			s.report(s.segPath(n), -1, 0, 0, "missing: a segment of the log after the checkpoint is gone, with the requests written in it (how many is unknown)")
		}
	}
}

// startRebuild forgets what a damaged checkpoint said and has the log
// replayed from its first segment.
func (s *Store) startRebuild() {
	s.buckets, s.byKey = map[uint64]*storeBucket{}, map[string]*storeBucket{}
	s.ckpt, s.nextBucket, s.nextSeg, s.maxID = logPos{}, 1, 1, 0
	s.rebuilding, s.lossy = true, true
}

// cut shortens the last segment to size, removing it when nothing whole is left.
func (s *Store) cut(seg *storeSeg, size int64) error {
	seg.size = size
	if s.readOnly {
		return nil
	}
	if size < segHeaderSize {
		delete(s.segs, seg.no)
		return errors.Join(s.closeFile(seg), os.Remove(s.segPath(seg.no)))
	}
	f, err := s.fileOf(seg)
	if err != nil {
		return err
	}
	return f.Truncate(size)
}

// replayFrame applies one frame of the log.
func (s *Store) replayFrame(segNo uint32, off int64, fr recordio.Frame, size int) error {
	p := fr.Payload
	r := reader{b: p[1:]}
	bad := func(what string) error {
		return fmt.Errorf("%w: %s at offset %d", ErrCorrupt, what, off)
	}
	switch p[0] {
	case recBucket:
		id, kind := r.uvarint(), r.byte1()
		rel := string(r.b)
		if r.bad || id == 0 || (kind != kindFIFO && kind != kindLIFO) || rel == "" {
			return bad("bad bucket record")
		}
		if old := s.buckets[id]; old != nil && old.rel == rel && old.lifo == (kind == kindLIFO) {
			return nil // declared again at the start of a later segment (format 2)
		}
		for _, old := range []*storeBucket{s.buckets[id], s.byKey[rel]} {
			if old != nil && s.buckets[old.id] == old {
				s.redeclared(old, id, rel, segNo, off)
			}
		}
		b := &storeBucket{s: s, id: id, rel: rel, lifo: kind == kindLIFO, declared: true}
		s.buckets[id], s.byKey[rel] = b, b
		s.nextBucket = max(s.nextBucket, id+1)
	case recChunk:
		id, no, count := r.uvarint(), r.u32(), r.u32()
		b := s.buckets[id]
		switch {
		case r.bad || count == 0 || count > maxChunkRecords(len(r.b)):
			return bad("bad chunk header")
		case b == nil:
			// Its declaration was lost (damage, or unsynced writes a power
			// cut dropped while it kept later ones): reported at the end of
			// the load, with the records still live in it (later records
			// may count pops).
			if s.orphans == nil {
				s.orphans = map[uint64][]orphanChunk{}
			}
			s.orphans[id] = append(s.orphans[id], orphanChunk{no: no, live: count, seg: segNo, off: off, size: int64(size)})
			return nil
		case no < b.nextChunk:
			// Damage, or a power cut that kept a chunk written before a
			// resume cut it off as a torn tail, and the chunk the resume
			// wrote in its place. Its records are not counted: they were
			// never acknowledged (the torn tail), or are a copy of a chunk
			// the log holds elsewhere (a segment under another's name),
			// counted there when lost.
			s.report(s.segPath(segNo), off, int64(size), 0, fmt.Sprintf("chunk %d of bucket %d after chunk %d dropped", no, id, b.nextChunk-1))
			return nil
		}
		b.chunks = append(b.chunks, chunkRef{base: fr.ID, no: no, seg: segNo, off: uint32(off), size: uint32(size), count: count, live: count})
		b.nextChunk = no + 1
		s.maxID = max(s.maxID, fr.ID+uint64(count)-1)
	case recLive:
		id := r.uvarint()
		b := s.buckets[id]
		if r.bad {
			return bad("bad live count record")
		}
		if b == nil {
			// Its declaration was lost (damage, or a power cut):
			// count the pops of its dropped chunks.
			s.orphanLive(id, r)
			return nil
		}
		for len(r.b) > 0 {
			no, live := r.u32(), r.u32()
			if r.bad {
				return bad("bad live count record")
			}
			i, found := b.findChunk(no)
			if !found {
				continue // the chunk was lost with a corrupt stretch of the log
			}
			if live > b.chunks[i].count {
				return bad(fmt.Sprintf("chunk %d of bucket %d: live count %d of %d records", no, id, live, b.chunks[i].count))
			}
			if b.chunks[i].live = live; live == 0 {
				b.chunks = slices.Delete(b.chunks, i, i+1)
			}
		}
	case recRelocate:
		return s.replayRelocate(segNo, off, fr, size)
	case recDrop:
		id := r.uvarint()
		b := s.buckets[id]
		if r.bad {
			return bad("bad drop record")
		}
		if b == nil {
			delete(s.orphans, id) // dropped drained: nothing of it is lost
			return nil
		}
		delete(s.buckets, id)
		delete(s.byKey, b.rel)
	default:
		return bad(fmt.Sprintf("unknown record type %q", p[0]))
	}
	return nil
}

// redeclared forgets bucket old, which the declaration of bucket id with
// key rel replaces. The store gives a key a new bucket only once its old
// one is dropped, and gives an ID again only when a power cut lost the
// declaration that had it: either way the drop, or the first declaration,
// was written after the last fsync and lost while what follows was kept.
// What the old bucket still held by the log is dropped and reported: it was
// popped (its live counts lost with the drop), or never durable. A key
// given a new bucket says that its old bucket was drained, every record of
// it popped: none of them is counted as lost. An ID given again to another
// key counts the old bucket's records, whose fate nothing tells.
func (s *Store) redeclared(old *storeBucket, id uint64, rel string, segNo uint32, off int64) {
	if old.rel == rel {
		s.report(s.segPath(segNo), off, 0, 0, fmt.Sprintf("bucket %d (%s) declared again as bucket %d: the old bucket was drained (a key gets a new bucket only then) and its drop lost (a power cut, or damage to the log before this point); its chunks, whose records were all popped, dropped", old.id, old.rel, id))
	} else {
		live := 0
		for _, c := range old.chunks {
			live += int(c.live)
		}
		s.report(s.segPath(segNo), off, 0, live, fmt.Sprintf("bucket %d (%s) declared again as bucket %d (%s): the writes between them were lost to a power cut; the first one's chunks dropped", old.id, old.rel, id, rel))
	}
	delete(s.buckets, old.id)
	delete(s.byKey, old.rel)
}

// decodeIndex reads a checkpoint. It is written whole and renamed into
// place, so anything but a whole checkpoint is an error.
func (s *Store) decodeIndex(data []byte) error {
	var buckets, chunks uint64
	end, first := false, true
	for pos := 0; pos < len(data); {
		fr, k, err := recordio.Next(data[pos:])
		if err != nil {
			return fmt.Errorf("%w: checkpoint unreadable at offset %d: %w", ErrCorrupt, pos, err)
		}
		if end {
			return fmt.Errorf("%w: checkpoint goes on after its end at offset %d", ErrCorrupt, pos)
		}
		p := fr.Payload
		bad := func(what string) error {
			return fmt.Errorf("%w: checkpoint: %s at offset %d", ErrCorrupt, what, pos)
		}
		if first {
			rest, ok := cutMagic(p, idxHeader, storeIndexMagic)
			if !ok {
				return fmt.Errorf("%w: no checkpoint header", disk.ErrNotQueue)
			}
			if rest[0] < storeOldestVersion || rest[0] > storeVersion {
				return fmt.Errorf("%w: queue store format %d (this build reads %d to %d); resume with a newer frontier", disk.ErrVersion, rest[0], storeOldestVersion, storeVersion)
			}
			r := reader{b: rest[1:]}
			s.ckpt = logPos{seg: r.u32(), off: int64(r.uvarint())}
			s.nextBucket, s.nextSeg, s.maxID = r.uvarint(), r.u32(), r.uvarint()
			if r.bad || s.nextBucket == 0 || s.nextSeg == 0 {
				return bad("bad header")
			}
			first = false
			pos += k
			continue
		}
		r := reader{b: p[1:]}
		switch p[0] {
		case idxBucket:
			id, kind, next := r.uvarint(), r.byte1(), r.u32()
			rel := string(r.b)
			if r.bad || id == 0 || id >= s.nextBucket || (kind != kindFIFO && kind != kindLIFO) || rel == "" || s.buckets[id] != nil || s.byKey[rel] != nil {
				return bad("bad bucket")
			}
			b := &storeBucket{s: s, id: id, rel: rel, lifo: kind == kindLIFO, declared: true, nextChunk: next}
			s.buckets[id], s.byKey[rel] = b, b
			buckets++
		case idxChunks:
			id, n := r.uvarint(), r.uvarint()
			b := s.buckets[id]
			if r.bad || b == nil || n == 0 || n > uint64(len(r.b)) {
				return bad("bad chunk list")
			}
			for range n {
				c := r.chunkRef()
				if r.bad || c.no >= b.nextChunk || c.live == 0 || (len(b.chunks) > 0 && c.no <= b.chunks[len(b.chunks)-1].no) {
					return bad(fmt.Sprintf("bad chunk of bucket %d", id))
				}
				b.chunks = append(b.chunks, c)
			}
			if len(r.b) > 0 {
				return bad("trailing bytes")
			}
			chunks += n
		case idxEnd:
			nb, nc := r.uvarint(), r.uvarint()
			if r.bad || nb != buckets || nc != chunks {
				return bad("end record does not match")
			}
			end = true
		default:
			return bad(fmt.Sprintf("unknown record type %q", p[0]))
		}
		pos += k
	}
	if !end {
		return fmt.Errorf("%w: checkpoint incomplete", ErrCorrupt)
	}
	return nil
}

// Records calls fn with the delivery ID and record of each request of the
// bucket whose key is rel, in pop order, without removing them. A chunk
// that cannot be read is an error.
func (s *Store) Records(rel string, fn func(delivery uint64, rec []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.byKey[rel]
	if b == nil {
		return nil
	}
	return s.records(b, fn)
}

// EachRecord calls fn with the record of every request the store holds,
// bucket by bucket, without removing them. The store's lock is held: fn
// must not call the store. Chunks that cannot be read are skipped and
// returned as one error after the others were visited; an error of fn
// stops the walk.
func (s *Store) EachRecord(fn func(rec []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fnErr error
	var errs []error
	for _, b := range s.byKey {
		err := s.records(b, func(_ uint64, rec []byte) error {
			if fnErr = fn(rec); fnErr != nil {
				return fnErr
			}
			return nil
		})
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// records is Records of bucket b; the store's lock is held.
func (s *Store) records(b *storeBucket, fn func(delivery uint64, rec []byte) error) error {
	var errs []error
	visit := func(c chunkRef) error {
		body, err := s.readChunkBody(b, c)
		if err != nil {
			return fmt.Errorf("%s at %d: %w", storeSegName(c.seg), c.off, err)
		}
		first, last := int(c.count-c.live), int(c.count)
		if b.lifo {
			first, last = 0, int(c.live)
		}
		for i := range last - first {
			j := first + i
			if b.lifo {
				j = last - 1 - i
			}
			if err := fn(c.base+uint64(j), body.record(j)); err != nil {
				return err
			}
		}
		return nil
	}
	buffered := func(i int) error {
		rec := b.wbuf[b.wstart(i):b.wends[i]]
		_, k := binary.Uvarint(rec)
		return fn(0, rec[k:])
	}
	if b.lifo {
		for i := len(b.wends) - 1; i >= b.wpos; i-- {
			errs = append(errs, buffered(i))
		}
		for i := len(b.chunks) - 1; i >= 0; i-- {
			errs = append(errs, visit(b.chunks[i]))
		}
	} else {
		for _, c := range b.chunks {
			errs = append(errs, visit(c))
		}
		for i := b.wpos; i < len(b.wends); i++ {
			errs = append(errs, buffered(i))
		}
	}
	return errors.Join(errs...)
}
