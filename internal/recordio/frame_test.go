package recordio

import (
	"bytes"
	"errors"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		meta    Meta
	}{
		{"one byte", []byte{1}, Meta{}},
		{"text", []byte("hello, frames"), Meta{ID: 1<<63 + 5, Seq: 42}},
		{"zeros", make([]byte, 100), Meta{ID: 7, Seq: 1<<32 - 1}},
		{"large", bytes.Repeat([]byte("x"), 1<<16), Meta{ID: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Append([]byte("prefix"), tc.payload, tc.meta)
			if err != nil {
				t.Fatal(err)
			}
			b = b[len("prefix"):]
			if len(b) != len(tc.payload)+Overhead {
				t.Fatalf("frame of %d bytes, want %d", len(b), len(tc.payload)+Overhead)
			}
			for name, parse := range map[string]func([]byte) (Frame, int, error){"next": Next, "prev": Prev} {
				fr, n, err := parse(b)
				if err != nil || n != len(b) || !bytes.Equal(fr.Payload, tc.payload) || fr.Meta != tc.meta || fr.Size() != n {
					t.Fatalf("%s: %v, %d, %v", name, fr.Meta, n, err)
				}
			}
		})
	}
}

// Two frames in a row parse from either end.
func TestFrameBothEnds(t *testing.T) {
	b, _ := Append(nil, []byte("first"), Meta{Seq: 0})
	b, _ = Append(b, []byte("second one"), Meta{Seq: 1})
	fr, n, err := Next(b)
	if err != nil || string(fr.Payload) != "first" {
		t.Fatal(fr, err)
	}
	if fr, _, err = Next(b[n:]); err != nil || string(fr.Payload) != "second one" {
		t.Fatal(fr, err)
	}
	fr, n, err = Prev(b)
	if err != nil || string(fr.Payload) != "second one" {
		t.Fatal(fr, err)
	}
	if fr, _, err = Prev(b[:len(b)-n]); err != nil || string(fr.Payload) != "first" {
		t.Fatal(fr, err)
	}
}

func TestFrameErrors(t *testing.T) {
	good, _ := Append(nil, []byte("payload"), Meta{ID: 1, Seq: 2})
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	for _, tc := range []struct {
		name     string
		b        []byte
		next     error // from Next
		prev     error // from Prev
		wantSize int   // size Next reports with ErrShort
	}{
		{"empty", nil, ErrShort, ErrShort, 0},
		{"head only", good[:3], ErrShort, ErrShort, 0},
		{"cut", good[:len(good)-1], ErrShort, errAny, len(good)},
		{"zeros", make([]byte, 40), ErrCorrupt, ErrCorrupt, 0},
		{"payload bit", flip(HeadSize + 2), ErrCorrupt, ErrCorrupt, 0},
		{"id bit", flip(len(good) - TailSize), ErrCorrupt, ErrCorrupt, 0},
		{"checksum bit", flip(len(good) - 1), ErrCorrupt, ErrCorrupt, 0},
		{"head length", flip(0), ErrCorrupt, ErrCorrupt, 0},
		{"tail length", flip(len(good) - 8), ErrCorrupt, ErrCorrupt, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := Next(tc.b)
			if !isErr(err, tc.next) {
				t.Errorf("next: %v, want %v", err, tc.next)
			}
			if errors.Is(err, ErrShort) && n != tc.wantSize {
				t.Errorf("next: size %d, want %d", n, tc.wantSize)
			}
			if _, _, err := Prev(tc.b); !isErr(err, tc.prev) {
				t.Errorf("prev: %v, want %v", err, tc.prev)
			}
		})
	}
}

// errAny stands for "an error of either kind" where the damage makes the
// lengths read at the other end arbitrary.
var errAny = errors.New("any")

func isErr(err, want error) bool {
	if want == errAny {
		return errors.Is(err, ErrShort) || errors.Is(err, ErrCorrupt)
	}
	return errors.Is(err, want)
}

func TestFramePayloadSize(t *testing.T) {
	if _, err := Append(nil, nil, Meta{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("empty payload: %v", err)
	}
	b, start := Begin([]byte("keep"))
	b = append(b, make([]byte, MaxPayload+1)...)
	b, err := End(b, start, Meta{})
	if !errors.Is(err, ErrTooLarge) || string(b) != "keep" {
		t.Fatalf("oversized payload: %v, %q", err, b[:min(len(b), 8)])
	}
}

func TestCursor(t *testing.T) {
	c1 := Cursor{Gen: 1, Off: 80, ID: 99, Seq: 3}
	c2 := Cursor{Gen: 2, Off: 160, ID: 100, Seq: 4}
	s1, s2 := c1.AppendTo(nil), c2.AppendTo(nil)
	if len(s1) != CursorSize {
		t.Fatalf("slot of %d bytes", len(s1))
	}
	if got, err := ParseCursor(s1); err != nil || got != c1 {
		t.Fatalf("parse: %+v, %v", got, err)
	}
	torn := bytes.Clone(s2)
	torn[9] ^= 0xff
	zero := make([]byte, CursorSize)
	for _, tc := range []struct {
		name   string
		a, b   []byte
		want   Cursor
		wantOK bool
	}{
		{"newer wins", s1, s2, c2, true},
		{"either slot", s2, s1, c2, true},
		{"torn newer", s1, torn, c1, true},
		{"never written", zero, s1, c1, true},
		{"none", zero, torn, Cursor{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := PickCursor(tc.a, tc.b)
			if ok != tc.wantOK || got != tc.want {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
	if _, err := ParseCursor(Cursor{Gen: 0, Off: 1}.AppendTo(nil)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("generation 0: %v", err)
	}
}

func TestFsyncPolicy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want FsyncMode
		bad  bool
	}{
		{"", FsyncInterval, false}, {"interval", FsyncInterval, false}, {" Always ", FsyncAlways, false},
		{"never", FsyncNever, false}, {"sometimes", 0, true},
	} {
		got, err := ParseFsyncMode(tc.in)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("ParseFsyncMode(%q) = %v, %v", tc.in, got, err)
		}
		if err == nil && tc.in != "" {
			if again, _ := ParseFsyncMode(got.String()); again != got {
				t.Errorf("%v does not round-trip", got)
			}
		}
	}
}
