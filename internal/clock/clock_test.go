package clock

import (
	"testing"
	"time"
)

func TestReadings(t *testing.T) {
	a := Exact()
	if a == 0 {
		t.Fatal("a reading is never 0")
	}
	time.Sleep(2 * Tick)
	if d := a.Since(Exact()); d < 2*Tick {
		t.Fatalf("Since = %v after sleeping %v", d, 2*Tick)
	}
	// The coarse clock is refreshed while it is read, and never ahead of the
	// exact one.
	c1 := Coarse()
	time.Sleep(20 * Tick)
	c2 := Coarse()
	if c2 <= c1 || c2 > Exact() {
		t.Fatalf("coarse readings %d then %d (exact %d)", c1, c2, Exact())
	}
}
