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
// from the start. A bad frame followed by valid ones is corruption: the scan
// resynchronises on the next valid frame and reports the stretch skipped
// (recordio.Scan); only a bad stretch with no valid frame after it is a torn
// tail, a crash's unacknowledged writes. An error from fn stops the scan and
// is returned.
func scanFrames(data []byte, fn func(off int64, payload []byte) error) (recordio.ScanReport, error) {
	return recordio.Scan(data, 0, func(off int64, f recordio.Frame) error { return fn(off, f.Payload) })
}

// corruptBytes sums the lengths of regions.
func corruptBytes(regions []recordio.Region) int64 {
	var n int64
	for _, r := range regions {
		n += r.Len
	}
	return n
}
