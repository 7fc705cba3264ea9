package queues

import (
	"sync/atomic"
	"time"
)

// mono is a reading of the disk queues' monotonic clock: nanoseconds since
// the first reading of the process, never 0, so that 0 means "not set".
type mono int64

var clockBase = time.Now()

// exactNow reads the clock.
func exactNow() mono { return mono(time.Since(clockBase)) + 1 }

// since returns how long ago t was, at now.
func (t mono) since(now mono) time.Duration { return time.Duration(now - t) }

// The coarse clock: a goroutine refreshes a shared reading every clockTick
// while queues ask for it, and stops after a second without a reader. A
// push or pop reads the time to know whether a flush is due; reading it
// from memory instead of the system clock is most of a push's cost saved
// on some machines, and the intervals involved are hundreds of ticks.
const clockTick = 5 * time.Millisecond

var coarse struct {
	now     atomic.Int64
	running atomic.Bool
	used    atomic.Bool
}

// clockNow returns the time, at most clockTick old.
func clockNow() mono {
	if !coarse.used.Load() {
		coarse.used.Store(true)
	}
	if coarse.running.Load() {
		return mono(coarse.now.Load())
	}
	now := exactNow()
	if coarse.running.CompareAndSwap(false, true) {
		coarse.now.Store(int64(now))
		go runClock()
	}
	return now
}

func runClock() {
	t := time.NewTicker(clockTick)
	defer t.Stop()
	idle := 0
	for range t.C {
		coarse.now.Store(int64(exactNow()))
		if coarse.used.Swap(false) {
			idle = 0
			continue
		}
		if idle++; idle*int(clockTick) < int(time.Second) {
			continue
		}
		coarse.running.Store(false)
		return
	}
}
