package filequeue

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/internal/recordio"
)

// fifoLayout keeps a FIFO queue as a directory of append-only segment files
// (see diskformat.go). Pushes append to the last segment; the head cursor in
// the first segment's header says where pops resume. Reopening reads the
// directory, the first segment's header and the last segment's last frame:
// a few system calls whatever the queue holds.
//
// Why this layout: appending and a 24-byte cursor rewrite are the cheapest
// durable operations a file system offers, and a pop never moves data. The
// length is the difference between the last frame's seq and the cursor's,
// so no count is stored anywhere, and nothing is written only at close.
type fifoLayout struct {
	q       *Queue
	dir     string
	segs    []*fifoSeg
	h       int    // segs[:h] are fully popped, deleted at the next commit
	hoff    int64  // offset of the next frame to pop in segs[h]
	hseq    uint32 // its seq
	nseq    uint32 // seq of the next push
	nextNum uint64
	rb      readBuf
	syncDir []string // directories whose entries changed since the last fsync
}

type fifoSeg struct {
	num    uint64
	file   diskFile
	first  uint32          // seq of its first frame
	size   int64           // bytes on disk in whole frames
	cur    recordio.Cursor // cursor on disk (Gen 0: none yet)
	hdr    bool            // header read (or segment created here)
	onDisk bool
	dirty  bool // written since the last fsync
}

func (f *fifoLayout) count() int  { return int(f.nseq - f.hseq) }
func (f *fifoLayout) seq() uint32 { return f.nseq }
func (f *fifoLayout) tail() *fifoSeg {
	return f.segs[len(f.segs)-1]
}

func (f *fifoLayout) newSeg(num uint64, first uint32) *fifoSeg {
	return &fifoSeg{
		num:   num,
		file:  diskFile{path: filepath.Join(f.dir, segName(num))},
		first: first,
		size:  headerSize,
		cur:   recordio.Cursor{Off: headerSize, Seq: first},
		hdr:   true,
	}
}

func (f *fifoLayout) fresh(num uint64) {
	f.segs = []*fifoSeg{f.newSeg(num, 0)}
	f.nextNum = num + 1
	f.h, f.hoff, f.hseq, f.nseq = 0, headerSize, 0, 0
}

func (f *fifoLayout) load() error {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			f.fresh(1)
			return nil
		}
		if errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("%w: %s is a file, not a FIFO queue directory (written with a LIFO disk queue?)", disk.ErrNotQueue, f.dir)
		}
		return err
	}
	var nums []uint64
	for _, e := range entries {
		if n, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			nums = append(nums, n)
		} else {
			f.q.cfg.Logger.Warn().Str("queue", f.dir).Str("file", e.Name()).Msg("disk queue: ignoring a file that is not a segment")
		}
	}
	if len(nums) == 0 {
		f.fresh(1)
		return nil
	}
	slices.Sort(nums)
	f.segs = f.segs[:0]
	for _, n := range nums {
		f.segs = append(f.segs, &fifoSeg{num: n, file: diskFile{path: filepath.Join(f.dir, segName(n))}, onDisk: true})
	}
	f.nextNum = nums[len(nums)-1] + 1
	for {
		ok, err := f.loadTail()
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if len(f.segs) == 0 {
			f.fresh(f.nextNum)
			return nil
		}
	}
	head := f.segs[0]
	if err := f.openSeg(head); err != nil {
		return err
	}
	f.h = 0
	if head.cur.Gen == 0 {
		f.q.report(head.file.path, slot0, 0, 0, "head cursor unreadable: resuming from the segment's first record")
	}
	f.hoff, f.hseq = int64(head.cur.Off), head.cur.Seq
	if f.hoff < headerSize {
		f.hoff = headerSize
	}
	if len(f.segs) == 1 && (f.hoff > head.size || !seqAhead(f.hseq, f.nseq)) {
		// The cursor is past the data: writes lost by a machine crash,
		// of records that had been popped.
		f.hoff, f.hseq = head.size, f.nseq
	}
	return nil
}

// loadTail reads the last segment: its header, its size, and its last
// frame, which gives the seq of the next push. A torn tail is cut off and
// reported. ok is false when the segment was only a torn creation, removed.
func (f *fifoLayout) loadTail() (ok bool, err error) {
	seg := f.tail()
	fh, err := f.q.pool.acquire(&seg.file, false)
	if err != nil {
		return false, err
	}
	defer f.q.pool.release(&seg.file)
	fi, err := fh.Stat()
	if err != nil {
		return false, err
	}
	size := fi.Size()
	f.q.dev = fileDev(fi)
	ra := int64(f.q.readAhead())
	var window []byte
	var wOff int64
	if size <= ra+headerSize {
		// The whole segment: it also serves the first pops.
		window = f.rb.take(&seg.file, 0, int(size))
	} else {
		window, wOff = make([]byte, ra), size-ra
	}
	if _, err := fh.ReadAt(window, wOff); err != nil {
		f.rb.drop()
		return false, err
	}
	hdrBytes := window
	if wOff > 0 {
		hdrBytes = make([]byte, headerSize)
		if _, err := fh.ReadAt(hdrBytes, 0); err != nil {
			return false, err
		}
	}
	h, herr := parseHeader(hdrBytes, fifoMagic)
	switch {
	case tornCreation(hdrBytes, size, fifoMagic):
		// Cut short while being created (the header and the first records
		// are one write): it never held an acknowledged record.
		f.rb.drop()
		f.q.report(seg.file.path, 0, size, 0, "dropped a segment torn while being created")
		if f.q.readOnly {
			if err := f.q.pool.forget(&seg.file); err != nil {
				return false, err
			}
		} else if err := f.removeSeg(seg); err != nil {
			return false, err
		}
		f.segs = f.segs[:len(f.segs)-1]
		return false, nil
	case errors.Is(herr, errBadMagic):
		return false, fmt.Errorf("%w: %s has no frontier FIFO segment header", disk.ErrNotQueue, seg.file.path)
	case errors.Is(herr, disk.ErrVersion):
		return false, fmt.Errorf("%s: %w", seg.file.path, herr)
	}
	fixedBad := herr != nil
	seg.hdr, seg.first, seg.size = true, h.first, size
	seg.cur = recordio.Cursor{Off: headerSize, Seq: h.first}
	if h.cursorOK {
		seg.cur = h.cursor
	}
	if !fixedBad {
		if size == headerSize {
			f.nseq = h.first
			return true, nil
		}
		if fr, _, err := lastFrame(fh, window, wOff, headerSize); err == nil &&
			seqAhead(h.first, fr.Seq) && int64(fr.Seq-h.first+1)*minFrame <= size-headerSize {
			f.nseq = fr.Seq + 1
			f.q.pool.ids.Saw(fr.ID)
			return true, nil
		}
	}
	// The last frame is torn or corrupt: find the last good one from the start.
	f.rb.drop()
	sc := newFrameScanner(fh, headerSize, size, h.first, !fixedBad)
	end, next, lastID, err := scanValid(sc)
	if err != nil {
		return false, err
	}
	if end < size {
		if !f.q.readOnly {
			if err := fh.Truncate(end); err != nil {
				return false, fmt.Errorf("cut torn tail of %s: %w", seg.file.path, err)
			}
		}
		f.q.report(seg.file.path, end, size-end, 0, "dropped a torn tail")
	}
	if fixedBad {
		first := seg.cur.Seq // the cursor's, or 0
		if end > headerSize {
			first = firstSeq(fh, end)
		} else {
			next = first
		}
		if err := f.repairHeader(seg, fh, first, herr); err != nil {
			return false, err
		}
	}
	seg.size = end
	f.nseq = next
	f.q.pool.ids.Saw(lastID)
	return true, nil
}

// repairHeader records a segment's first seq, lost with its header's fixed
// part: in memory, and in the file unless read-only. The cursor slots,
// checksummed apart, are kept when readable.
func (f *fifoLayout) repairHeader(seg *fifoSeg, fh disk.File, first uint32, cause error) error {
	f.q.report(seg.file.path, 0, 0, 0, "segment header damaged ("+cause.Error()+"): repaired from its records")
	seg.first = first
	if seg.cur.Gen == 0 {
		seg.cur = recordio.Cursor{Off: headerSize, Seq: first}
	}
	if f.q.readOnly {
		return nil
	}
	if _, err := fh.WriteAt(appendFixedHeader(nil, fifoMagic, first), 0); err != nil {
		return fmt.Errorf("repair header of %s: %w", seg.file.path, err)
	}
	seg.dirty = true
	return nil
}

// firstSeq returns the seq of the first frame of a segment.
func firstSeq(r io.ReaderAt, end int64) uint32 {
	sc := newFrameScanner(r, headerSize, end, 0, false)
	if fr, _, err := sc.next(); err == nil {
		return fr.Seq
	}
	return 0
}

// scanValid reads frames to the end, skipping corrupt stretches (a bad
// frame, one cut short included, that valid frames follow), and returns the
// end of the last valid frame, the seq after it and its id.
func scanValid(sc *frameScanner) (end int64, next uint32, lastID uint64, err error) {
	end, next = sc.off, sc.seq
	for {
		fr, off, err := sc.next()
		switch {
		case err == nil:
			end, next, lastID = off+int64(fr.Size()), fr.Seq+1, fr.ID
			continue
		case errors.Is(err, io.EOF):
			return end, next, lastID, nil
		case errors.Is(err, recordio.ErrShort), errors.Is(err, recordio.ErrCorrupt), errors.Is(err, errSeq):
			// A frame running past the end is a torn tail only when no
			// valid frame follows it: a damaged length field makes a
			// frame in the middle look that way too.
			found, rerr := sc.resync()
			if rerr != nil {
				return 0, 0, 0, rerr
			}
			if !found {
				return end, next, lastID, nil
			}
		default:
			return 0, 0, 0, err
		}
	}
}

// lastFrame parses the frame that ends the file, given the file's last
// bytes (window, read at wOff), reading more when the frame is larger.
func lastFrame(r io.ReaderAt, window []byte, wOff, dataStart int64) (recordio.Frame, int, error) {
	lo := max(0, dataStart-wOff)
	if lo > int64(len(window)) {
		return recordio.Frame{}, 0, recordio.ErrShort
	}
	fr, n, err := recordio.Prev(window[lo:])
	if !errors.Is(err, recordio.ErrShort) || n == 0 {
		return fr, n, err
	}
	end := wOff + int64(len(window))
	if end-int64(n) < dataStart {
		return recordio.Frame{}, 0, fmt.Errorf("%w: frame before the data", recordio.ErrCorrupt)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, end-int64(n)); err != nil {
		return recordio.Frame{}, 0, err
	}
	return recordio.Prev(b)
}

// openSeg reads the header and size of a segment before the last one.
func (f *fifoLayout) openSeg(seg *fifoSeg) error {
	if seg.hdr {
		return nil
	}
	fh, err := f.q.pool.acquire(&seg.file, false)
	if err != nil {
		return err
	}
	defer f.q.pool.release(&seg.file)
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	seg.size = fi.Size()
	buf := f.rb.take(&seg.file, 0, int(min(seg.size, int64(max(f.q.readAhead(), headerSize+minFrame)))))
	n, err := fh.ReadAt(buf, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
		return err
	}
	seg.hdr = true
	h, herr := parseHeader(buf, fifoMagic)
	switch {
	case tornCreation(buf, seg.size, fifoMagic):
		f.rb.drop()
		f.q.report(seg.file.path, 0, seg.size, 0, "segment torn while being created: skipped")
		seg.first = f.hseq
		seg.cur = recordio.Cursor{Off: headerSize, Seq: f.hseq}
		seg.size = headerSize
		return nil
	case errors.Is(herr, errBadMagic):
		return fmt.Errorf("%w: %s has no frontier FIFO segment header", disk.ErrNotQueue, seg.file.path)
	case errors.Is(herr, disk.ErrVersion):
		return fmt.Errorf("%s: %w", seg.file.path, herr)
	case herr != nil:
		seg.cur = h.cursor
		first := f.hseq
		if fr, _, err := recordio.Next(buf[headerSize:]); err == nil {
			first = fr.Seq
		} else if h.cursorOK {
			first = h.cursor.Seq
		}
		return f.repairHeader(seg, fh, first, herr)
	}
	seg.first = h.first
	seg.cur = recordio.Cursor{Off: headerSize, Seq: h.first}
	if h.cursorOK {
		seg.cur = h.cursor
	}
	return nil
}

func (f *fifoLayout) pushed(start int) error {
	q := f.q
	tail := f.tail()
	if tail.size+int64(len(q.wbuf)) > q.cfg.SegmentBytes && tail.size+int64(start) > headerSize {
		// The frame does not fit: finish this segment, start the next.
		frame := append([]byte(nil), q.wbuf[start:]...)
		q.wbuf = q.wbuf[:start]
		if _, err := f.writeData(); err != nil {
			return err
		}
		f.segs = append(f.segs, f.newSeg(f.nextNum, f.nseq))
		f.nextNum++
		q.wbuf = append(q.wbuf, frame...)
	}
	f.nseq++
	return nil
}

func (f *fifoLayout) pendingPops() bool {
	if f.h > 0 {
		return true
	}
	c := f.segs[0].cur
	return int64(c.Off) != f.hoff || c.Seq != f.hseq
}

func (f *fifoLayout) next(pop bool) (recordio.Frame, string, int64, bool, error) {
	q := f.q
	for f.count() > 0 {
		seg := f.segs[f.h]
		last := f.h == len(f.segs)-1
		if last && f.hoff >= seg.size {
			// Still in the write buffer.
			off := f.hoff
			if off-seg.size >= int64(len(q.wbuf)) {
				f.hseq = f.nseq // nothing left: records were dropped as corrupt
				break
			}
			fr, n, err := recordio.Next(q.wbuf[off-seg.size:])
			if err != nil {
				return recordio.Frame{}, "", 0, false, fmt.Errorf("queues: disk queue %s: write buffer: %w", f.dir, err)
			}
			if fr.Seq != f.hseq && seqAhead(f.hseq, fr.Seq) {
				f.hseq = fr.Seq // after records dropped as corrupt
			}
			if pop {
				f.hoff += int64(n)
				f.hseq++
			}
			return fr, seg.file.path, off, true, nil
		}
		if err := f.openSeg(seg); err != nil {
			return recordio.Frame{}, "", 0, false, err
		}
		if f.hoff >= seg.size {
			f.advance()
			continue
		}
		off := f.hoff
		fr, n, err := f.read(seg, off)
		if err == nil && fr.Seq != f.hseq {
			if seqAhead(f.hseq, fr.Seq) {
				q.report(seg.file.path, off, 0, int(fr.Seq-f.hseq), "records missing before this one")
				f.hseq = fr.Seq
			} else {
				err = fmt.Errorf("%w: seq %d, want %d", errSeq, fr.Seq, f.hseq)
			}
		}
		if err != nil {
			return recordio.Frame{}, "", 0, false, f.corrupt(seg, off, err)
		}
		if pop {
			f.hoff += int64(n)
			f.hseq++
			f.rb.consumed(f.hoff)
		}
		return fr, seg.file.path, off, true, nil
	}
	return recordio.Frame{}, "", 0, false, nil
}

// advance moves the head to the start of the next segment.
func (f *fifoLayout) advance() {
	f.h++
	f.hoff = headerSize
	f.rb.drop()
	nxt := f.segs[f.h]
	if err := f.openSeg(nxt); err != nil {
		return // reported by the read that follows
	}
	if nxt.first != f.hseq && seqAhead(f.hseq, nxt.first) {
		f.q.report(f.segs[f.h-1].file.path, f.segs[f.h-1].size, 0, int(nxt.first-f.hseq), "records missing at the end of a segment")
		f.hseq = nxt.first
	}
}

// read returns the frame at off of seg, through the read buffer.
func (f *fifoLayout) read(seg *fifoSeg, off int64) (recordio.Frame, int, error) {
	need := 0
	if b, ok := f.rb.at(&seg.file, off); ok {
		fr, n, err := recordio.Next(b)
		if err == nil || !errors.Is(err, recordio.ErrShort) {
			return fr, n, err
		}
		need = n
	}
	end := min(seg.size, off+max(int64(f.q.readAhead()), int64(need)))
	fh, err := f.q.pool.acquire(&seg.file, false)
	if err != nil {
		return recordio.Frame{}, 0, err
	}
	buf := f.rb.take(&seg.file, off, int(end-off))
	m, err := fh.ReadAt(buf, off)
	f.q.pool.release(&seg.file)
	f.rb.b = buf[:m]
	if err != nil && !errors.Is(err, io.EOF) {
		f.rb.drop()
		return recordio.Frame{}, 0, err
	}
	return recordio.Next(f.rb.b)
}

// corrupt skips the bad bytes at off of seg, to the next valid frame, and
// returns the error Pop reports.
func (f *fifoLayout) corrupt(seg *fifoSeg, off int64, cause error) error {
	f.rb.drop()
	dropped := 0
	fh, err := f.q.pool.acquire(&seg.file, false)
	if err != nil {
		return err
	}
	sc := newFrameScanner(fh, off, seg.size, f.hseq, true)
	found, err := sc.resync()
	f.q.pool.release(&seg.file)
	if err != nil {
		return err
	}
	switch {
	case found:
		dropped = int(sc.seq - f.hseq)
		f.hoff, f.hseq = sc.off, sc.seq
	case f.h == len(f.segs)-1:
		f.hoff = seg.size
		if len(f.q.wbuf) > 0 {
			if fr, _, err := recordio.Next(f.q.wbuf); err == nil {
				dropped, f.hseq = int(fr.Seq-f.hseq), fr.Seq
			}
		} else {
			dropped, f.hseq = int(f.nseq-f.hseq), f.nseq
		}
	default:
		f.hoff = seg.size // advance() counts what is missing
	}
	f.q.report(seg.file.path, off, f.hoff-off, dropped, "skipped a corrupt record")
	return &disk.CorruptRecordError{File: seg.file.path, Offset: off, Dropped: dropped, Err: cause}
}

func (f *fifoLayout) flush(commit, _ bool) (bool, error) {
	wrote, err := f.writeData()
	if err != nil {
		return false, err
	}
	if commit && f.pendingPops() {
		if err := f.commit(); err != nil {
			return wrote, err
		}
		wrote = true
	}
	return wrote, nil
}

// writeData appends the write buffer to the last segment, creating it
// (header and data in one write) when needed.
func (f *fifoLayout) writeData() (bool, error) {
	q := f.q
	if len(q.wbuf) == 0 {
		return false, nil
	}
	tail := f.tail()
	if !tail.onDisk {
		if err := f.mkdir(); err != nil {
			return false, err
		}
		fh, err := q.pool.acquire(&tail.file, true)
		if err != nil {
			return false, fmt.Errorf("queues: create %s: %w", tail.file.path, err)
		}
		c := recordio.Cursor{Gen: 1, Off: headerSize, Seq: tail.first}
		buf := appendHeader(make([]byte, 0, headerSize+len(q.wbuf)), fifoMagic, tail.first, c)
		_, err = fh.WriteAt(append(buf, q.wbuf...), 0)
		if err == nil && q.dev == 0 {
			if fi, serr := fh.Stat(); serr == nil {
				q.dev = fileDev(fi)
			}
		}
		q.pool.release(&tail.file)
		if err != nil {
			return false, fmt.Errorf("queues: write %s: %w", tail.file.path, err)
		}
		tail.onDisk, tail.cur = true, c
		f.syncDir = appendNew(f.syncDir, f.dir)
	} else {
		fh, err := q.pool.acquire(&tail.file, false)
		if err != nil {
			return false, fmt.Errorf("queues: open %s: %w", tail.file.path, err)
		}
		_, err = fh.WriteAt(q.wbuf, tail.size)
		q.pool.release(&tail.file)
		if err != nil {
			return false, fmt.Errorf("queues: write %s at offset %d: %w", tail.file.path, tail.size, err)
		}
	}
	tail.size += int64(len(q.wbuf))
	tail.dirty = true
	q.wbuf = q.wbuf[:0]
	return true, nil
}

// commit makes pops durable: it deletes the segments popped to their end
// and rewrites the head cursor.
func (f *fifoLayout) commit() error {
	// A segment popped to its end goes now, not at the next pop.
	for f.h < len(f.segs)-1 && f.segs[f.h].hdr && f.hoff >= f.segs[f.h].size {
		f.advance()
	}
	for f.h > 0 {
		if err := f.removeSeg(f.segs[0]); err != nil {
			return err
		}
		f.segs = slices.Delete(f.segs, 0, 1)
		f.h--
	}
	seg := f.segs[0]
	if !seg.onDisk || (int64(seg.cur.Off) == f.hoff && seg.cur.Seq == f.hseq) {
		return nil
	}
	c := recordio.Cursor{Gen: seg.cur.Gen + 1, Off: uint64(f.hoff), Seq: f.hseq}
	if err := f.q.pool.writeCursor(&seg.file, c); err != nil {
		return fmt.Errorf("queues: write head cursor of %s: %w", seg.file.path, err)
	}
	seg.cur, seg.dirty = c, true
	return nil
}

func (f *fifoLayout) removeSeg(seg *fifoSeg) error {
	if f.rb.file == &seg.file {
		f.rb.drop()
	}
	if err := f.q.pool.forget(&seg.file); err != nil {
		return err
	}
	if err := os.Remove(seg.file.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	seg.onDisk = false
	return nil
}

func (f *fifoLayout) remove() error {
	for _, seg := range f.segs {
		if seg.onDisk {
			if err := f.removeSeg(seg); err != nil {
				return err
			}
		}
	}
	f.fresh(f.nextNum)
	if err := os.Remove(f.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.q.cfg.Logger.Warn().Err(err).Str("queue", f.dir).Msg("disk queue: directory left in place")
	}
	return nil
}

func (f *fifoLayout) mkdir() error {
	made, err := mkdirs(f.dir)
	f.syncDir = append(f.syncDir, made...)
	return err
}

func (f *fifoLayout) syncFiles() error {
	for _, seg := range f.segs {
		if !seg.dirty || !seg.onDisk {
			continue
		}
		if err := f.q.pool.syncFile(&seg.file); err != nil {
			return err
		}
		seg.dirty = false
	}
	return syncDirs(&f.syncDir)
}

func (f *fifoLayout) anyFile() *diskFile {
	if t := f.tail(); t.onDisk {
		return &t.file
	}
	if s := f.segs[0]; s.onDisk {
		return &s.file
	}
	return nil
}

func (f *fifoLayout) release() error {
	f.rb.drop()
	var errs []error
	for _, seg := range f.segs {
		errs = append(errs, f.q.pool.forget(&seg.file))
	}
	return errors.Join(errs...)
}

// mkdirs creates dir and its missing parents, and returns the directories
// whose entries changed (the parents of those created), to fsync.
func mkdirs(dir string) ([]string, error) {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return nil, fmt.Errorf("%w: %s is a file, not a FIFO queue directory (written with a LIFO disk queue?)", disk.ErrNotQueue, dir)
		}
		return nil, nil
	}
	var made []string
	for d := dir; ; {
		parent := filepath.Dir(d)
		made = append(made, parent)
		if _, err := os.Stat(parent); err == nil || parent == d {
			break
		}
		d = parent
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return made, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (f *fifoLayout) dropReadBuffer() { f.rb.drop() }
func (f *fifoLayout) settle()         { f.rb.settle() }

func (f *fifoLayout) footprint() (int, int64) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return 0, 0
	}
	files, bytes := 0, int64(0)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			files++
			bytes += fi.Size()
		}
	}
	return files, bytes
}
