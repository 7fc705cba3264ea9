package recordio

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Frame sizes.
const (
	// HeadSize is the size of a frame's head (its payload length).
	HeadSize = 4
	// TailSize is the size of a frame's tail (id, seq, length, checksum).
	TailSize = 20
	// Overhead is what a frame adds to its payload.
	Overhead = HeadSize + TailSize
	// MaxPayload is the largest payload a frame holds (64 MiB).
	MaxPayload = 64 << 20
)

const crcMask = 0xa282ead8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the masked CRC-32C of b, as frames and cursors store it.
func Checksum(b []byte) uint32 { return mask(crc32.Checksum(b, castagnoli)) }

func mask(c uint32) uint32 { return (c>>15 | c<<17) + crcMask }

// Meta is what a frame carries beside its payload. Both fields are the
// writer's: frontier's queues store a delivery identifier in ID and a
// position in Seq.
type Meta struct {
	ID  uint64
	Seq uint32
}

// Frame is one parsed frame. Payload aliases the bytes it was parsed from.
type Frame struct {
	Payload []byte
	Meta
}

// Size returns the frame's size on disk.
func (f Frame) Size() int { return len(f.Payload) + Overhead }

// Begin starts a frame at the end of dst: it appends room for the head and
// returns the extended slice and the frame's start. Append the payload to the
// returned slice, then call [End].
func Begin(dst []byte) ([]byte, int) {
	return append(dst, 0, 0, 0, 0), len(dst)
}

// End completes the frame that [Begin] started at start, whose payload is
// dst[start+HeadSize:]. A payload that is empty or larger than MaxPayload is
// an error wrapping ErrTooLarge; dst is then returned cut back to start.
func End(dst []byte, start int, m Meta) ([]byte, error) {
	n := len(dst) - start - HeadSize
	if n < 1 || n > MaxPayload {
		return dst[:start], fmt.Errorf("%w: %d bytes (1 to %d allowed)", ErrTooLarge, n, MaxPayload)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(n))
	dst = binary.LittleEndian.AppendUint64(dst, m.ID)
	dst = binary.LittleEndian.AppendUint32(dst, m.Seq)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	return binary.LittleEndian.AppendUint32(dst, Checksum(dst[start:])), nil
}

// Append appends payload as one frame.
func Append(dst, payload []byte, m Meta) ([]byte, error) {
	b, start := Begin(dst)
	return End(append(b, payload...), start, m)
}

// Next parses the frame at the start of b and returns it with its size.
// ErrShort means b ends before the frame (read more, or at the end of a file
// a torn tail); ErrCorrupt means b does not start with a frame.
func Next(b []byte) (Frame, int, error) {
	if len(b) < HeadSize {
		return Frame{}, 0, ErrShort
	}
	n := binary.LittleEndian.Uint32(b)
	if n < 1 || n > MaxPayload {
		return Frame{}, 0, fmt.Errorf("%w: length %d", ErrCorrupt, n)
	}
	size := int(n) + Overhead
	if len(b) < size {
		return Frame{}, size, ErrShort
	}
	return check(b[:size])
}

// Prev parses the frame that ends at the end of b and returns it with its
// size. ErrShort means the frame starts before b does (the size returned is
// then the frame's size, so the caller knows how much to read); ErrCorrupt
// means b does not end with a frame.
func Prev(b []byte) (Frame, int, error) {
	if len(b) < TailSize {
		return Frame{}, 0, ErrShort
	}
	n := binary.LittleEndian.Uint32(b[len(b)-8:])
	if n < 1 || n > MaxPayload {
		return Frame{}, 0, fmt.Errorf("%w: length %d", ErrCorrupt, n)
	}
	size := int(n) + Overhead
	if len(b) < size {
		return Frame{}, size, ErrShort
	}
	return check(b[len(b)-size:])
}

// check validates the frame that is exactly b.
func check(b []byte) (Frame, int, error) {
	size := len(b)
	n := binary.LittleEndian.Uint32(b)
	t := b[size-TailSize:]
	if int(n)+Overhead != size || binary.LittleEndian.Uint32(t[12:]) != n {
		return Frame{}, 0, fmt.Errorf("%w: lengths differ", ErrCorrupt)
	}
	if Checksum(b[:size-4]) != binary.LittleEndian.Uint32(t[16:]) {
		return Frame{}, 0, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	return Frame{
		Payload: b[HeadSize : size-TailSize],
		Meta:    Meta{ID: binary.LittleEndian.Uint64(t), Seq: binary.LittleEndian.Uint32(t[8:])},
	}, size, nil
}
