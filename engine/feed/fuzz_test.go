package feed

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/internal/recordio"
)

// FuzzReadLog feeds arbitrary bytes to the commit log reader, as a damaged
// or hostile job directory would: it must never panic, and a record it
// accepts must encode back to a record that decodes the same.
func FuzzReadLog(f *testing.F) {
	recs := []record{
		{Seq: 1},
		{Seq: 2, Items: 3, Done: []uint64{9, 1 << 41, 5},
			Feeds: []entry{{Path: "/a/items.csv", Format: CSV, Length: 40, Items: 3, Header: []string{"a", "b"}, HeaderWritten: true}}},
		{Seq: 3, Items: 1, Feeds: []entry{{Path: "/x.json", Format: JSON, Length: 9, Items: 1, JSON: jsonItems}, {Path: "/y.jl", Format: JSONLines}}},
	}
	var log []byte
	for _, r := range recs {
		b, err := appendFrame(nil, r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		log = append(log, b...)
		f.Add(bytes.Clone(log))
		f.Add(append(bytes.Clone(log), b[:len(b)/2]...))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := readLog(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptLog) && !errors.Is(err, ErrFutureLog) {
				t.Fatalf("readLog error %v wraps neither ErrCorruptLog nor ErrFutureLog", err)
			}
			return
		}
		if sc.End > int64(len(b)) || sc.Torn < 0 || sc.End+sc.Torn > int64(len(b)) {
			t.Fatalf("scan %+v out of a log of %d bytes", sc, len(b))
		}
		if !sc.ok {
			return
		}
		again, err := appendFrame(nil, sc.Last)
		if err != nil {
			t.Fatal(err)
		}
		sc2, err := readLog(again)
		if err != nil || !sc2.ok {
			t.Fatalf("re-encoded record does not read: %v", err)
		}
		if !sameRecord(sc.Last, sc2.Last) {
			t.Fatalf("record %+v re-reads as %+v", sc.Last, sc2.Last)
		}
	})
}

// FuzzDecodeRecord feeds arbitrary payloads to the record decoder.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, record{Seq: 1, Items: 2, Done: []uint64{1, 2},
		Feeds: []entry{{Path: "/a.csv", Format: CSV, Length: 4, Header: []string{""}, HeaderWritten: true}}}))
	f.Add([]byte{0x08, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		framed, err := recordio.Append(nil, appendRecord(nil, r), recordio.Meta{})
		if err != nil {
			return // an empty record of a version alone is larger than 0 bytes, but be safe
		}
		fr, _, err := recordio.Next(framed)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := decodeRecord(fr.Payload)
		if err != nil || !sameRecord(r, r2) {
			t.Fatalf("%+v re-decodes as %+v, %v", r, r2, err)
		}
	})
}

// sameRecord compares records as the log keeps them: done identifiers
// sorted and without repeats.
func sameRecord(a, b record) bool {
	norm := func(ids []uint64) []uint64 {
		ids = slices.Clone(ids)
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	if a.Seq != b.Seq || a.Items != b.Items || !slices.Equal(norm(a.Done), norm(b.Done)) || len(a.Feeds) != len(b.Feeds) {
		return false
	}
	for i := range a.Feeds {
		x, y := a.Feeds[i], b.Feeds[i]
		if x.Path != y.Path || x.Format != y.Format || x.Length != y.Length || x.Items != y.Items ||
			!slices.Equal(x.Header, y.Header) || x.HeaderWritten != y.HeaderWritten || x.JSON != y.JSON {
			return false
		}
	}
	return true
}
