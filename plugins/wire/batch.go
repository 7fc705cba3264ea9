package wire

import (
	"encoding/binary"
	"fmt"
)

// AppendRecord appends rec to a batch of records: its length as a protobuf
// varint, then its bytes.
func AppendRecord(batch, rec []byte) []byte {
	batch = binary.AppendUvarint(batch, uint64(len(rec)))
	return append(batch, rec...)
}

// NextRecord returns the first record of a batch, as a slice of it, and the
// rest of the batch.
func NextRecord(batch []byte) (rec, rest []byte, err error) {
	size, k := binary.Uvarint(batch)
	if k <= 0 || uint64(len(batch)-k) < size {
		return nil, nil, fmt.Errorf("%w: length runs past the end", ErrBadBatch)
	}
	end := k + int(size)
	return batch[k:end:end], batch[end:], nil
}

// SplitRecords returns the records of a batch, as slices of it, checking
// that there are want of them (want < 0 accepts any number).
func SplitRecords(batch []byte, want int) ([][]byte, error) {
	n := want
	if n < 0 {
		n = 0
	}
	recs := make([][]byte, 0, min(n, len(batch)))
	for len(batch) > 0 {
		size, k := binary.Uvarint(batch)
		if k <= 0 || uint64(len(batch)-k) < size {
			return nil, fmt.Errorf("%w: record %d: length runs past the end", ErrBadBatch, len(recs))
		}
		recs = append(recs, batch[k:k+int(size):k+int(size)])
		batch = batch[k+int(size):]
	}
	if want >= 0 && len(recs) != want {
		return nil, fmt.Errorf("%w: %d records, want %d", ErrBadBatch, len(recs), want)
	}
	return recs, nil
}
