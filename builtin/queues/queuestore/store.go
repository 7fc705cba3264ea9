package queuestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/clock"
	"github.com/frontier-go/frontier/internal/recordio"
	"github.com/frontier-go/frontier/jobdir"
)

var _ framework.QueueStore = (*Store)(nil)

// Store holds the buckets of a job's disk priority queue in one log:
// segment files that every bucket appends to, and a checkpoint of which
// chunks of the log each bucket still holds (docs/jobdir-queues.md, "The
// queue store"). It replaces a file or directory per bucket, which cost a
// file creation per bucket, a write per dirty bucket at each group commit
// and descriptors beyond any pool once thousands of buckets are drained in
// turn.
//
// A bucket's pushes are buffered and written as one chunk per bucket at each
// flush, all chunks of a flush in one write. A pop changes a chunk's live
// count in memory; the flush writes the counts that changed. A flush runs at
// Flush and Close, and inside a Push when the buffers pass their budget or
// the oldest push waited FlushInterval: a caller that records pops elsewhere
// (the scheduler's in-flight journal) writes those records before it pushes.
// Recovery reads the checkpoint and replays the log written after it:
// nothing needed to recover is written only at close. A pop made durable is
// never returned again; a pop not yet durable at a crash returns the record
// again with the same Request.Delivery, which the scheduler's in-flight
// journal drops as a ghost.
//
// The store is safe for concurrent use; its buckets share its lock.
type Store struct {
	mu       sync.Mutex
	dir      string
	cfg      *disk.Config
	readOnly bool
	onReport func(file string, off, bytes int64, records int, what string)
	openFile func(name string, flag int, perm os.FileMode) (disk.File, error)

	buckets    map[uint64]*storeBucket
	byKey      map[string]*storeBucket
	nextBucket uint64

	segs    map[uint32]*storeSeg
	active  *storeSeg
	nextSeg uint32
	open    int    // segment files open
	maxOpen int    // storeMaxOpen; tests lower it
	tick    uint64 // counts segment uses

	dirty      []*storeBucket // buckets with buffered records or changed live counts
	drops      []*storeBucket // declared buckets gone, their drop not yet written
	buffered   int            // bytes in the buckets' write buffers
	bigBucket  bool           // a bucket buffers FlushBytes or more
	dirtySince clock.Mono     // first push not yet written

	unsyncedSince clock.Mono // first write not yet fsynced
	dirSync       bool       // a segment was created or removed since the last fsync

	ckpt      logPos // where the last checkpoint's replay starts
	sinceCkpt int64  // bytes written since the last checkpoint
	ckptAt    clock.Mono
	// indexBytes is the last checkpoint's size: checkpoints are spaced so
	// that rewriting it costs at most a quarter of what the log takes.
	indexBytes int64
	deadSegs   int             // segments holding no live chunk, other than the active one
	stuck      map[uint32]bool // segments whose compaction failed, left alone
	// compactQuiet is how long a sparse segment must lose no chunk before
	// it is compacted (storeCompactQuiet; tests shorten it).
	compactQuiet time.Duration

	wbuf    []byte      // frames of the flush being written
	plans   []storePlan // what each frame of wbuf changes once written
	bufPool bucketBufs  // bucket write buffers kept for reuse
	dec     decoder     // decodes popped buckets' next records ahead
	win     readWindow
	maxID   uint64
	ids     *disk.IDs // delivery identifiers of every bucket, moved past maxID at load
	closed  bool
	broken  error // a failed write that could not be cut back off its segment
	// lossy is set while a resume replays the log after a stretch of it was
	// lost: frames of buckets whose declaration was in that stretch are
	// dropped and reported instead of refusing the store.
	lossy bool
	// rebuilding is set while a resume rebuilds a missing or damaged
	// checkpoint from every segment; indexDamaged when the checkpoint was
	// there but damaged (it is kept aside before the new one is written).
	rebuilding, indexDamaged bool
	// placed maps, in a store open for reading only, the segments found
	// under another file's name to that file (see place).
	placed map[uint32]string
	// orphans are, during load, the chunks of buckets whose declaration
	// damage took: dropped, and reported at the end of the load with the
	// records the log still counts live in them.
	orphans map[uint64][]orphanChunk
}

// storeSeg is one segment file of the log.
type storeSeg struct {
	no        uint32
	f         disk.File
	used      uint64     // Store.tick at its last use, to close the least used file
	size      int64      // bytes of whole frames: the next write's offset
	live      int        // chunks of live buckets in the segment
	liveBytes int64      // their frames' bytes
	lastDeath clock.Mono // when a chunk of the segment last died, or it was created or loaded
	unsynced  bool
	fresh     int64 // its size when created: header and declarations
	// headless is true for a segment whose header was unreadable (damaged,
	// or another file in its place): its valid frames were salvaged, and
	// nothing more is appended to it.
	headless bool
}

// orphanChunk is a chunk of a bucket whose declaration was lost.
type orphanChunk struct {
	no, live  uint32
	seg       uint32
	off, size int64
}

// readWindow is the last span of a segment read, serving neighbouring chunks.
type readWindow struct {
	seg  uint32
	off  int64
	data []byte
}

// Store sizes.
const (
	// storeReadWindow is how much of a segment a chunk read fetches.
	storeReadWindow = 64 << 10
	// storeChunkMax is the size past which a bucket's buffered records are
	// written as several chunks.
	storeChunkMax = 1 << 20
	// storeWriteMax is the size past which a flush writes what it has
	// framed before it goes on.
	storeWriteMax = 4 << 20
	// storeCheckpointBytes is how much log is written between checkpoints
	// (or a segment's size, when smaller).
	storeCheckpointBytes = 32 << 20
	// storeCheckpointDead is how soon a checkpoint follows a segment
	// emptied of live chunks, so that its file can go.
	storeCheckpointDead = time.Second
	// storeCheckpointIdle is the longest an emptied segment waits for a
	// checkpoint that deletes it.
	storeCheckpointIdle = time.Minute
	// storeMaxRecord is the largest record a bucket takes.
	storeMaxRecord = recordio.MaxPayload - 64
)

// Open opens the queue store in dir, creating it (its checkpoint) when
// there is none, and recovers it: the checkpoint, then the log written after
// it, with a torn tail cut off and reported.
func Open(dir string, cfg disk.Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	s := newStore(dir, &cfg)
	if err := s.load(); err != nil {
		s.release()
		return nil, fmt.Errorf("queues: open queue store %s: %w", dir, err)
	}
	if s.indexDamaged {
		if _, err := jobdir.MoveAside("", filepath.Join(dir, IndexFile), false); err != nil {
			s.release()
			return nil, fmt.Errorf("queues: open queue store %s: %w", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); err != nil {
		if err := s.checkpoint(); err != nil {
			s.release()
			return nil, fmt.Errorf("queues: create queue store %s: %w", dir, err)
		}
	}
	return s, nil
}

// Read opens the queue store in dir for reading only: nothing is
// written, cut or created, and what a resume would drop goes to report
// instead of the log.
func Read(dir string, report func(file string, off, bytes int64, records int, what string)) (*Store, error) {
	cfg := disk.Config{Fsync: recordio.FsyncPolicy{Mode: recordio.FsyncNever}}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := newStore(dir, &cfg)
	s.readOnly, s.onReport = true, report
	if err := s.load(); err != nil {
		s.release()
		return nil, fmt.Errorf("queues: read queue store %s: %w", dir, err)
	}
	return s, nil
}

func newStore(dir string, cfg *disk.Config) *Store {
	return &Store{
		dir: dir, cfg: cfg, openFile: disk.OpenRaw, ids: disk.NewIDs(),
		buckets: map[uint64]*storeBucket{}, byKey: map[string]*storeBucket{},
		segs: map[uint32]*storeSeg{}, nextBucket: 1, nextSeg: 1,
		compactQuiet: storeCompactQuiet, maxOpen: storeMaxOpen,
		bufPool: bucketBufs{lenSize: 1}, dec: decoder{max: aheadMax},
	}
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// segPath returns the path of segment n: its own name, or, in a store open
// for reading only, the file holding it under another name (see place).
func (s *Store) segPath(n uint32) string {
	if p, ok := s.placed[n]; ok {
		return p
	}
	return filepath.Join(s.dir, storeSegName(n))
}

// report logs and counts bytes and records a resume drops.
func (s *Store) report(file string, off, bytes int64, records int, what string) {
	if s.onReport != nil {
		s.onReport(file, off, bytes, records, what)
		return
	}
	disk.ReportDropped(s.cfg, "store", s.dir, file, off, bytes, records, "queue store: "+what)
}

// markDirty queues b for the next flush.
func (s *Store) markDirty(b *storeBucket) {
	if !b.dirty {
		b.dirty = true
		s.dirty = append(s.dirty, b)
	}
}

// Flush writes every buffered record and live count, fsyncs as the policy
// says, and writes a checkpoint when one is due.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("queues: queue store %s: closed", s.dir)
	}
	return s.flushLocked(clock.Exact(), false)
}

// autoFlush flushes when the buffered records exceed the budget or the
// oldest waited FlushInterval, and fsyncs when the interval policy says.
func (s *Store) autoFlush(now clock.Mono) error {
	if s.buffered >= 64*s.cfg.FlushBytes || s.bigBucket || (s.dirtySince != 0 && s.dirtySince.Since(now) >= s.cfg.FlushInterval) {
		return s.flushLocked(now, false)
	}
	if s.unsyncedSince != 0 && s.cfg.Fsync.Mode == recordio.FsyncInterval && s.syncDue(now) {
		return s.sync()
	}
	return nil
}

// flushLocked writes what is dirty, fsyncs as the policy says (final: Close,
// always), and checkpoints when due (final: always).
func (s *Store) flushLocked(now clock.Mono, final bool) error {
	if s.broken != nil {
		return s.broken
	}
	if s.readOnly {
		return nil
	}
	deferPops := s.popsDeferred(final)
	if err := s.writeDirty(deferPops); err != nil {
		return err
	}
	if !deferPops {
		// A relocated chunk copies only its live records: it would make
		// the pops of the others durable.
		if err := s.compact(now); err != nil {
			return err
		}
	}
	if s.unsyncedSince != 0 && (final || s.syncDue(now)) {
		if err := s.sync(); err != nil {
			return err
		}
	}
	// A checkpoint fsyncs the log: under a shared interval tick it waits
	// for the next tick, so that the pops it makes durable never are
	// before the in-flight journal's records of those deliveries.
	if final || (s.checkpointDue(now) && !s.cfg.Fsync.Deferred()) {
		return s.checkpoint()
	}
	return nil
}

// popsDeferred reports whether a flush leaves pops (live counts, drops,
// compaction) in memory: under JOBDIR_FSYNC=interval, between two ticks of
// the job's shared clock, the in-flight journal's records of the deliveries
// are handed to the operating system but not fsynced, and a pop written
// now could reach the disk before them (the system writes back in any
// order), losing the request at a power cut. Pops are written at the next
// tick, after the journal's fsync, or at close (final). Until then a crash
// returns the popped records again, as ghosts the journal drops.
func (s *Store) popsDeferred(final bool) bool {
	return !final && s.cfg.Fsync.Deferred()
}

func (s *Store) syncDue(now clock.Mono) bool {
	return s.cfg.Fsync.DueAfter(s.unsyncedSince.Since(now))
}

// storePlan is what one frame of a flush changes once it is written.
type storePlan struct {
	b          *storeBucket
	typ        byte
	start, end int      // the frame in wbuf
	ref        chunkRef // recChunk: the chunk, but for its place
	records    int      // recChunk: buffered records it takes
	marks      int      // recLive: marks it writes
	drop       uint64   // recDrop
}

// writeDirty writes the drops, then the dirty buckets' frames, in as few
// writes as the segments allow. deferPops leaves the drops and live counts
// for a later flush (popsDeferred), writing only the pushes.
func (s *Store) writeDirty(deferPops bool) error {
	if len(s.dirty) == 0 && (len(s.drops) == 0 || deferPops) {
		return nil
	}
	s.wbuf, s.plans = s.wbuf[:0], s.plans[:0]
	// Drops first: a bucket dropped and made again under the same key has a
	// new ID, declared after the old one is gone (while its drop is
	// deferred, the key takes its old bucket back: see Store.Queue).
	if !deferPops {
		for _, d := range s.drops {
			p := binary.AppendUvarint([]byte{recDrop}, d.id)
			if err := s.planFrame(storePlan{typ: recDrop, drop: d.id}, p, 0); err != nil {
				return err
			}
		}
	}
	var err error
	for _, b := range s.dirty {
		if err = s.planBucket(b, deferPops); err != nil {
			break
		}
		if len(s.wbuf) >= storeWriteMax {
			// Written in pieces, so that the frames never take as much
			// memory again as the buffers they come from.
			if err = s.writePlans(); err != nil {
				break
			}
			s.wbuf, s.plans = s.wbuf[:0], s.plans[:0]
		}
	}
	if err == nil {
		err = s.writePlans()
	}
	if cap(s.wbuf) > 2*storeWriteMax {
		s.wbuf = nil
	}
	if err != nil {
		return err
	}
	// Buckets whose live counts wait for a tick stay dirty.
	kept := s.dirty[:0]
	for _, b := range s.dirty {
		if b.dirty = len(b.marks) > 0 && !b.gone; b.dirty {
			kept = append(kept, b)
		}
	}
	clear(s.dirty[len(kept):])
	s.dirty = kept
	if !deferPops {
		clear(s.drops)
		s.drops = s.drops[:0]
	}
	s.buffered, s.dirtySince, s.bigBucket = 0, 0, false
	return nil
}

// planBucket appends b's frames: its declaration before its first chunk,
// its changed live counts (unless deferPops), then its buffered records in
// chunks.
func (s *Store) planBucket(b *storeBucket, deferPops bool) error {
	if b.gone {
		return nil
	}
	if len(b.marks) > 0 && !deferPops {
		p := binary.AppendUvarint([]byte{recLive}, b.id)
		for _, m := range b.marks {
			p = binary.AppendUvarint(p, uint64(m.no))
			p = binary.AppendUvarint(p, uint64(m.live))
		}
		if err := s.planFrame(storePlan{b: b, typ: recLive, marks: len(b.marks)}, p, 0); err != nil {
			return err
		}
	}
	n := b.buffered()
	if n == 0 {
		return nil
	}
	if !b.declared {
		p := binary.AppendUvarint([]byte{recBucket}, b.id)
		p = append(p, b.kind())
		p = append(p, b.rel...)
		if err := s.planFrame(storePlan{b: b, typ: recBucket}, p, 0); err != nil {
			return err
		}
	}
	no := b.nextChunk
	for i := b.wpos; i < len(b.wends); {
		from := b.wstart(i)
		j := i + 1
		for j < len(b.wends) && int(b.wends[j])-from <= storeChunkMax {
			j++
		}
		count := uint32(j - i)
		hdr := binary.AppendUvarint([]byte{recChunk}, b.id)
		hdr = binary.AppendUvarint(hdr, uint64(no))
		hdr = binary.AppendUvarint(hdr, uint64(count))
		base := s.ids.Next(uint64(count))
		plan := storePlan{b: b, typ: recChunk, records: j - i, ref: chunkRef{base: base, no: no, count: count, live: count}}
		if err := s.planFrame(plan, hdr, base, b.wbuf[from:b.wends[j-1]]); err != nil {
			return err
		}
		no++
		i = j
	}
	return nil
}

// planFrame appends one frame of the parts as payload.
func (s *Store) planFrame(p storePlan, head []byte, id uint64, rest ...[]byte) error {
	start := len(s.wbuf)
	s.frameRoom(head, rest)
	b, fs := recordio.Begin(s.wbuf)
	b = append(b, head...)
	for _, r := range rest {
		b = append(b, r...)
	}
	b, err := recordio.End(b, fs, recordio.Meta{ID: id})
	if err != nil {
		s.wbuf = b[:start]
		return fmt.Errorf("queues: queue store %s: %w", s.dir, err)
	}
	s.wbuf = b
	p.start, p.end = start, len(b)
	s.plans = append(s.plans, p)
	return nil
}

// frameRoom makes room in wbuf for a frame of head and rest. When wbuf
// must grow, it grows at once to what the flush holds (up to a write's
// worth, as writeDirty writes it in pieces), not by a quarter at a time.
func (s *Store) frameRoom(head []byte, rest [][]byte) {
	need := len(head) + recordio.Overhead
	for _, r := range rest {
		need += len(r)
	}
	if cap(s.wbuf)-len(s.wbuf) < need {
		all := min(s.buffered+len(s.dirty)*64, storeWriteMax+64<<10)
		s.wbuf = slices.Grow(s.wbuf, max(need, all-len(s.wbuf)))
	}
}

// writePlans writes the planned frames, rolling to a new segment when one
// fills up, and applies each written frame's plan.
func (s *Store) writePlans() error {
	for i := 0; i < len(s.plans); {
		seg, err := s.writable()
		if err != nil {
			return err
		}
		// Take the frames that fit; at least one into a segment holding
		// only its header.
		j := i
		room := s.cfg.SegmentBytes - seg.size
		for j < len(s.plans) && int64(s.plans[j].end-s.plans[i].start) <= room {
			j++
		}
		if j == i {
			if seg.size > max(segHeaderSize, seg.fresh) {
				s.retire() // full: the next writable() rolls
				continue
			}
			j = i + 1
		}
		from, to := s.plans[i].start, s.plans[j-1].end
		f, err := s.fileOf(seg)
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(s.wbuf[from:to], seg.size); err != nil {
			// Cut the frames back off, so that no torn frame sits in the
			// middle of the log when later writes succeed.
			if terr := f.Truncate(seg.size); terr != nil {
				s.broken = fmt.Errorf("queues: queue store %s: a failed write could not be undone: %w (after %w)", s.dir, terr, err)
				return s.broken
			}
			return fmt.Errorf("queues: queue store %s: write %s: %w", s.dir, storeSegName(seg.no), err)
		}
		for _, p := range s.plans[i:j] {
			s.apply(seg, seg.size+int64(p.start-from), p)
		}
		seg.size += int64(to - from)
		s.sinceCkpt += int64(to - from)
		seg.unsynced = true
		if s.unsyncedSince == 0 {
			s.unsyncedSince = clock.Exact()
		}
		i = j
	}
	return nil
}

// apply makes a written frame's change in memory.
func (s *Store) apply(seg *storeSeg, off int64, p storePlan) {
	b := p.b
	switch p.typ {
	case recBucket:
		b.declared = true
	case recLive:
		b.marks = b.marks[:copy(b.marks, b.marks[p.marks:])]
	case recChunk:
		ref := p.ref
		ref.seg, ref.off, ref.size = seg.no, uint32(off), uint32(p.end-p.start)
		b.chunks = append(b.chunks, ref)
		b.nextChunk = ref.no + 1
		b.live += int(ref.count)
		b.takeBuffered(p.records)
		seg.hold(ref)
		s.maxID = max(s.maxID, ref.base+uint64(ref.count)-1)
	case recRelocate:
		s.applyRelocate(seg, off, p)
	case recDrop:
		s.drops = slices.DeleteFunc(s.drops, func(d *storeBucket) bool { return d.id == p.drop })
	}
}

// segHeaderSize is the size of a segment's header frame.
var segHeaderSize = int64(len(appendSegHeader(nil, 1)))

// writable returns the segment to write to, creating one when there is none
// or the active one is full.
func (s *Store) writable() (*storeSeg, error) {
	if s.active != nil && s.active.size < s.cfg.SegmentBytes {
		return s.active, nil
	}
	s.retire()
	n := s.nextSeg
	path := s.segPath(n)
	f, err := s.openFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("queues: queue store %s: %w", s.dir, err)
	}
	hdr := s.appendDeclarations(appendSegHeader(nil, n))
	if _, err := f.WriteAt(hdr, 0); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("queues: queue store %s: %w", s.dir, err)
	}
	// The header and the segment's name are fsynced under every policy
	// (one fsync per segment): a power cut that keeps later pages of a
	// new segment but not its first would leave a file without a header,
	// which the store refuses to open.
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("queues: queue store %s: fsync %s: %w", s.dir, storeSegName(n), err)
	}
	if err := recordio.SyncDir(s.dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("queues: queue store %s: fsync: %w", s.dir, err)
	}
	s.nextSeg++
	seg := &storeSeg{no: n, size: int64(len(hdr)), fresh: int64(len(hdr)), lastDeath: clock.Coarse()}
	s.opened(seg, f)
	s.segs[n], s.active = seg, seg
	return seg, nil
}

// appendDeclarations appends, after a new segment's header, a recBucket
// frame for every bucket already declared in the log (format 2), so that
// each segment declares every bucket whose frames it holds and a lost
// checkpoint can be rebuilt from the segments left, whichever were deleted.
func (s *Store) appendDeclarations(dst []byte) []byte {
	ids := make([]uint64, 0, len(s.buckets))
	for id, b := range s.buckets {
		if b.declared {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var p []byte
	for _, id := range ids {
		b := s.buckets[id]
		p = binary.AppendUvarint(append(p[:0], recBucket), id)
		p = append(append(p, b.kind()), b.rel...)
		dst, _ = recordio.Append(dst, p, recordio.Meta{})
	}
	return dst
}

// retire stops writing to the active segment; a checkpoint deletes it once
// no live chunk is left in it.
func (s *Store) retire() {
	if s.active != nil && s.active.live == 0 {
		s.deadSegs++
	}
	s.active = nil
}

// sync fsyncs the segments written since the last sync, and the directory
// when segments came or went.
func (s *Store) sync() error {
	for _, seg := range s.segs {
		if seg.unsynced && seg.f != nil {
			if err := seg.f.Sync(); err != nil {
				return fmt.Errorf("queues: queue store %s: fsync: %w", s.dir, err)
			}
			seg.unsynced = false
		}
	}
	if s.dirSync {
		if err := recordio.SyncDir(s.dir); err != nil {
			return fmt.Errorf("queues: queue store %s: fsync: %w", s.dir, err)
		}
		s.dirSync = false
	}
	s.unsyncedSince = 0
	return nil
}

// hold counts chunk c, which lives in seg.
func (seg *storeSeg) hold(c chunkRef) {
	seg.live++
	seg.liveBytes += int64(c.size)
}

// chunkGone notes that chunk c left its segment.
func (s *Store) chunkGone(c chunkRef) {
	seg := s.segs[c.seg]
	if seg == nil {
		return
	}
	seg.live--
	seg.liveBytes -= int64(c.size)
	seg.lastDeath = clock.Coarse()
	if seg.live == 0 && seg != s.active {
		s.deadSegs++
	}
}

// checkpointDue reports whether a flush at now writes a checkpoint: after
// min(32 MiB, a segment) of log, or a second after a segment emptied, but
// never for less than a quarter of the checkpoint's own size (a store of
// millions of chunks has a checkpoint of tens of megabytes), unless emptied
// segments have waited a minute.
func (s *Store) checkpointDue(now clock.Mono) bool {
	if s.sinceCkpt >= max(min(storeCheckpointBytes, s.cfg.SegmentBytes), 4*s.indexBytes) {
		return true
	}
	if s.deadSegs == 0 {
		return false
	}
	since := s.ckptAt.Since(now)
	return since >= storeCheckpointDead && (int64(s.deadSegs)*s.cfg.SegmentBytes >= s.indexBytes || since >= storeCheckpointIdle)
}

// checkpoint writes the store's state, so that a resume replays only the
// log written after it, then deletes the segments no live chunk needs.
func (s *Store) checkpoint() error {
	// The checkpoint must never name data a power cut could lose, and a
	// power cut must never leave a torn checkpoint in place of the last
	// one: it is fsynced under every policy, JOBDIR_FSYNC=never included
	// (checkpoints are rare: one per segment or 32 MiB of log at most).
	if s.unsyncedSince != 0 {
		if err := s.sync(); err != nil {
			return err
		}
	}
	pos := logPos{seg: s.nextSeg}
	if s.active != nil {
		pos = logPos{seg: s.active.no, off: s.active.size}
	}
	buf := s.appendIndex(nil, pos)
	s.indexBytes = int64(len(buf))
	tmp := filepath.Join(s.dir, IndexFile+".tmp")
	if err := writeFileSynced(tmp, buf, true); err != nil {
		return fmt.Errorf("queues: queue store %s: checkpoint: %w", s.dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, IndexFile)); err != nil {
		return fmt.Errorf("queues: queue store %s: checkpoint: %w", s.dir, err)
	}
	if err := recordio.SyncDir(s.dir); err != nil {
		return fmt.Errorf("queues: queue store %s: checkpoint: %w", s.dir, err)
	}
	s.ckpt, s.sinceCkpt, s.ckptAt = pos, 0, clock.Exact()
	return s.removeDeadSegments()
}

// removeDeadSegments deletes the segments, other than the active one, that
// hold no live chunk: the checkpoint just written needs none of them.
func (s *Store) removeDeadSegments() error {
	var errs []error
	for n, seg := range s.segs {
		if seg.live > 0 || seg == s.active {
			continue
		}
		errs = append(errs, s.closeFile(seg), s.removeSegFile(seg))
		delete(s.segs, n)
		s.dirSync = true
		if s.win.seg == n {
			s.win = readWindow{}
		}
	}
	s.deadSegs = 0
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("queues: queue store %s: remove segment: %w", s.dir, err)
	}
	return nil
}

// removeSegFile deletes a dead segment's file; one that was not a segment
// (its header unreadable: damaged, or another file in its place) is kept
// aside in the job's damaged-<UTC>/ directory instead, never deleted.
func (s *Store) removeSegFile(seg *storeSeg) error {
	if seg.headless {
		_, err := jobdir.MoveAside("", s.segPath(seg.no), false)
		return err
	}
	return os.Remove(s.segPath(seg.no))
}

// writeFileSynced writes b to a new file at path, fsynced when sync is true.
func writeFileSynced(path string, b []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// appendIndex appends the checkpoint of the store's state, whose log
// replay starts at pos.
func (s *Store) appendIndex(dst []byte, pos logPos) []byte {
	p := append([]byte{idxHeader}, storeIndexMagic...)
	p = append(p, storeVersion)
	for _, v := range [...]uint64{uint64(pos.seg), uint64(pos.off), s.nextBucket, uint64(s.nextSeg), s.maxID} {
		p = binary.AppendUvarint(p, v)
	}
	dst, _ = recordio.Append(dst, p, recordio.Meta{})
	ids := make([]uint64, 0, len(s.buckets))
	for id, b := range s.buckets {
		if b.declared {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	chunks := 0
	for _, id := range ids {
		b := s.buckets[id]
		p = append(p[:0], idxBucket)
		p = binary.AppendUvarint(p, id)
		p = append(p, b.kind())
		p = binary.AppendUvarint(p, uint64(b.nextChunk))
		p = append(p, b.rel...)
		dst, _ = recordio.Append(dst, p, recordio.Meta{})
		for rest := b.chunks; len(rest) > 0; {
			n := min(len(rest), idxChunksMax/40)
			p = append(p[:0], idxChunks)
			p = binary.AppendUvarint(p, id)
			p = binary.AppendUvarint(p, uint64(n))
			for _, c := range rest[:n] {
				p = appendChunkRef(p, c)
			}
			dst, _ = recordio.Append(dst, p, recordio.Meta{})
			chunks += n
			rest = rest[n:]
		}
	}
	p = append(p[:0], idxEnd)
	p = binary.AppendUvarint(p, uint64(len(ids)))
	p = binary.AppendUvarint(p, uint64(chunks))
	dst, _ = recordio.Append(dst, p, recordio.Meta{})
	return dst
}

// Close flushes the store, writes a checkpoint, and closes its files;
// segments left without live chunks are deleted. Buckets not closed first
// keep their buffered records written like the rest.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	var err error
	if !s.readOnly {
		s.writeDirtyFirst()
		err = s.flushLocked(clock.Exact(), true)
	}
	s.closed = true
	s.stopDecoder()
	return errors.Join(err, s.release())
}

// writeDirtyFirst writes the live counts left when no request is buffered,
// then retires the active segment if it holds no live chunk, so that a close
// with nothing left deletes every segment.
func (s *Store) writeDirtyFirst() {
	for _, b := range s.dirty {
		if b.buffered() > 0 {
			return
		}
	}
	if err := s.writeDirty(false); err != nil {
		return // flushLocked reports it
	}
	if s.active != nil && s.active.live == 0 {
		s.retire()
	}
}

// release closes the store's files.
func (s *Store) release() error {
	var errs []error
	for n, seg := range s.segs {
		errs = append(errs, s.closeFile(seg))
		delete(s.segs, n)
	}
	s.active = nil
	return errors.Join(errs...)
}

// readChunk returns the frame of c, from the read window when it holds it.
func (s *Store) readChunk(c chunkRef) ([]byte, error) {
	seg := s.segs[c.seg]
	if seg == nil {
		return nil, fmt.Errorf("segment %s is missing", storeSegName(c.seg))
	}
	off, size := int64(c.off), int64(c.size)
	if off+size > seg.size {
		return nil, fmt.Errorf("chunk at %d of %d bytes runs past the segment's end", off, size)
	}
	w := &s.win
	if w.seg != c.seg || off < w.off || off+size > w.off+int64(len(w.data)) {
		start, end := off, min(seg.size, off+max(size, storeReadWindow))
		if cap(w.data) < int(end-start) || cap(w.data) > 4*storeReadWindow {
			w.data = make([]byte, end-start)
		}
		w.data = w.data[:end-start]
		f, err := s.fileOf(seg)
		if err != nil {
			*w = readWindow{}
			return nil, err
		}
		if _, err := f.ReadAt(w.data, start); err != nil {
			*w = readWindow{}
			return nil, err
		}
		w.seg, w.off = c.seg, start
	}
	return w.data[off-w.off : off+size-w.off], nil
}

// readChunkBody reads chunk c of b and checks it is what b's reference
// says: a chunk frame of b with c's number, count and first delivery ID.
// The body's records alias the read window, which the next read reuses.
func (s *Store) readChunkBody(b *storeBucket, c chunkRef) (chunkBody, error) {
	frame, err := s.readChunk(c)
	if err != nil {
		return chunkBody{}, err
	}
	fr, _, err := recordio.Next(frame)
	if err != nil {
		return chunkBody{}, err
	}
	if t := fr.Payload[0]; t != recChunk && t != recRelocate {
		return chunkBody{}, fmt.Errorf("not a chunk")
	}
	body, err := parseChunk(fr.Payload)
	if err != nil {
		return chunkBody{}, err
	}
	if body.bucket != b.id || body.no != c.no || body.count != c.count || fr.ID != c.base {
		return chunkBody{}, fmt.Errorf("chunk %d of bucket %d found where chunk %d of bucket %d was expected", body.no, body.bucket, c.no, b.id)
	}
	return body, nil
}

// relKey returns the name of the bucket whose key is key: its path relative
// to the store's directory, with forward slashes.
func (s *Store) relKey(key string) (string, error) {
	if rel, ok := strings.CutPrefix(key, s.dir+string(filepath.Separator)); ok && filepath.Clean(rel) == rel && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel), nil // the common case, without filepath.Rel's work
	}
	rel, err := filepath.Rel(s.dir, key)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("queues: key %q is not inside the queue store %s", key, s.dir)
	}
	return filepath.ToSlash(rel), nil
}

// Bucket is [Store.Queue] for the disk queue factories
// ([framework.QueueStore]).
func (s *Store) Bucket(key string, lifo bool) (framework.Queue, error) {
	q, err := s.Queue(key, lifo)
	if err != nil {
		return nil, err
	}
	return q, nil
}

// Queue returns the queue of the bucket whose key is key (a path inside
// the store's directory), creating the bucket empty when the store has
// none. lifo must match the kind of an existing bucket.
func (s *Store) Queue(key string, lifo bool) (*Queue, error) {
	rel, err := s.relKey(key)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("queues: queue store %s: closed", s.dir)
	}
	b := s.byKey[rel]
	if b == nil {
		b = s.undrop(rel, lifo)
	}
	if b == nil {
		b = &storeBucket{s: s, id: s.nextBucket, rel: rel, lifo: lifo}
		s.nextBucket++
		s.buckets[b.id], s.byKey[rel] = b, b
	} else if b.lifo != lifo {
		return nil, fmt.Errorf("%w: bucket %s of queue store %s holds a %s queue, and a %s queue was asked for; resume with the disk queue the job started with",
			disk.ErrNotQueue, rel, s.dir, kindName(b.lifo), kindName(lifo))
	}
	b.claimed = true
	return &Queue{b: b, key: key}, nil
}

func kindName(lifo bool) string {
	if lifo {
		return "LIFO"
	}
	return "FIFO"
}

// BucketInfo describes a bucket of a store.
type BucketInfo struct {
	// Key is the bucket's path relative to the store's directory, with
	// forward slashes ("0", "example.com-<md5>/-3").
	Key  string
	LIFO bool
	// Len is the number of requests it holds.
	Len int
	// Chunks is the number of chunks holding them on disk.
	Chunks int
}

// LastID returns the largest delivery identifier the store has handed out
// (or found on disk): every record written after the call gets a larger
// one, in this process and in later ones.
func (s *Store) LastID() uint64 { return s.ids.Last() }

// Buckets describes the store's buckets, by key.
func (s *Store) Buckets() []BucketInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BucketInfo, 0, len(s.byKey))
	for _, b := range s.byKey {
		out = append(out, BucketInfo{Key: b.rel, LIFO: b.lifo, Len: b.len(), Chunks: len(b.chunks)})
	}
	slices.SortFunc(out, func(a, b BucketInfo) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Segments returns the number of segment files the store holds.
func (s *Store) Segments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.segs)
}

// DropUnclaimed deletes every bucket for which Bucket was not called since
// the store was opened, and returns their keys: a priority queue calls it
// once it has taken every bucket its bucket journal lists, so that what the
// journal recorded as removed (its removal durable, its drop from the store
// not yet) goes.
func (s *Store) DropUnclaimed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	for _, b := range s.byKey {
		if !b.claimed {
			gone = append(gone, b.rel)
			s.dropBucket(b)
		}
	}
	slices.Sort(gone)
	return gone
}

// dropBucket forgets b and everything it holds.
func (s *Store) dropBucket(b *storeBucket) {
	b.drained = b.len() == 0
	for _, c := range b.chunks {
		s.chunkGone(c)
	}
	b.chunks, b.live = nil, 0
	s.buffered -= len(b.wbuf) - b.wstart(b.wpos)
	b.wbuf, b.wends, b.wpos = nil, nil, 0
	b.cur = loadedChunk{}
	s.forgetAhead(b)
	delete(s.byKey, b.rel)
	delete(s.buckets, b.id)
	if b.declared {
		// Its live counts not yet written are kept: were the bucket taken
		// back before its drop is written (Store.Queue), they still are.
		s.drops = append(s.drops, b)
	} else {
		b.marks = nil
	}
	b.gone = true
}

// undrop takes back the drained bucket of key rel whose drop is deferred
// to the next tick (popsDeferred), so that the key is not declared again
// as a new bucket before the old one's drop is written: a resume reads
// such a declaration as the old bucket drained with every pop durable,
// which a power cut before the tick would make untrue. It returns nil
// when there is none (or pops are not deferred, or the bucket is of the
// other kind): the key gets a new bucket, declared after the drop.
func (s *Store) undrop(rel string, lifo bool) *storeBucket {
	if !s.popsDeferred(false) {
		return nil
	}
	i := slices.IndexFunc(s.drops, func(d *storeBucket) bool { return d.rel == rel })
	if i < 0 || s.drops[i].lifo != lifo || !s.drops[i].drained {
		return nil
	}
	b := s.drops[i]
	s.drops = slices.Delete(s.drops, i, i+1)
	b.gone = false
	s.buckets[b.id], s.byKey[rel] = b, b
	if len(b.marks) > 0 {
		s.markDirty(b)
	}
	return b
}
