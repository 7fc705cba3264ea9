package filequeue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/internal/recordio"
)

// lifoLayout keeps a LIFO queue as one file: a header with a cursor, then
// frames whose seq counts the frames below them. A push appends; a pop reads
// the frame that ends the stack; making pops durable rewrites the cursor to
// the new end of the stack, and the next push overwrites what was popped.
// Reopening reads the header and, after a crash, the frames written after
// the cursor: a few system calls whatever the queue holds.
//
// Why this layout: queuelib's (payload, then length) lets a stack be read
// from its end with no index; a checksum and the count in every frame, and
// a cursor rewritten in place instead of a count header written at close,
// make it crash-safe. Pops never truncate: truncating and deleting are the
// slowest operations of many file systems (a journal commit, a discard),
// while rewriting 32 bytes is as cheap as a write gets. The cursor's id bound
// tells frames written after it (larger ids) from the remains of popped ones.
type lifoLayout struct {
	q       *Queue
	file    diskFile
	onDisk  bool  // the file exists with its header
	size    int64 // the file's length
	wend    int64 // end of the frames written: [top, wend) are pops not yet durable
	top     int64 // end of the frames not popped
	nfile   int   // frames in [header, top)
	nbuf    int   // frames in q.wbuf
	cur     recordio.Cursor
	lastID  uint64 // id of the last frame written
	rb      readBuf
	dirty   bool
	syncDir []string
}

func (l *lifoLayout) count() int        { return l.nfile + l.nbuf }
func (l *lifoLayout) seq() uint32       { return uint32(l.count()) }
func (l *lifoLayout) pushed(int) error  { l.nbuf++; return nil }
func (l *lifoLayout) pendingPops() bool { return l.top < l.wend }

func (l *lifoLayout) fresh() {
	l.onDisk = false
	l.size, l.wend, l.top, l.nfile, l.nbuf = headerSize, headerSize, headerSize, 0, 0
	l.cur = recordio.Cursor{Off: headerSize}
}

func (l *lifoLayout) load() error {
	q := l.q
	fh, err := q.pool.acquire(&l.file, false)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			l.fresh()
			return nil
		case errors.Is(err, syscall.EISDIR):
			return fmt.Errorf("%w: %s is a directory, not a LIFO queue file (written with a FIFO disk queue?)", disk.ErrNotQueue, l.file.path)
		}
		return err
	}
	defer q.pool.release(&l.file)
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	q.dev = fileDev(fi)
	var hdr [headerSize]byte
	n, err := fh.ReadAt(hdr[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if tornCreation(hdr[:n], size, lifoMagic) {
		// Cut short while being created (the header and the first records
		// are one write): it never held an acknowledged record.
		if size > 0 {
			q.report(l.file.path, 0, size, 0, "dropped a file torn while being created")
		} else {
			q.report(l.file.path, 0, 0, 0, "empty file (torn while being created, or cut to nothing: the requests it held, if any, are lost)")
		}
		l.fresh()
		return nil
	}
	h, herr := parseHeader(hdr[:n], lifoMagic)
	switch {
	case errors.Is(herr, errBadMagic):
		return fmt.Errorf("%w: %s has no frontier LIFO header (a job directory written by Scrapy, or another queue class?)", disk.ErrNotQueue, l.file.path)
	case errors.Is(herr, disk.ErrVersion):
		return fmt.Errorf("%s: %w", l.file.path, herr)
	}
	if herr != nil {
		// The fixed part holds nothing a LIFO needs; the cursor slots are
		// checksummed apart.
		q.report(l.file.path, 0, 0, 0, "header damaged ("+herr.Error()+"): repaired")
		if !q.readOnly {
			if _, err := fh.WriteAt(appendFixedHeader(nil, lifoMagic, 0), 0); err != nil {
				return fmt.Errorf("repair header of %s: %w", l.file.path, err)
			}
		}
	}
	fallback := false
	switch {
	case h.cursorOK && h.cursor.Off >= headerSize && int64(h.cursor.Off) <= size &&
		int64(h.cursor.Seq)*minFrame <= int64(h.cursor.Off)-headerSize:
		l.cur = h.cursor
	default:
		// No usable cursor: read the whole stack from the start.
		what := "cursor unreadable"
		if h.cursorOK && int64(h.cursor.Off) > size {
			what = "file cut short before the end of its records"
		}
		q.report(l.file.path, 0, 0, 0, what+": reading the records from the start")
		l.cur = recordio.Cursor{Off: headerSize}
		fallback = true
	}
	l.onDisk, l.size, l.nbuf = true, size, 0
	l.top, l.nfile, l.lastID = int64(l.cur.Off), int(l.cur.Seq), l.cur.ID
	if l.top < size {
		if err := l.recover(fh, fallback); err != nil {
			return err
		}
	}
	l.wend = l.top
	l.q.pool.ids.Saw(l.lastID)
	return nil
}

// recover takes in the frames written after the cursor: those that continue
// the numbering with ids above the cursor's bound. Without a cursor
// (fallback), whatever follows the last whole frame is reported dropped.
func (l *lifoLayout) recover(fh disk.File, fallback bool) error {
	sc := newFrameScanner(fh, l.top, l.size, uint32(l.nfile), true)
	recovered := 0
	for {
		fr, off, err := sc.next()
		if err == nil && fr.ID <= l.cur.ID {
			err = errStale
		}
		if err != nil {
			if sc.err != nil {
				return sc.err
			}
			// Past the cursor lie the remains of popped records; a bad frame
			// after records written since the cursor is a torn write.
			// With no pop ever recorded (the cursor at the header, no ID),
			// nothing stale lies past the cursor either.
			fresh := l.cur.ID == 0 && off == headerSize
			// The bytes at the cursor are the start of a frame some push
			// wrote (popped since or not), or nothing: a bad frame there
			// (not a whole stale one) is a push a crash interrupted, or
			// the file cut or damaged there. Records pushed after it are
			// still told from popped ones by their ids (the cursor's bound
			// covers every record written before it was).
			badAtCursor := errors.Is(err, recordio.ErrShort) || errors.Is(err, recordio.ErrCorrupt)
			if (recovered > 0 || fallback || fresh || badAtCursor) && !errors.Is(err, io.EOF) && !errors.Is(err, errStale) && !errors.Is(err, errSeq) {
				if ok, rerr := l.resync(fh, off); rerr != nil || ok {
					return rerr
				}
				l.q.report(l.file.path, off, l.size-off, 0, "dropped a torn tail")
			}
			return nil
		}
		l.top, l.nfile, l.lastID = off+int64(fr.Size()), l.nfile+1, fr.ID
		recovered++
	}
}

// resync looks past the bad frame at off, written since the cursor, for
// the records written after it (issue 10: damage, not a crash, when valid
// frames follow): frames newer than the records kept whose seqs go on
// beyond them. When there are, the stack's top moves past them, the bad
// stretch is reported, and ok is true; the bad record itself is skipped
// when a pop reaches it (corrupt).
func (l *lifoLayout) resync(fh disk.File, off int64) (ok bool, err error) {
	data := make([]byte, l.size-off)
	if _, err := fh.ReadAt(data, off); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	first := int64(-1)
	_, _ = recordio.Scan(data, 0, func(rel int64, fr recordio.Frame) error {
		// Newer than every record kept, and further up the stack: other
		// damaged records between them are skipped when popped.
		if fr.ID <= l.lastID || int(fr.Seq) < l.nfile {
			return nil
		}
		if first < 0 {
			first = off + rel
		}
		l.top, l.nfile, l.lastID = off+rel+int64(fr.Size()), int(fr.Seq)+1, fr.ID
		return nil
	})
	if first < 0 {
		return false, nil
	}
	l.q.report(l.file.path, off, first-off, 0, "corrupt stretch skipped, the records after it kept (damage, not a crash)")
	return true, nil
}

// errStale marks a whole frame past the cursor that was popped before it.
var errStale = errors.New("stale frame")

func (l *lifoLayout) next(pop bool) (recordio.Frame, string, int64, bool, error) {
	q := l.q
	if l.nbuf > 0 {
		fr, n, err := recordio.Prev(q.wbuf)
		if err != nil {
			return recordio.Frame{}, "", 0, false, fmt.Errorf("queues: disk queue %s: write buffer: %w", l.file.path, err)
		}
		off := l.wend + int64(len(q.wbuf)-n)
		if pop {
			q.wbuf = q.wbuf[:len(q.wbuf)-n]
			l.nbuf--
		}
		return fr, l.file.path, off, true, nil
	}
	if l.nfile == 0 {
		return recordio.Frame{}, "", 0, false, nil
	}
	fr, n, err := l.readBack(l.top)
	if err == nil && int(fr.Seq) != l.nfile-1 {
		err = fmt.Errorf("%w: seq %d, want %d", errSeq, fr.Seq, l.nfile-1)
	}
	if err != nil {
		return recordio.Frame{}, "", 0, false, l.corrupt(err)
	}
	off := l.top - int64(n)
	if pop {
		l.top = off
		l.nfile--
		if l.top <= l.rb.off {
			l.rb.spent = true
		}
	}
	return fr, l.file.path, off, true, nil
}

// readBack returns the frame that ends at end, through the read buffer,
// reading more of the file before end until the frame fits.
func (l *lifoLayout) readBack(end int64) (recordio.Frame, int, error) {
	need := l.q.readAhead()
	for {
		if l.rb.file == &l.file && end > l.rb.off && end <= l.rb.off+int64(len(l.rb.b)) {
			lo := max(0, headerSize-l.rb.off)
			fr, n, err := recordio.Prev(l.rb.b[min(lo, end-l.rb.off) : end-l.rb.off])
			if err == nil || !errors.Is(err, recordio.ErrShort) {
				return fr, n, err
			}
			if l.rb.off <= headerSize {
				return recordio.Frame{}, 0, fmt.Errorf("%w: frame starts before the data", recordio.ErrCorrupt)
			}
			need = max(need, n, int(end-l.rb.off)+1)
		}
		lo := max(headerSize, end-int64(need))
		fh, err := l.q.pool.acquire(&l.file, false)
		if err != nil {
			return recordio.Frame{}, 0, err
		}
		buf := l.rb.take(&l.file, lo, int(end-lo))
		m, err := fh.ReadAt(buf, lo)
		l.q.pool.release(&l.file)
		if err != nil || m < len(buf) {
			l.rb.drop()
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: file shorter than expected", recordio.ErrCorrupt)
			}
			return recordio.Frame{}, 0, err
		}
	}
}

// corrupt cuts the stack back to the last whole frame below the bad one
// and returns the error Pop reports.
func (l *lifoLayout) corrupt(cause error) error {
	l.rb.drop()
	fh, err := l.q.pool.acquire(&l.file, false)
	if err != nil {
		return err
	}
	data := make([]byte, l.top)
	_, err = fh.ReadAt(data, 0)
	l.q.pool.release(&l.file)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	// The stack below the bad record: the last valid frame that ends
	// before it, resynchronising over other damaged frames (issue 10: the
	// intact records between two damaged ones are kept); the records below
	// a damaged one are popped until it is reached, and it is skipped then.
	end, count := int64(headerSize), 0
	_, _ = recordio.Scan(data, headerSize, func(off int64, fr recordio.Frame) error {
		if e := off + int64(fr.Size()); e < l.top && int(fr.Seq) < l.nfile-1 && int(fr.Seq) >= count {
			end, count = e, int(fr.Seq)+1
		}
		return nil
	})
	dropped := max(l.nfile-count, 0)
	l.q.report(l.file.path, end, l.top-end, dropped, "skipped a corrupt record")
	bad := l.top
	l.top, l.nfile = end, count
	return &disk.CorruptRecordError{File: l.file.path, Offset: bad, Dropped: dropped, Err: cause}
}

func (l *lifoLayout) flush(commit, final bool) (bool, error) {
	q := l.q
	wrote := false
	if l.top < l.wend {
		if !commit {
			return false, nil // a push may not make pending pops durable
		}
		if err := l.writeCursor(); err != nil {
			return false, err
		}
		l.wend, wrote = l.top, true
	}
	if len(q.wbuf) == 0 {
		if final && l.onDisk && (int64(l.cur.Off) != l.top || l.cur.ID != l.lastID) {
			return true, l.writeCursor()
		}
		return wrote, nil
	}
	lastID := binary.LittleEndian.Uint64(q.wbuf[len(q.wbuf)-recordio.TailSize:])
	if !l.onDisk {
		made, err := mkdirs(filepath.Dir(l.file.path))
		l.syncDir = append(l.syncDir, made...)
		if err != nil {
			return wrote, err
		}
		fh, err := q.pool.acquire(&l.file, true)
		if err != nil {
			return wrote, fmt.Errorf("queues: create %s: %w", l.file.path, err)
		}
		c := recordio.Cursor{Gen: 1, Off: headerSize}
		buf := appendHeader(make([]byte, 0, headerSize+len(q.wbuf)), lifoMagic, 0, c)
		_, err = fh.WriteAt(append(buf, q.wbuf...), 0)
		if err == nil && q.dev == 0 {
			if fi, serr := fh.Stat(); serr == nil {
				q.dev = fileDev(fi)
			}
		}
		q.pool.release(&l.file)
		if err != nil {
			return wrote, fmt.Errorf("queues: write %s: %w", l.file.path, err)
		}
		l.onDisk, l.cur, l.size = true, c, headerSize
		l.syncDir = appendNew(l.syncDir, filepath.Dir(l.file.path))
	} else {
		fh, err := q.pool.acquire(&l.file, false)
		if err != nil {
			return wrote, fmt.Errorf("queues: open %s: %w", l.file.path, err)
		}
		_, err = fh.WriteAt(q.wbuf, l.wend)
		q.pool.release(&l.file)
		if err != nil {
			return wrote, fmt.Errorf("queues: write %s at offset %d: %w", l.file.path, l.wend, err)
		}
	}
	// Bytes cached past the old end are stale now.
	if l.rb.file == &l.file && l.rb.off+int64(len(l.rb.b)) > l.wend {
		if l.rb.off >= l.wend {
			l.rb.drop()
		} else {
			l.rb.b = l.rb.b[:l.wend-l.rb.off]
		}
	}
	l.wend += int64(len(q.wbuf))
	l.top = l.wend
	l.size = max(l.size, l.wend)
	l.nfile += l.nbuf
	l.nbuf = 0
	l.lastID = lastID
	l.dirty = true
	q.wbuf = q.wbuf[:0]
	// The cursor follows now and then, so that a reopen does not scan much;
	// it is always current after Close.
	lag := l.wend - int64(l.cur.Off)
	if final && lag > 0 || commit && lag >= lifoFlushCursorLag || lag >= lifoCursorLag {
		return true, l.writeCursor()
	}
	return true, nil
}

// How far the records may run past the cursor before a flush rewrites it;
// a reopen after a crash reads at most that much.
const (
	lifoCursorLag      = 1 << 20
	lifoFlushCursorLag = 64 << 10
)

// writeCursor makes the cursor say that the stack ends at top.
func (l *lifoLayout) writeCursor() error {
	c := recordio.Cursor{Gen: l.cur.Gen + 1, Off: uint64(l.top), ID: l.lastID, Seq: uint32(l.nfile)}
	if err := l.q.pool.writeCursor(&l.file, c); err != nil {
		return fmt.Errorf("queues: write cursor of %s: %w", l.file.path, err)
	}
	l.cur, l.dirty = c, true
	return nil
}

func (l *lifoLayout) remove() error {
	l.rb.drop()
	if err := l.q.pool.forget(&l.file); err != nil {
		return err
	}
	if err := os.Remove(l.file.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	l.fresh()
	return nil
}

func (l *lifoLayout) syncFiles() error {
	if l.dirty && l.onDisk {
		if err := l.q.pool.syncFile(&l.file); err != nil {
			return err
		}
		l.dirty = false
	}
	return syncDirs(&l.syncDir)
}

func (l *lifoLayout) anyFile() *diskFile {
	if l.onDisk {
		return &l.file
	}
	return nil
}

func (l *lifoLayout) release() error {
	l.rb.drop()
	return l.q.pool.forget(&l.file)
}

func (l *lifoLayout) dropReadBuffer() { l.rb.drop() }
func (l *lifoLayout) settle()         { l.rb.settle() }

func (l *lifoLayout) footprint() (int, int64) {
	if !l.onDisk {
		return 0, 0
	}
	return 1, l.size
}
