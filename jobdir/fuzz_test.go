package jobdir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// The fuzz targets are seeded with files written by the package's own code
// (a real job directory), and with each of them cut short.

func realJobFiles(f *testing.F) (dir string) {
	f.Helper()
	dir = f.TempDir()
	j, err := Open(dir, Options{PriorityQueue: "frontier.pqueues.DownloaderAware"})
	if err != nil {
		f.Fatal(err)
	}
	if err := j.SaveState(map[string]any{"pages": 12, "seen": []any{"a", "b"}, "cfg": map[string]any{"x": 1.5, "y": nil}}); err != nil {
		f.Fatal(err)
	}
	ij, _, err := j.OpenInFlight()
	if err != nil {
		f.Fatal(err)
	}
	a, b := ij.NewID(), ij.NewID()
	ij.Deliver(a, []byte("\x01\x0a\x13https://example.org/"))
	ij.Deliver(b, []byte("\x01\x0a\x13https://example.org/b"))
	ij.Flush(func() error { return nil }, false)
	ij.Ack(a)
	ij.Flush(nil, false)
	c := ij.NewID()
	ij.Deliver(c, []byte("c"))
	ij.Flush(func() error { return os.ErrClosed }, false)
	ij.Close()
	bj, _, err := OpenBuckets(filepath.Join(dir, BucketJournalFile), FsyncPolicy{}, zerolog.Nop(), nil)
	if err != nil {
		f.Fatal(err)
	}
	bj.Add("example.org-5ababd603b22780302dd8d83498e5172/0")
	bj.Add("example.org-5ababd603b22780302dd8d83498e5172/-1s")
	bj.Remove("example.org-5ababd603b22780302dd8d83498e5172/0")
	bj.Flush(false)
	bj.Close()
	return dir
}

func addWithCuts(f *testing.F, b []byte) {
	f.Add(b)
	for _, cut := range []int{0, 1, len(b) / 3, len(b) / 2, len(b) - 1} {
		if cut >= 0 && cut < len(b) {
			f.Add(b[:cut])
		}
	}
}

func seedFile(f *testing.F, dir, name string) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		f.Fatal(err)
	}
	addWithCuts(f, b)
}

func FuzzParseLockInfo(f *testing.F) {
	dir := realJobFiles(f)
	// The lock file is emptied at close; write a holder's contents as Open does.
	b, _ := json.Marshal(LockInfo{PID: 4242, Host: "host", Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	addWithCuts(f, b)
	seedFile(f, dir, LockFile)
	f.Fuzz(func(t *testing.T, b []byte) {
		li, err := ParseLockInfo(b)
		if err != nil {
			return
		}
		if li.PID == 0 {
			return
		}
		again, _ := json.Marshal(li)
		li2, err := ParseLockInfo(again)
		if err != nil || !li2.Started.Equal(li.Started) || li2.PID != li.PID || li2.Host != li.Host {
			t.Fatalf("round trip %+v -> %s -> %+v, %v", li, again, li2, err)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	seedFile(f, realJobFiles(f), ManifestFile)
	f.Add([]byte(`{"format": 2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		if m.Format < 1 {
			t.Fatalf("accepted format %d", m.Format)
		}
		if err := m.Check("dir", m.PriorityQueue); (err != nil) != (m.Format > FormatVersion) {
			t.Fatalf("Check(%+v) = %v", m, err)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	seedFile(f, realJobFiles(f), StateFile)
	f.Add([]byte("\x80\x04}."))
	f.Add([]byte(`{"n": 1e400}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeState(b)
		if err != nil {
			return
		}
		enc, err := EncodeState(m)
		if err != nil {
			t.Fatalf("decoded state %#v does not encode: %v", m, err)
		}
		// JSON does not tell 1.0 from 1: a float with an integral value
		// comes back as an int64, so the round trip is compared as JSON.
		m2, err := DecodeState(enc)
		if err != nil {
			t.Fatalf("round trip %#v -> %s: %v", m, enc, err)
		}
		if enc2, _ := EncodeState(m2); string(enc2) != string(enc) {
			t.Fatalf("round trip %#v -> %s -> %#v -> %s", m, enc, m2, enc2)
		}
	})
}

func FuzzDecodeInFlight(f *testing.F) {
	seedFile(f, realJobFiles(f), InFlightFile)
	data, _ := journalScript(f)
	addWithCuts(f, data)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeInFlight(b)
		if st.Valid+st.Dropped != int64(len(b)) || st.Valid < 0 || st.Dropped < 0 {
			t.Fatalf("valid %d + dropped %d != %d", st.Valid, st.Dropped, len(b))
		}
		if err != nil {
			return
		}
		if !slices.IsSorted(st.Ghosts) {
			t.Fatalf("ghosts not sorted: %v", st.Ghosts)
		}
		// What a reopening writes decodes to the same state.
		enc := EncodeInFlight(st.Epoch+1, st.InFlight, st.Ghosts)
		st2, err := DecodeInFlight(enc)
		if err != nil || st2.Dropped != 0 || st2.Epoch != st.Epoch+1 ||
			!reflect.DeepEqual(norm(st2.InFlight), norm(st.InFlight)) || !slices.Equal(st2.Ghosts, st.Ghosts) {
			t.Fatalf("compaction round trip:\n%+v\n%+v\n%v", st, st2, err)
		}
	})
}

func norm(ds []Delivery) []Delivery {
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		out[i] = Delivery{ID: d.ID, Record: append([]byte{}, d.Record...)}
	}
	return out
}

func FuzzDecodeBuckets(f *testing.F) {
	seedFile(f, realJobFiles(f), BucketJournalFile)
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeBuckets(b)
		if st.Valid+st.Dropped != int64(len(b)) {
			t.Fatalf("valid %d + dropped %d != %d", st.Valid, st.Dropped, len(b))
		}
		if err != nil {
			return
		}
		st2, err := DecodeBuckets(EncodeBuckets(st.Live))
		if err != nil || !slices.Equal(st2.Live, st.Live) || len(st2.Removed) != 0 {
			t.Fatalf("round trip %q -> %q, %v", st.Live, st2.Live, err)
		}
	})
}
