package dupefilters

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontier-go/frontier/framework"
)

const (
	// parallelFingerprintMin is the batch size from which a batch is
	// fingerprinted on two goroutines: below it, starting one costs more
	// than it saves.
	parallelFingerprintMin = 16
	// fingerprintChunk is how many requests a goroutine claims at a time.
	fingerprintChunk = 8
)

// fingerprintBatch computes rs's fingerprints with fp into fps and errs and
// calls use(i) for each i in order as soon as fps[i] is ready (see
// framework.BatchDupeFilter.Fingerprints). A ready function other than nil
// is given each run of fingerprints before use sees them (the filter's set
// fetches their slots: see fpSet.Touch).
//
// A large batch is cut into chunks that the caller and the helper goroutine
// (fpHelper) claim in order through one atomic counter. The caller hands out
// each chunk's requests as soon as the chunk is done, so that the helper
// fingerprints ahead while the caller filters and queues: the two overlap
// instead of one waiting for the other. The caller never waits for a helper
// that has not started: while its next chunk is not ready, it claims and
// computes the next unclaimed one itself, and only when none is left does it
// wait, yielding, for the chunk the helper is computing. A helper that comes
// late finds nothing left.
func fingerprintBatch(fp framework.Fingerprinter, rs []*framework.Request, fps []framework.Fingerprint, errs []error, ready func([]framework.Fingerprint), use func(i int) error) error {
	if len(rs) < parallelFingerprintMin || runtime.GOMAXPROCS(0) < 2 {
		for i, r := range rs {
			fps[i], errs[i] = fp.Fingerprint(r)
		}
		if use == nil {
			return nil
		}
		if ready != nil && len(rs) > 0 {
			ready(fps[:len(rs)])
		}
		for i := range rs {
			if err := use(i); err != nil {
				return err
			}
		}
		return nil
	}
	b := &fpBatch{fp: fp, rs: rs, fps: fps, errs: errs}
	if chunks := (len(rs) + fingerprintChunk - 1) / fingerprintChunk; chunks <= len(b.small) {
		b.done = b.small[:chunks]
	} else {
		b.done = make([]atomic.Bool, chunks)
	}
	h := theHelper()
	posted := h.post(b)
	defer func() {
		b.stop()
		if posted {
			h.slot.CompareAndSwap(b, nil)
		}
	}()
	for c := range b.done {
		for !b.done[c].Load() {
			if !b.claim() {
				runtime.Gosched() // the helper has this chunk
			}
		}
		if use == nil {
			continue
		}
		lo, hi := c*fingerprintChunk, min((c+1)*fingerprintChunk, len(rs))
		if ready != nil {
			ready(fps[lo:hi])
		}
		for i := lo; i < hi; i++ {
			if err := use(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// fpBatch is one batch being fingerprinted by fingerprintBatch's caller
// and the helper.
type fpBatch struct {
	fp   framework.Fingerprinter
	rs   []*framework.Request
	fps  []framework.Fingerprint
	errs []error
	next atomic.Int64  // the first request no goroutine has claimed
	done []atomic.Bool // per chunk: its fingerprints are written
	// small holds done for a batch of up to 32 chunks (256 requests), in
	// the batch's one allocation.
	small [32]atomic.Bool
}

// claim computes the next unclaimed chunk and reports whether there was
// one.
func (b *fpBatch) claim() bool {
	n := int64(len(b.rs))
	i := b.next.Add(fingerprintChunk) - fingerprintChunk
	if i >= n {
		return false
	}
	j := min(i+fingerprintChunk, n)
	for k := i; k < j; k++ {
		b.fps[k], b.errs[k] = b.fp.Fingerprint(b.rs[k])
	}
	b.done[i/fingerprintChunk].Store(true)
	return true
}

// stop claims the chunks left, so that the helper computes no more, and
// waits for the ones it claimed: once stop returns, nothing writes to the
// batch's fingerprints.
func (b *fpBatch) stop() {
	n := int64(len(b.rs))
	claimed := min(b.next.Add(n)-n, n) // how far chunks were claimed before
	for c := range b.done[:(claimed+fingerprintChunk-1)/fingerprintChunk] {
		for !b.done[c].Load() {
			runtime.Gosched()
		}
	}
}

// fpHelper is the goroutine that fingerprints ahead for batches, one
// for the process, started with the first large batch. A batch is posted
// in its slot; a caller whose batch finds the slot taken (another
// scheduler's batch) does all the work itself.
//
// Waking a parked goroutine takes longer than fingerprinting a callback's
// output (the woken goroutine waits to be stolen by an idle thread), so
// after a batch the helper stays awake, polling its slot while yielding,
// for helperSpin before it parks: batches that follow each other closely,
// as in a crawl's busy phase or a bulk load, find it awake.
type fpHelper struct {
	slot   atomic.Pointer[fpBatch]
	parked atomic.Bool
	wake   chan struct{}
}

// helperSpin is how long the helper stays awake after its last batch.
const helperSpin = 50 * time.Microsecond

var (
	helperOnce sync.Once
	helper     *fpHelper
)

func theHelper() *fpHelper {
	helperOnce.Do(func() {
		helper = &fpHelper{wake: make(chan struct{}, 1)}
		go helper.run()
	})
	return helper
}

// post offers b to the helper and reports whether it took it.
func (h *fpHelper) post(b *fpBatch) bool {
	if !h.slot.CompareAndSwap(nil, b) {
		return false
	}
	if h.parked.CompareAndSwap(true, false) {
		h.wake <- struct{}{}
	}
	return true
}

func (h *fpHelper) run() {
	idleSince := time.Now()
	for {
		if b := h.slot.Load(); b != nil {
			for b.claim() {
			}
			h.slot.CompareAndSwap(b, nil)
			idleSince = time.Now()
			continue
		}
		if time.Since(idleSince) < helperSpin {
			runtime.Gosched()
			continue
		}
		// Park, unless a batch came in between: a poster that saw parked
		// set sends a wake-up, which is taken even when this goroutine
		// found the batch itself.
		h.parked.Store(true)
		if h.slot.Load() != nil && h.parked.CompareAndSwap(true, false) {
			continue
		}
		<-h.wake
		idleSince = time.Now()
	}
}
