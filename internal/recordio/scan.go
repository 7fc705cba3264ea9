package recordio

import "encoding/binary"

// Region is a stretch of a file that holds no valid frame.
type Region struct {
	Off int64 `json:"offset"`
	Len int64 `json:"bytes"`
}

// End returns the offset just past r.
func (r Region) End() int64 { return r.Off + r.Len }

// ScanReport is what [Scan] found besides the valid frames.
type ScanReport struct {
	// Frames counts the valid frames.
	Frames int
	// Corrupt are the bad stretches that valid frames follow: damage, not a
	// crash, since a crash only tears the end of a file. The frames after
	// them were kept.
	Corrupt []Region
	// Torn is the bad stretch at the end of the data with no valid frame
	// after it (Len 0 when there is none): the torn tail of writes a crash
	// interrupted.
	Torn Region
}

// Damaged reports whether the scan met anything but whole frames.
func (r ScanReport) Damaged() bool { return len(r.Corrupt) > 0 || r.Torn.Len > 0 }

// Valid returns the offset just past the last valid frame, where an append
// goes on after cutting the torn tail.
func (r ScanReport) Valid(size int64) int64 {
	if r.Torn.Len > 0 {
		return r.Torn.Off
	}
	return size
}

// Scan calls fn with every valid frame of data, from offset base onwards,
// and the frame's offset. A bad frame does not end the scan: Scan
// resynchronises on the next offset where a whole frame checks ([Sync]) and
// goes on from there, reporting the stretch skipped as corrupt; only a bad
// stretch with no valid frame after it is a torn tail. An error from fn
// stops the scan and is returned.
func Scan(data []byte, base int64, fn func(off int64, f Frame) error) (ScanReport, error) {
	var rep ScanReport
	off := int(base)
	for off < len(data) {
		fr, n, err := Next(data[off:])
		if err == nil {
			rep.Frames++
			if err := fn(int64(off), fr); err != nil {
				return rep, err
			}
			off += n
			continue
		}
		skip, ok := Sync(data[off+1:])
		if !ok {
			rep.Torn = Region{Off: int64(off), Len: int64(len(data) - off)}
			return rep, nil
		}
		rep.Corrupt = append(rep.Corrupt, Region{Off: int64(off), Len: int64(skip + 1)})
		off += skip + 1
	}
	return rep, nil
}

// Sync returns the smallest offset of b where a whole valid frame starts;
// ok is false when there is none. Each offset is first checked cheaply (a
// length in range whose copy at the frame's tail agrees, about one chance
// in 2^32 for random bytes) before its checksum is computed, so the scan of
// a garbage region is linear in practice; the checksum makes a false match
// about one in 2^32 per candidate.
func Sync(b []byte) (off int, ok bool) {
	for i := 0; i+Overhead < len(b)+1; i++ {
		n := binary.LittleEndian.Uint32(b[i:])
		if n < 1 || n > MaxPayload {
			continue
		}
		size := int(n) + Overhead
		if i+size > len(b) || binary.LittleEndian.Uint32(b[i+size-8:]) != n {
			continue
		}
		if _, _, err := check(b[i : i+size]); err == nil {
			return i, true
		}
	}
	return 0, false
}
