package disk

import (
	"sync/atomic"
	"time"
)

// IDs hands out the delivery identifiers of one set of queues (a job
// directory's queue store, or a pool of per-file queues): the clock when the
// IDs were made, then counting up, and moved past any identifier found on
// disk. A push takes far longer than a nanosecond, so identifiers stay behind
// the clock, and IDs made later (by a later process, or by this one reopening
// the job) start past every identifier given before.
//
// IDs is safe for concurrent use.
type IDs struct {
	next atomic.Uint64
}

// maxID bounds the identifiers Saw takes: nanoseconds since 1970 stay under
// 2^62 until 2116.
const maxID = 1 << 62

// NewIDs returns identifiers that start at the clock.
func NewIDs() *IDs {
	d := &IDs{}
	d.next.Store(uint64(time.Now().UnixNano()))
	return d
}

// Next takes n consecutive identifiers and returns the first.
func (d *IDs) Next(n uint64) uint64 {
	return d.next.Add(n) - n + 1
}

// Last returns the largest identifier handed out (or seen) so far: every
// identifier Next hands out after it is larger.
func (d *IDs) Last() uint64 { return d.next.Load() }

// Saw moves the identifiers past id, found on disk. An id beyond any clock
// reading did not come from a frontier process and is ignored, so that a
// crafted file cannot make the identifiers wrap around.
func (d *IDs) Saw(id uint64) {
	if id >= maxID {
		return
	}
	for {
		cur := d.next.Load()
		if cur >= id || d.next.CompareAndSwap(cur, id) {
			return
		}
	}
}
