package disk

import (
	"testing"
	"time"
)

// Identifiers start at the clock, come in runs, move past what was seen on
// disk, and ignore what no clock could have given.
func TestIDs(t *testing.T) {
	before := uint64(time.Now().UnixNano())
	d := NewIDs()
	first := d.Next(1)
	if first <= before || first > uint64(time.Now().UnixNano())+1 {
		t.Fatalf("first identifier %d is not the clock at creation (%d)", first, before)
	}
	if run := d.Next(10); run != first+1 {
		t.Fatalf("run starts at %d, want %d", run, first+1)
	}
	if next := d.Next(1); next != first+11 {
		t.Fatalf("after the run: %d, want %d", next, first+11)
	}
	d.Saw(first + 1000)
	if next := d.Next(1); next != first+1001 {
		t.Fatalf("after Saw: %d, want %d", next, first+1001)
	}
	d.Saw(first) // behind: no change
	d.Saw(maxID) // beyond any clock: ignored
	if next := d.Next(1); next != first+1002 {
		t.Fatalf("after Saw of old and impossible ids: %d, want %d", next, first+1002)
	}
}
