package wire

import (
	"bytes"
	"errors"
	"testing"
)

func TestRecords(t *testing.T) {
	var b []byte
	recs := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("x"), 300)}
	for _, r := range recs {
		b = AppendRecord(b, r)
	}
	got, err := SplitRecords(b, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Fatalf("record %d = %q", i, got[i])
		}
	}
	if _, err := SplitRecords(b, 2); !errors.Is(err, ErrBadBatch) {
		t.Fatalf("wrong count: %v", err)
	}
	if _, err := SplitRecords(b[:len(b)-1], -1); !errors.Is(err, ErrBadBatch) {
		t.Fatalf("truncated: %v", err)
	}
	// NextRecord walks the same batch one record at a time.
	rest := b
	for i := range recs {
		var rec []byte
		rec, rest, err = NextRecord(rest)
		if err != nil || !bytes.Equal(rec, recs[i]) {
			t.Fatalf("NextRecord %d = %q, %v", i, rec, err)
		}
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left after the last record", len(rest))
	}
	last := b[len(b)-302:] // the 300-byte record and its 2-byte length
	if _, _, err := NextRecord(last[:len(last)-1]); !errors.Is(err, ErrBadBatch) {
		t.Fatalf("NextRecord of a truncated record: %v", err)
	}
	if _, _, err := NextRecord(nil); !errors.Is(err, ErrBadBatch) {
		t.Fatalf("NextRecord of an empty batch: %v", err)
	}
	// A record may not be extended into the next one through append.
	got, _ = SplitRecords(b, 3)
	_ = append(got[0], 'z')
	if again, _ := SplitRecords(b, 3); !bytes.Equal(again[1], recs[1]) || len(again) != 3 {
		t.Fatal("appending to a record overwrote the batch")
	}
}

// FuzzSplitRecords: a batch from the wire never panics, and what parses
// re-encodes to the same bytes when its lengths are minimal varints.
func FuzzSplitRecords(f *testing.F) {
	f.Add(AppendRecord(AppendRecord(nil, []byte("ab")), nil), -1)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 1)
	f.Add([]byte{5, 'a'}, 1)
	f.Fuzz(func(t *testing.T, b []byte, want int) {
		recs, err := SplitRecords(b, want)
		if err != nil {
			return
		}
		total := 0
		for _, r := range recs {
			total += len(r)
		}
		if total > len(b) || (want >= 0 && len(recs) != want) {
			t.Fatalf("%d records of %d bytes from %d bytes", len(recs), total, len(b))
		}
		var again []byte
		for _, r := range recs {
			again = AppendRecord(again, r)
		}
		if len(again) > len(b) {
			t.Fatalf("re-encoding is longer than the input")
		}
	})
}
