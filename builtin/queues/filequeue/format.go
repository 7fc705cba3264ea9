package filequeue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/internal/recordio"
)

// On-disk layout of the disk queues, format version 1 (docs/jobdir-queues.md).
//
// Every queue file starts with an 80-byte header:
//
//	0   8 bytes  magic: "FRFIFO\x00\x01" or "FRLIFO\x00\x01" (the last byte is the version)
//	8   uint32   FIFO: seq of the segment's first record; LIFO: 0
//	12  uint32   masked CRC-32C of bytes 0..11
//	16  32 bytes cursor slot 0 (recordio.Cursor)
//	48  32 bytes cursor slot 1
//	80  frames (internal/recordio)
//
// A FIFO queue is a directory of segment files named "%010d.seg", oldest
// first. A frame's seq is the record's position in the queue since its
// creation, counting up by one (modulo 2^32). Only the oldest segment's
// cursor matters: it gives the offset and seq of the next record to pop.
// Segments before the head are deleted.
//
// A LIFO queue is one file. A frame's seq is the number of records below it.
// The cursor gives the end of the records (Off), their number (Seq) and the
// largest record id written before it (ID). Frames past Off that continue
// the numbering with larger ids were written after the cursor and belong
// to the queue; anything else past Off is the remains of popped records.
const (
	fifoMagic  = "FRFIFO\x00\x01"
	lifoMagic  = "FRLIFO\x00\x01"
	headerSize = 80
	slot0      = 16
	segSuffix  = ".seg"
)

// minFrame is the size of the smallest frame (a 1-byte payload).
const minFrame = recordio.Overhead + 1

func segName(num uint64) string { return fmt.Sprintf("%010d%s", num, segSuffix) }

// parseSegName returns the number of a segment file name.
func parseSegName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(digits) < 10 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// appendHeader appends a file header holding cursor c in its slot.
func appendHeader(dst []byte, magic string, first uint32, c recordio.Cursor) []byte {
	start := len(dst)
	dst = appendFixedHeader(dst, magic, first)
	dst = append(dst, make([]byte, 2*recordio.CursorSize)...)
	var slot [recordio.CursorSize]byte
	c.AppendTo(slot[:0])
	copy(dst[start+slotOffset(c):], slot[:])
	return dst
}

// slotOffset is where cursor c is written in a file.
func slotOffset(c recordio.Cursor) int { return slot0 + c.Slot()*recordio.CursorSize }

// fileHeader is a parsed file header.
type fileHeader struct {
	first    uint32
	cursor   recordio.Cursor
	cursorOK bool
}

var errBadMagic = errors.New("bad magic")

// parseHeader reads a file header. A wrong magic is errBadMagic; another
// format version is disk.ErrVersion when the fixed part's checksum holds,
// and a damaged header (recordio.ErrCorrupt) when it does not. The two
// cursor slots carry their own checksums and are read even when the fixed
// part (magic, first seq) fails its checksum, which is then an error
// wrapping recordio.ErrCorrupt with h.first unknown (0). A header whose two
// slots are both unreadable is returned with cursorOK false.
func parseHeader(b []byte, magic string) (fileHeader, error) {
	m := b[:min(len(b), len(magic))]
	otherVersion := len(m) == len(magic) && string(m[:7]) == magic[:7] && m[7] != magic[7]
	if otherVersion && len(b) >= 16 && recordio.Checksum(b[:12]) != binary.LittleEndian.Uint32(b[12:]) {
		// The version byte fails the fixed part's checksum: a flipped bit,
		// not a newer frontier's file (whose header keeps the magic and
		// this checksum where they are). Read as a damaged header: the
		// cursor slots and the frames are salvaged.
		m, otherVersion = []byte(magic), false
	}
	switch {
	case otherVersion:
		return fileHeader{}, fmt.Errorf("%w: format version %d, this build reads version %d (written by a newer frontier?)",
			disk.ErrVersion, m[7], magic[7])
	case string(m) != magic[:len(m)]:
		return fileHeader{}, errBadMagic
	case len(b) < headerSize:
		return fileHeader{}, fmt.Errorf("%w: header of %d bytes", io.ErrUnexpectedEOF, len(b))
	}
	var h fileHeader
	s0 := b[slot0 : slot0+recordio.CursorSize]
	s1 := b[slot0+recordio.CursorSize : slot0+2*recordio.CursorSize]
	h.cursor, h.cursorOK = recordio.PickCursor(s0, s1)
	if recordio.Checksum(b[:12]) != binary.LittleEndian.Uint32(b[12:]) {
		return h, fmt.Errorf("%w: header checksum mismatch", recordio.ErrCorrupt)
	}
	h.first = binary.LittleEndian.Uint32(b[8:])
	return h, nil
}

// appendFixedHeader appends the first 16 bytes of a header: magic, first
// seq and their checksum.
func appendFixedHeader(dst []byte, magic string, first uint32) []byte {
	start := len(dst)
	dst = append(dst, magic...)
	dst = binary.LittleEndian.AppendUint32(dst, first)
	return binary.LittleEndian.AppendUint32(dst, recordio.Checksum(dst[start:start+12]))
}

// seqAhead reports whether sequence number b is at or after a, modulo 2^32.
func seqAhead(a, b uint32) bool { return b-a < 1<<31 }

// frameScanner reads frames forward from r between off and end, a chunk at a
// time, checking that each frame's seq follows the previous one's.
type frameScanner struct {
	r       io.ReaderAt
	off     int64 // offset of the next frame
	end     int64
	seq     uint32 // expected seq of the next frame
	buf     []byte
	bufOff  int64
	chunk   int
	checked bool  // check seq continuity
	err     error // the read error that stopped the scan, if any
}

const scanChunk = 1 << 20

func newFrameScanner(r io.ReaderAt, off, end int64, seq uint32, checkSeq bool) *frameScanner {
	return &frameScanner{r: r, off: off, end: end, seq: seq, chunk: scanChunk, checked: checkSeq, bufOff: off}
}

// errSeq is a frame whose checksum holds but whose seq is not the next one:
// stale bytes from before a truncation, or a frame written at a wrong place.
var errSeq = errors.New("sequence number out of order")

// next returns the next frame and its offset. It returns io.EOF exactly at
// end, recordio.ErrShort when the bytes left end inside a frame (a torn
// tail), and an error wrapping recordio.ErrCorrupt or errSeq for bad bytes.
// After an error the scanner stays at the bad frame.
func (s *frameScanner) next() (recordio.Frame, int64, error) {
	if s.off >= s.end {
		return recordio.Frame{}, s.off, io.EOF
	}
	for {
		i := s.off - s.bufOff
		if i >= 0 && i <= int64(len(s.buf)) {
			fr, size, err := recordio.Next(s.buf[i:])
			switch {
			case err == nil:
				if s.checked && fr.Seq != s.seq {
					return recordio.Frame{}, s.off, fmt.Errorf("%w: seq %d, want %d", errSeq, fr.Seq, s.seq)
				}
				off := s.off
				s.off += int64(size)
				s.seq++
				return fr, off, nil
			case !errors.Is(err, recordio.ErrShort):
				return recordio.Frame{}, s.off, err
			}
			if s.bufOff+int64(len(s.buf)) >= s.end {
				return recordio.Frame{}, s.off, recordio.ErrShort
			}
			if size > s.chunk {
				s.chunk = size
			}
		}
		if err := s.fill(); err != nil {
			if !errors.Is(err, recordio.ErrShort) {
				s.err = err
			}
			return recordio.Frame{}, s.off, err
		}
	}
}

// fill reads the next chunk starting at s.off.
func (s *frameScanner) fill() error {
	n := min(int64(s.chunk), s.end-s.off)
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, n)
	}
	s.buf = s.buf[:n]
	m, err := s.r.ReadAt(s.buf, s.off)
	s.buf = s.buf[:m]
	s.bufOff = s.off
	if err != nil && !(errors.Is(err, io.EOF) && m > 0) {
		if errors.Is(err, io.EOF) {
			s.end = s.off
			return recordio.ErrShort
		}
		return err
	}
	if int64(m) < n {
		s.end = s.off + int64(m)
	}
	return nil
}

// resync looks for the first valid frame after the bad one at s.off whose
// seq is at or after the expected one, reading at most to s.end. It returns
// false when there is none; the scanner is then at s.end.
func (s *frameScanner) resync() (bool, error) {
	n := s.end - s.off
	data := make([]byte, n)
	m, err := s.r.ReadAt(data, s.off)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	data = data[:m]
	for i := 1; i+minFrame <= len(data); i++ {
		fr, _, err := recordio.Next(data[i:])
		if err != nil || (s.checked && !seqAhead(s.seq, fr.Seq)) {
			continue
		}
		s.off += int64(i)
		s.seq = fr.Seq
		s.buf, s.bufOff = data[i:], s.off
		return true, nil
	}
	s.off = s.off + int64(len(data))
	s.end = s.off
	return false, nil
}

// tornCreation reports whether a file's first bytes (all of them when the
// file is shorter than a header) are what a creation cut short leaves: a
// prefix of the header, or zeros (a power cut can leave a file's new blocks
// zeroed). Such a file never held an acknowledged record.
func tornCreation(b []byte, size int64, magic string) bool {
	m := b[:min(len(b), len(magic))]
	if allZero(m) {
		return true
	}
	return size < headerSize && string(m) == magic[:len(m)]
}
