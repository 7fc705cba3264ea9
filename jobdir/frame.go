package jobdir

import (
	"encoding/binary"
	"hash/crc32"
)

// A frame is one journal record on disk:
//
//	uint32 little-endian  payload length n (1 ≤ n ≤ maxFrame)
//	uint32 little-endian  masked CRC-32C of the length bytes and the payload
//	n bytes               payload; its first byte is the record type
//
// The checksum covers the length, and is masked, so that a run of zero bytes
// (what a file system may show after a crash) is never a valid frame.
const (
	frameHeader = 8
	maxFrame    = 64 << 20
	crcMask     = 0xa282ead8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func frameSum(lenBytes, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, lenBytes)
	c = crc32.Update(c, castagnoli, payload)
	return (c>>15 | c<<17) + crcMask
}

// appendFrame appends payload as one frame.
func appendFrame(dst, payload []byte) []byte {
	var h [frameHeader]byte
	binary.LittleEndian.PutUint32(h[:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:], frameSum(h[:4], payload))
	return append(append(dst, h[:]...), payload...)
}

// scanFrames calls fn with the payload of every whole, valid frame of data
// from the start, and returns the offset just past the last one. Reading stops
// at the first frame that is cut short or fails its checksum: what follows
// is a torn tail, len(data)-end bytes a caller reports as dropped. An error
// from fn stops the scan and is returned with the frame's offset.
func scanFrames(data []byte, fn func(off int64, payload []byte) error) (end int64, err error) {
	off := 0
	for len(data)-off >= frameHeader {
		n := binary.LittleEndian.Uint32(data[off:])
		if n == 0 || n > maxFrame || uint64(len(data)-off-frameHeader) < uint64(n) {
			break
		}
		payload := data[off+frameHeader : off+frameHeader+int(n)]
		if binary.LittleEndian.Uint32(data[off+4:]) != frameSum(data[off:off+4], payload) {
			break
		}
		if err := fn(int64(off), payload); err != nil {
			return int64(off), err
		}
		off += frameHeader + int(n)
	}
	return int64(off), nil
}
