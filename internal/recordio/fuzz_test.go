package recordio

import (
	"bytes"
	"testing"
)

func frameSeeds(f *testing.F) {
	a, _ := Append(nil, []byte("a request record"), Meta{ID: 1 << 60, Seq: 3})
	b, _ := Append(a, []byte{1}, Meta{ID: 2, Seq: 4})
	for _, s := range [][]byte{nil, a, b, a[:len(a)-3], b[5:], make([]byte, 30)} {
		f.Add(s)
	}
}

// FuzzNext: any bytes either parse as a frame that re-encodes to the same
// bytes, or are an error; never a panic.
func FuzzNext(f *testing.F) {
	frameSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := Next(b)
		if err != nil {
			return
		}
		again, err := Append(nil, fr.Payload, fr.Meta)
		if err != nil || !bytes.Equal(again, b[:n]) {
			t.Fatalf("frame does not re-encode: %x vs %x (%v)", again, b[:n], err)
		}
	})
}

// FuzzPrev is FuzzNext from the end.
func FuzzPrev(f *testing.F) {
	frameSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := Prev(b)
		if err != nil {
			return
		}
		again, err := Append(nil, fr.Payload, fr.Meta)
		if err != nil || !bytes.Equal(again, b[len(b)-n:]) {
			t.Fatalf("frame does not re-encode")
		}
	})
}

// FuzzCursor: a slot either parses and re-encodes to itself, or is an error.
func FuzzCursor(f *testing.F) {
	f.Add(Cursor{Gen: 1, Off: 80}.AppendTo(nil))
	f.Add(Cursor{Gen: 9, Off: 1 << 40, ID: 5, Seq: 7}.AppendTo(nil))
	f.Add(make([]byte, CursorSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCursor(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.AppendTo(nil), b[:CursorSize]) {
			t.Fatal("cursor does not re-encode")
		}
	})
}
