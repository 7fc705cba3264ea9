package queues

import "github.com/frontier-go/frontier/internal/clock"

// mono is a reading of the disk queues' monotonic clock (clock.Mono): 0
// means "not set".
type mono = clock.Mono

// exactNow reads the clock.
func exactNow() mono { return clock.Exact() }

// clockNow returns the time, at most clock.Tick old: a push or pop reads the
// time to know whether a flush is due, and reading it from memory instead of
// the system clock is most of a push's cost saved on some machines.
func clockNow() mono { return clock.Coarse() }
