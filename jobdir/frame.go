package jobdir

import (
	"github.com/frontier-go/frontier/internal/recordio"
)

// Journal records are internal/recordio frames (length at both ends, masked
// CRC-32C): a frame's payload starts with the record type. Meta is unused.

// appendFrame appends payload as one frame. Journal payloads are small (a
// request record at most), far below recordio.MaxPayload.
func appendFrame(dst, payload []byte) []byte {
	b, err := recordio.Append(dst, payload, recordio.Meta{})
	if err != nil {
		// Only an empty or oversized payload fails; journal records are
		// neither (a record type byte, and a request record that the codec
		// already bounded).
		panic("jobdir: " + err.Error())
	}
	return b
}

// scanFrames calls fn with the payload of every whole, valid frame of data
// from the start, and returns the offset just past the last one. Reading stops
// at the first frame that is cut short or fails its checksum: what follows
// is a torn tail, len(data)-end bytes a caller reports as dropped. An error
// from fn stops the scan and is returned with the frame's offset.
func scanFrames(data []byte, fn func(off int64, payload []byte) error) (end int64, err error) {
	off := 0
	for off < len(data) {
		fr, n, err := recordio.Next(data[off:])
		if err != nil {
			break
		}
		if err := fn(int64(off), fr.Payload); err != nil {
			return int64(off), err
		}
		off += n
	}
	return int64(off), nil
}
