package recordio

import (
	"encoding/binary"
	"fmt"
)

// CursorSize is the size of one cursor slot on disk.
const CursorSize = 32

// Cursor is a position in a file of frames (an offset, the sequence number
// that goes with it, and an identifier bound), kept in a small header and
// rewritten in place. A file keeps two slots and writes generation g to slot
// g%2, so a write torn by a crash damages only the slot being written and the
// other one still holds the previous cursor. [PickCursor] chooses.
//
// A slot is
//
//	uint64 LE  generation (≥ 1)
//	uint64 LE  offset
//	uint64 LE  id
//	uint32 LE  sequence number
//	uint32 LE  masked CRC-32C of the 28 bytes above
//
// Rewriting 32 bytes in place relies on the file system not changing bytes
// outside a write, even on power loss (SQLite's "powersafe overwrite",
// which it assumes by default); the checksum catches a torn slot.
type Cursor struct {
	Gen uint64
	Off uint64
	ID  uint64
	Seq uint32
}

// Slot returns which of the two slots generation c.Gen is written to.
func (c Cursor) Slot() int { return int(c.Gen % 2) }

// AppendTo appends c's slot bytes to dst.
func (c Cursor) AppendTo(dst []byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint64(dst, c.Gen)
	dst = binary.LittleEndian.AppendUint64(dst, c.Off)
	dst = binary.LittleEndian.AppendUint64(dst, c.ID)
	dst = binary.LittleEndian.AppendUint32(dst, c.Seq)
	return binary.LittleEndian.AppendUint32(dst, Checksum(dst[start:]))
}

// ParseCursor reads a slot. A slot that was never written, was torn, or
// holds generation 0 is an error wrapping ErrCorrupt.
func ParseCursor(b []byte) (Cursor, error) {
	if len(b) < CursorSize {
		return Cursor{}, fmt.Errorf("%w: cursor slot of %d bytes", ErrCorrupt, len(b))
	}
	if Checksum(b[:28]) != binary.LittleEndian.Uint32(b[28:]) {
		return Cursor{}, fmt.Errorf("%w: cursor checksum mismatch", ErrCorrupt)
	}
	c := Cursor{
		Gen: binary.LittleEndian.Uint64(b),
		Off: binary.LittleEndian.Uint64(b[8:]),
		ID:  binary.LittleEndian.Uint64(b[16:]),
		Seq: binary.LittleEndian.Uint32(b[24:]),
	}
	if c.Gen == 0 {
		return Cursor{}, fmt.Errorf("%w: cursor generation 0", ErrCorrupt)
	}
	return c, nil
}

// PickCursor returns the valid cursor of the higher generation among two
// slots. ok is false when neither slot is valid.
func PickCursor(slot0, slot1 []byte) (c Cursor, ok bool) {
	a, errA := ParseCursor(slot0)
	b, errB := ParseCursor(slot1)
	switch {
	case errA == nil && errB == nil:
		if b.Gen > a.Gen {
			return b, true
		}
		return a, true
	case errA == nil:
		return a, true
	case errB == nil:
		return b, true
	}
	return Cursor{}, false
}
