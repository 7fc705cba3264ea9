package queues

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/frontier-go/frontier/internal/recordio"
)

// lifoLayout keeps a LIFO queue as one file: a header, then frames whose
// seq counts the frames below them. A push appends; a pop reads the frame
// that ends the file, and the file is truncated when pops are made durable.
// Reopening reads the file's last frame: its seq plus one is the length.
//
// Why this layout: queuelib's (payload, then length) lets a stack be read
// from its end with no index; adding a checksum and the count to every
// frame removes its count header, which was right only after a clean close.
// A torn tail fails its checksum and is cut back to the last whole frame.
type lifoLayout struct {
	q       *DiskQueue
	file    diskFile
	onDisk  bool  // the file exists with its header
	size    int64 // bytes on disk
	top     int64 // end of the frames not popped; pops in [top, size) are not durable yet
	nfile   int   // frames in [header, top)
	nbuf    int   // frames in q.wbuf
	rb      readBuf
	dirty   bool
	syncDir []string
}

func (l *lifoLayout) count() int        { return l.nfile + l.nbuf }
func (l *lifoLayout) seq() uint32       { return uint32(l.count()) }
func (l *lifoLayout) pushed(int) error  { l.nbuf++; return nil }
func (l *lifoLayout) pendingPops() bool { return l.top < l.size }

func (l *lifoLayout) fresh() {
	l.onDisk = false
	l.size, l.top, l.nfile, l.nbuf = lifoHeaderSize, lifoHeaderSize, 0, 0
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
			return fmt.Errorf("%w: %s is a directory, not a LIFO queue file (written with a FIFO disk queue?)", ErrNotDiskQueue, l.file.path)
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
	start := max(0, size-int64(q.cfg.ReadAhead))
	window := l.rb.take(&l.file, start, int(size-start))
	if _, err := fh.ReadAt(window, start); err != nil {
		l.rb.drop()
		return err
	}
	hdr := window
	if start > 0 {
		hdr = make([]byte, lifoHeaderSize)
		if _, err := fh.ReadAt(hdr, 0); err != nil {
			return err
		}
	}
	if size < lifoHeaderSize || allZero(hdr[:lifoHeaderSize]) {
		// Cut short while being created: it never held an acknowledged record.
		l.rb.drop()
		if size > 0 {
			q.report(l.file.path, 0, size, 0, "dropped a file torn while being created")
		}
		l.fresh()
		return nil
	}
	if string(hdr[:lifoHeaderSize]) != lifoMagic {
		l.rb.drop()
		return fmt.Errorf("%w: %s has no frontier LIFO header (a job directory written by Scrapy, or another queue class?)", ErrNotDiskQueue, l.file.path)
	}
	l.onDisk, l.nbuf = true, 0
	if size == lifoHeaderSize {
		l.size, l.top, l.nfile = size, size, 0
		return nil
	}
	if fr, _, err := lastFrame(fh, window, start, lifoHeaderSize); err == nil && int64(fr.Seq)+1 <= (size-lifoHeaderSize)/minFrame {
		l.size, l.top, l.nfile = size, size, int(fr.Seq)+1
		sawDeliveryID(fr.ID)
		return nil
	}
	// The last frame is torn or corrupt: keep the whole frames from the start.
	l.rb.drop()
	sc := newFrameScanner(fh, lifoHeaderSize, size, 0, true)
	end, next, lastID := lifoPrefix(sc)
	if sc.err != nil {
		return sc.err
	}
	if err := fh.Truncate(end); err != nil {
		return fmt.Errorf("cut torn tail of %s: %w", l.file.path, err)
	}
	q.report(l.file.path, end, size-end, 0, "dropped a torn tail")
	l.size, l.top, l.nfile = end, end, int(next)
	sawDeliveryID(lastID)
	return nil
}

// lifoPrefix reads frames from the start while they are whole, valid and
// numbered 0, 1, 2, …, and returns the end of the last one, the count and
// the last one's id.
func lifoPrefix(sc *frameScanner) (end int64, count uint32, lastID uint64) {
	end = sc.off
	for {
		fr, off, err := sc.next()
		if err != nil {
			return end, sc.seq, lastID
		}
		end, lastID = off+int64(fr.Size()), fr.ID
	}
}

func (l *lifoLayout) next(pop bool) (recordio.Frame, string, int64, bool, error) {
	q := l.q
	if l.nbuf > 0 {
		fr, n, err := recordio.Prev(q.wbuf)
		if err != nil {
			return recordio.Frame{}, "", 0, false, fmt.Errorf("queues: disk queue %s: write buffer: %w", l.file.path, err)
		}
		off := l.top + int64(len(q.wbuf)-n)
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
			l.rb.drop()
		}
	}
	return fr, l.file.path, off, true, nil
}

// readBack returns the frame that ends at end, through the read buffer.
func (l *lifoLayout) readBack(end int64) (recordio.Frame, int, error) {
	need := 0
	if l.rb.file == &l.file && end > l.rb.off && end <= l.rb.off+int64(len(l.rb.b)) {
		lo := max(0, lifoHeaderSize-l.rb.off)
		if lo < end-l.rb.off {
			fr, n, err := recordio.Prev(l.rb.b[lo : end-l.rb.off])
			if err == nil || !errors.Is(err, recordio.ErrShort) {
				return fr, n, err
			}
			need = n
			if l.rb.off <= lifoHeaderSize || need == 0 {
				return recordio.Frame{}, 0, fmt.Errorf("%w: frame starts before the data", recordio.ErrCorrupt)
			}
		}
	}
	lo := max(lifoHeaderSize, end-max(int64(l.q.cfg.ReadAhead), int64(need)))
	fh, err := l.q.pool.acquire(&l.file, false)
	if err != nil {
		return recordio.Frame{}, 0, err
	}
	buf := l.rb.take(&l.file, lo, int(end-lo))
	m, err := fh.ReadAt(buf, lo)
	l.q.pool.release(&l.file)
	if err != nil || m < len(buf) {
		l.rb.drop()
		if err == nil {
			err = fmt.Errorf("%w: file shorter than expected", recordio.ErrShort)
		}
		return recordio.Frame{}, 0, err
	}
	fr, n, err := recordio.Prev(buf)
	if errors.Is(err, recordio.ErrShort) {
		err = fmt.Errorf("%w: frame starts before the data", recordio.ErrCorrupt)
	}
	return fr, n, err
}

// corrupt cuts the queue back to the last whole frame below the bad one
// and returns the error Pop reports.
func (l *lifoLayout) corrupt(cause error) error {
	l.rb.drop()
	fh, err := l.q.pool.acquire(&l.file, false)
	if err != nil {
		return err
	}
	sc := newFrameScanner(fh, lifoHeaderSize, l.top, 0, true)
	end, count, _ := lifoPrefix(sc)
	l.q.pool.release(&l.file)
	if sc.err != nil {
		return sc.err
	}
	bad := l.top
	dropped := l.nfile - int(count)
	l.q.report(l.file.path, end, bad-end, dropped, "skipped a corrupt record")
	l.top, l.nfile = end, int(count)
	return &CorruptRecordError{File: l.file.path, Offset: end, Dropped: dropped, Err: cause}
}

func (l *lifoLayout) flush(commit bool) (bool, error) {
	q := l.q
	wrote := false
	if l.top < l.size {
		if !commit {
			return false, nil // a push may not make pending pops durable
		}
		fh, err := q.pool.acquire(&l.file, false)
		if err != nil {
			return false, err
		}
		err = fh.Truncate(l.top)
		q.pool.release(&l.file)
		if err != nil {
			return false, fmt.Errorf("queues: truncate %s: %w", l.file.path, err)
		}
		l.size, l.dirty, wrote = l.top, true, true
	}
	if len(q.wbuf) == 0 {
		return wrote, nil
	}
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
		buf := append(append(make([]byte, 0, lifoHeaderSize+len(q.wbuf)), lifoMagic...), q.wbuf...)
		_, err = fh.WriteAt(buf, 0)
		if err == nil && q.dev == 0 {
			if fi, serr := fh.Stat(); serr == nil {
				q.dev = fileDev(fi)
			}
		}
		q.pool.release(&l.file)
		if err != nil {
			return wrote, fmt.Errorf("queues: write %s: %w", l.file.path, err)
		}
		l.onDisk = true
		l.syncDir = appendNew(l.syncDir, filepath.Dir(l.file.path))
	} else {
		fh, err := q.pool.acquire(&l.file, false)
		if err != nil {
			return wrote, fmt.Errorf("queues: open %s: %w", l.file.path, err)
		}
		_, err = fh.WriteAt(q.wbuf, l.size)
		q.pool.release(&l.file)
		if err != nil {
			return wrote, fmt.Errorf("queues: write %s at offset %d: %w", l.file.path, l.size, err)
		}
	}
	// Bytes cached past the old end are stale now.
	if l.rb.file == &l.file && l.rb.off+int64(len(l.rb.b)) > l.size {
		if l.rb.off >= l.size {
			l.rb.drop()
		} else {
			l.rb.b = l.rb.b[:l.size-l.rb.off]
		}
	}
	l.size += int64(len(q.wbuf))
	l.top = l.size
	l.nfile += l.nbuf
	l.nbuf = 0
	l.dirty = true
	q.wbuf = q.wbuf[:0]
	return true, nil
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
		fh, err := l.q.pool.acquire(&l.file, false)
		if err != nil {
			return err
		}
		err = fh.Sync()
		l.q.pool.release(&l.file)
		if err != nil {
			return err
		}
		l.dirty = false
	}
	for len(l.syncDir) > 0 {
		if err := recordio.SyncDir(l.syncDir[0]); err != nil {
			return err
		}
		l.syncDir = l.syncDir[1:]
	}
	return nil
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
