package recordio

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// frames returns n frames whose payloads are "record i".
func frames(t testing.TB, n int) (data []byte, offs []int) {
	t.Helper()
	for i := range n {
		offs = append(offs, len(data))
		var err error
		data, err = Append(data, fmt.Appendf(nil, "record %d", i), Meta{ID: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	return data, offs
}

func scanAll(t *testing.T, data []byte) ([]string, ScanReport) {
	t.Helper()
	var got []string
	rep, err := Scan(data, 0, func(_ int64, f Frame) error {
		got = append(got, string(f.Payload))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, rep
}

func TestScanFlippedBitMidFileIsCorruptionAndKeepsLaterFrames(t *testing.T) {
	data, offs := frames(t, 10)
	for _, at := range []int{offs[4], offs[4] + 2, offs[4] + HeadSize + 3, offs[5] - 1} {
		d := bytes.Clone(data)
		d[at] ^= 0x10
		got, rep := scanAll(t, d)
		if len(got) != 9 || got[4] != "record 5" {
			t.Fatalf("flip at %d: kept %q, want every record but record 4", at, got)
		}
		if len(rep.Corrupt) != 1 || rep.Corrupt[0] != (Region{Off: int64(offs[4]), Len: int64(offs[5] - offs[4])}) || rep.Torn.Len != 0 {
			t.Fatalf("flip at %d: report %+v, want one corrupt region over frame 4", at, rep)
		}
	}
}

func TestScanCutShortIsTornTail(t *testing.T) {
	data, offs := frames(t, 5)
	d := data[:len(data)-3]
	got, rep := scanAll(t, d)
	if len(got) != 4 || len(rep.Corrupt) != 0 || rep.Torn != (Region{Off: int64(offs[4]), Len: int64(len(d) - offs[4])}) {
		t.Fatalf("kept %d, report %+v", len(got), rep)
	}
	if rep.Valid(int64(len(d))) != int64(offs[4]) {
		t.Fatalf("valid end %d, want %d", rep.Valid(int64(len(d))), offs[4])
	}
}

func TestScanGarbageBetweenFrames(t *testing.T) {
	data, offs := frames(t, 6)
	garbage := make([]byte, 5000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	d := append(append(bytes.Clone(data[:offs[3]]), garbage...), data[offs[3]:]...)
	got, rep := scanAll(t, d)
	if len(got) != 6 || len(rep.Corrupt) != 1 || rep.Corrupt[0] != (Region{Off: int64(offs[3]), Len: 5000}) {
		t.Fatalf("kept %d, report %+v", len(got), rep)
	}
}

func TestSyncFindsNothingInGarbage(t *testing.T) {
	if _, ok := Sync(bytes.Repeat([]byte{0x10, 0, 0, 0}, 1000)); ok {
		t.Fatal("a repeated length is not a frame")
	}
	if _, ok := Sync(nil); ok {
		t.Fatal("nothing is not a frame")
	}
}

// BenchmarkSyncGarbage measures the resynchronisation scan over a garbage
// region with no frame in it (linear in its size).
func BenchmarkSyncGarbage(b *testing.B) {
	g := make([]byte, 8<<20)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range g {
		g[i] = byte(r.Uint32())
	}
	b.SetBytes(int64(len(g)))
	for b.Loop() {
		if _, ok := Sync(g); ok {
			b.Fatal("found a frame in garbage")
		}
	}
}
