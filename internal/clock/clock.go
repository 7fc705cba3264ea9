// Package clock reads a monotonic clock cheaply: an exact reading, or a
// coarse one refreshed in the background while it is used. Hot paths that
// only need to know whether an interval of many milliseconds has passed (a
// group commit, a flush interval) read the coarse one from memory instead
// of asking the system on every call.
package clock

import (
	"sync/atomic"
	"time"
)

// Mono is a reading: nanoseconds since the first reading of the process,
// never 0, so that 0 can mean "not set".
type Mono int64

var base = time.Now()

// Exact reads the clock.
func Exact() Mono { return Mono(time.Since(base)) + 1 }

// Since returns how long ago t was, at now.
func (t Mono) Since(now Mono) time.Duration { return time.Duration(now - t) }

// Tick is the coarse clock's resolution: a goroutine refreshes a shared
// reading every Tick while the clock is read, and stops after a second
// without a reader.
const Tick = 5 * time.Millisecond

var coarse struct {
	now     atomic.Int64
	running atomic.Bool
	used    atomic.Bool
}

// Coarse returns the time, at most Tick old.
func Coarse() Mono {
	if !coarse.used.Load() {
		coarse.used.Store(true)
	}
	if coarse.running.Load() {
		return Mono(coarse.now.Load())
	}
	now := Exact()
	if coarse.running.CompareAndSwap(false, true) {
		coarse.now.Store(int64(now))
		go run()
	}
	return now
}

func run() {
	t := time.NewTicker(Tick)
	defer t.Stop()
	idle := 0
	for range t.C {
		coarse.now.Store(int64(Exact()))
		if coarse.used.Swap(false) {
			idle = 0
			continue
		}
		if idle++; idle*int(Tick) < int(time.Second) {
			continue
		}
		coarse.running.Store(false)
		return
	}
}
