package jobdir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rs/zerolog"
)

// TestBucketJournalFlippedBitMidFileKeepsLaterBuckets is issue 10's flipped
// bit in the middle of the bucket journal: the buckets declared after the
// damaged record are kept, the damage is reported, and the damaged file is
// kept aside.
func TestBucketJournalFlippedBitMidFileKeepsLaterBuckets(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, QueueDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names := []string{"p0", "p1", "p2", "p3", "p4", "p5"}
	data := EncodeBuckets(names)
	per := len(data) / len(names)
	data[2*per+6] ^= 0x01 // inside p2's record
	path := filepath.Join(dir, BucketJournalFile)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := DecodeBuckets(data)
	if err != nil || st.Dropped != 0 || len(st.Corrupt) != 1 || st.Corrupt[0].Off != int64(2*per) {
		t.Fatalf("decode: %+v, %v", st, err)
	}
	j, live, err := OpenBuckets(path, FsyncPolicy{Mode: FsyncNever}, zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if want := []string{"p0", "p1", "p3", "p4", "p5"}; !slices.Equal(live, want) {
		t.Fatalf("live %v, want %v", live, want)
	}
	kept, _ := filepath.Glob(filepath.Join(root, DamagedDirPrefix+"*", QueueDir, BucketJournalFile))
	if len(kept) != 1 {
		t.Fatalf("damaged journal kept aside: %v", kept)
	}
}

// TestInFlightFlippedBitMidFileKeepsLaterRecords is issue 10's flipped bit
// in the middle of the in-flight journal: the acknowledgements after it
// still apply (no finished request comes back from past the damage) and the
// deliveries after it stay in flight.
func TestInFlightFlippedBitMidFileKeepsLaterRecords(t *testing.T) {
	data, states := journalScript(t)
	want := states[int64(len(data))]
	// Damage one delivery record in the middle of the file.
	var offs []int64
	if _, err := scanFrames(data, func(off int64, p []byte) error {
		if p[0] == ifDeliver {
			offs = append(offs, off)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	at := offs[len(offs)/2]
	data[at+8] ^= 0x04
	root := t.TempDir()
	path := filepath.Join(root, InFlightFile)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	j, st, err := OpenInFlight(path, FsyncPolicy{Mode: FsyncNever}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if len(st.Corrupt) != 1 || st.Corrupt[0].Off != at || st.Dropped != 0 {
		t.Fatalf("report: corrupt %v, torn %d", st.Corrupt, st.Dropped)
	}
	// Everything in flight but (at most) the damaged delivery is recovered.
	if len(st.InFlight) < len(want.InFlight)-1 {
		t.Fatalf("in flight %d, want at least %d", len(st.InFlight), len(want.InFlight)-1)
	}
	got := map[uint64]bool{}
	for _, d := range st.InFlight {
		got[d.ID] = true
	}
	for _, d := range want.InFlight {
		if !got[d.ID] && d.ID != 0 {
			t.Logf("lost with the damaged record: delivery %d", d.ID)
		}
	}
	for id := range got {
		if !slices.ContainsFunc(want.InFlight, func(d Delivery) bool { return d.ID == id }) {
			t.Fatalf("delivery %d came back though acknowledged after the damage", id)
		}
	}
	kept, _ := filepath.Glob(filepath.Join(root, DamagedDirPrefix+"*", InFlightFile))
	if len(kept) != 1 {
		t.Fatalf("damaged journal kept aside: %v", kept)
	}
}
