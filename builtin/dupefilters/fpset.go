package dupefilters

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/frontier-go/frontier/framework"
)

// fpSet is a set of fingerprints in open addressing with linear probing: a
// tag array (one byte per slot, 0 = empty) and a key array (20 bytes per
// slot), so that a lookup scans tags, which are contiguous, and compares a key
// only on a tag match. At most 87.5% of the slots are used and a growth
// leaves 67% used, so the set costs 21/0.875 to 21/0.67, that is 24 to 31.4
// bytes per fingerprint (a Go map[[20]byte]struct{} costs about 50).
//
// A slot's home is fastrange(hash, cap): homes grow with the hash, so a
// rehash walks the old table in hash order and fills the new one nearly
// sequentially.
//
// A large table grows on another goroutine (see fpGrowth), so that the
// second core rehashes while this one goes on adding.
type fpSet struct {
	tags []uint8
	keys []framework.Fingerprint
	n    int
	max  int // n at which the set grows
	// growing is the growth running in the background, nil when none.
	// While it runs, the table above is read-only, new fingerprints go to
	// its side set, and mu guards both (the growth's goroutine takes it to
	// switch to the new table).
	growing atomic.Pointer[fpGrowth]
	mu      sync.Mutex
	// noBackground makes every growth synchronous (a growth's side set).
	noBackground bool
	// touched keeps what Touch reads, so that its reads are not dropped.
	touched uint8
}

// fpGrowth is a growth of a set running in the background: a goroutine
// builds the new table from the old one, which nobody writes meanwhile,
// while the fingerprints added in the meantime go to side, a small set of
// their own. Then the goroutine adds side's fingerprints to the new table
// and makes it the set's, under the set's lock, so that an idle set does
// not keep two tables.
type fpGrowth struct {
	slots int           // the new table's
	side  *fpSet        // fingerprints added since the growth began
	done  chan struct{} // closed once the set has its new table
}

const (
	fpMaxLoad  = 0.875
	fpGrowLoad = 0.67
	fpMinCap   = 1024
)

// newFPSet returns a set with room for n fingerprints before it grows.
func newFPSet(n int) *fpSet {
	s := &fpSet{}
	s.alloc(capFor(n))
	return s
}

// capFor returns the capacity that holds n fingerprints at the growth load.
func capFor(n int) int {
	return max(fpMinCap, int(float64(n)/fpGrowLoad)+1)
}

func (s *fpSet) alloc(c int) {
	s.tags = make([]uint8, c)
	s.keys = make([]framework.Fingerprint, c)
	adviseHuge(s.tags)
	adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s.keys))), len(s.keys)*fpSize))
	s.max = maxFor(c)
}

// maxFor returns the number of fingerprints at which a table of c slots
// grows.
func maxFor(c int) int { return int(float64(c) * fpMaxLoad) }

// Len returns the number of fingerprints.
func (s *fpSet) Len() int { return s.n }

// Bytes returns the memory the set's arrays take.
func (s *fpSet) Bytes() int {
	if s.growing.Load() != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if g := s.growing.Load(); g != nil {
			return (len(s.tags)+g.slots)*(1+fpSize) + g.side.Bytes()
		}
	}
	return len(s.tags) * (1 + fpSize)
}

// fpHash mixes a fingerprint's bytes: fingerprints are SHA-1 digests for the
// built-in fingerprinter, but custom ones need not be uniform.
func fpHash(fp *framework.Fingerprint) uint64 {
	a := binary.LittleEndian.Uint64(fp[0:8])
	b := binary.LittleEndian.Uint64(fp[8:16])
	c := uint64(binary.LittleEndian.Uint32(fp[16:20]))
	h := a ^ bits.RotateLeft64(b, 23) ^ c<<7
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func split(h uint64, c int) (home int, tag uint8) {
	hi, _ := bits.Mul64(h, uint64(c))
	tag = uint8(h)
	if tag == 0 {
		tag = 1
	}
	return int(hi), tag
}

// Has reports whether fp is in the set.
func (s *fpSet) Has(fp *framework.Fingerprint) bool {
	if s.growing.Load() != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if g := s.growing.Load(); g != nil && g.side.Has(fp) {
			return true
		}
	}
	return s.hasInTable(fp)
}

// hasInTable reports whether fp is in the table (not in a growth's side
// set).
func (s *fpSet) hasInTable(fp *framework.Fingerprint) bool {
	h := fpHash(fp)
	i, tag := split(h, len(s.tags))
	for {
		t := s.tags[i]
		if t == 0 {
			return false
		}
		if t == tag && s.keys[i] == *fp {
			return true
		}
		if i++; i == len(s.tags) {
			i = 0
		}
	}
}

// Touch reads the home slots of fps, a run of fingerprints about to be
// added, so that their cache lines are fetched together rather than one
// miss at a time in each Add: the reads do not depend on each other, and
// the processor overlaps them. It changes nothing.
func (s *fpSet) Touch(fps []framework.Fingerprint) {
	if s.growing.Load() != nil {
		return
	}
	var t uint8
	for k := range fps {
		i, _ := split(fpHash(&fps[k]), len(s.tags))
		t ^= s.tags[i] ^ s.keys[i][0] ^ s.keys[i][fpSize-1]
	}
	s.touched = t
}

// Add adds fp and reports whether it was new.
func (s *fpSet) Add(fp *framework.Fingerprint) bool {
	if s.growing.Load() != nil {
		if added, ok := s.addGrowing(fp); ok {
			return added
		}
	}
	h := fpHash(fp)
	i, tag := split(h, len(s.tags))
	for {
		t := s.tags[i]
		if t == 0 {
			break
		}
		if t == tag && s.keys[i] == *fp {
			return false
		}
		if i++; i == len(s.tags) {
			i = 0
		}
	}
	s.tags[i], s.keys[i] = tag, *fp
	s.n++
	if s.n >= s.max {
		s.startGrowth(capFor(s.n))
	}
	return true
}

// addGrowing is Add while a growth may run in the background: ok is false
// when it finished meanwhile, and Add goes on as without one.
func (s *fpSet) addGrowing(fp *framework.Fingerprint) (added, ok bool) {
	s.mu.Lock()
	g := s.growing.Load()
	if g == nil {
		s.mu.Unlock()
		return false, false
	}
	if s.hasInTable(fp) || !g.side.Add(fp) {
		s.mu.Unlock()
		return false, true
	}
	s.n++
	full := s.n >= maxFor(g.slots)
	s.mu.Unlock()
	if full {
		<-g.done // the new table cannot take more: wait for it
	}
	return true, true
}

// bgGrowMin is the table size from which a growth runs in the background.
const bgGrowMin = parallelGrowMin

// startGrowth grows the set to c slots: in the background for a large
// table when there is a second core to do it, at once otherwise.
func (s *fpSet) startGrowth(c int) {
	if s.noBackground || len(s.tags) < bgGrowMin || runtime.GOMAXPROCS(0) < 2 {
		s.grow(c)
		return
	}
	// side starts with room for what this core is likely to add while the
	// other rehashes the whole table; it grows if need be.
	side := newFPSet(s.n / 32)
	side.noBackground = true
	g := &fpGrowth{slots: c, side: side, done: make(chan struct{})}
	s.growing.Store(g)
	go s.growInBackground(g, s.tags, s.keys)
}

// growInBackground fills a new table of g.slots from the old one (tags,
// keys), then adds what was added meanwhile and switches the set to it.
func (s *fpSet) growInBackground(g *fpGrowth, tags []uint8, keys []framework.Fingerprint) {
	next := &fpSet{}
	next.alloc(g.slots)
	next.insertAll(tags, keys)
	s.mu.Lock()
	next.insertAll(g.side.tags, g.side.keys)
	s.tags, s.keys, s.max = next.tags, next.keys, next.max
	s.growing.Store(nil)
	s.mu.Unlock()
	close(g.done)
}

// settle waits for a growth running in the background: the set is then
// one table again, which the bulk loads and walks work on.
func (s *fpSet) settle() {
	if g := s.growing.Load(); g != nil {
		<-g.done
	}
}

// AddAll adds the fingerprints packed in b (20 bytes each) and returns how
// many were new. It is Add for bulk loads: a table of a million fingerprints
// is far larger than the CPU caches, so inserting in file order waits on
// memory at every fingerprint; AddAll sorts each chunk of b by slot first
// (a counting sort on the top bits of the home slot), so that inserts walk
// the table in address order. It needs 22 bytes per fingerprint of a chunk
// (at most addAllChunk of them) while it runs.
func (s *fpSet) AddAll(b []byte) int {
	added := 0
	for len(b) >= fpSize {
		k := min(len(b)/fpSize, addAllChunk)
		added += s.addChunk(b[:k*fpSize])
		b = b[k*fpSize:]
	}
	return added
}

// AddOrdered adds the fingerprints packed in b, which come in set order
// (as Each gives them): consecutive fingerprints land in nearby slots, so
// inserting them as they come writes the table nearly front to back.
func (s *fpSet) AddOrdered(b []byte) int {
	s.Reserve(len(b) / fpSize)
	added := 0
	for p := b; len(p) >= fpSize; p = p[fpSize:] {
		fp := (*framework.Fingerprint)(p[:fpSize])
		home, tag := split(fpHash(fp), len(s.tags))
		if s.addAt(fp, home, tag) {
			added++
		}
	}
	return added
}

// AddOrderedFrames adds the fingerprints packed in frames, which come in set
// order across them, with two goroutines when there are many: one fills the
// table's slots below the home of the fingerprint halfway through, the other
// the slots above, each leaving aside what would cross into the other's
// half, which is added last. Linear probing stays valid: every fingerprint
// sits after an unbroken run of occupied slots from its home, and nothing is
// ever removed.
func (s *fpSet) AddOrderedFrames(frames [][]byte) int {
	total := 0
	for _, f := range frames {
		total += len(f) / fpSize
	}
	s.Reserve(total)
	k, seen := 0, 0
	for k < len(frames) && seen < total/2 {
		seen += len(frames[k]) / fpSize
		k++
	}
	if total < parallelMin || runtime.GOMAXPROCS(0) < 2 || k == len(frames) || len(frames[k]) < fpSize {
		added := 0
		for _, f := range frames {
			added += s.AddOrdered(f)
		}
		return added
	}
	c := len(s.tags)
	boundary, _ := split(fpHash((*framework.Fingerprint)(frames[k][:fpSize])), c)
	if boundary == 0 {
		boundary = 1
	}
	var lowAdded int
	var lowDeferred []byte
	done := make(chan struct{})
	go func() {
		lowAdded, lowDeferred = s.fillRange(frames[:k], 0, boundary)
		close(done)
	}()
	highAdded, highDeferred := s.fillRange(frames[k:], boundary, c)
	<-done
	s.n += lowAdded + highAdded
	// Left aside: added one by one (the room is reserved, nothing grows).
	return lowAdded + highAdded + s.AddOrdered(lowDeferred) + s.AddOrdered(highDeferred)
}

// parallelMin is the number of fingerprints below which AddOrderedFrames
// works alone.
const parallelMin = 64 << 10

// fillRange adds the fingerprints of frames whose home is in [lo, hi) and
// whose probe ends there, touching no slot outside; it returns how many it
// added (s.n is the caller's) and the packed fingerprints it left aside.
func (s *fpSet) fillRange(frames [][]byte, lo, hi int) (added int, deferred []byte) {
	for _, f := range frames {
	next:
		for p := f; len(p) >= fpSize; p = p[fpSize:] {
			fp := (*framework.Fingerprint)(p[:fpSize])
			i, tag := split(fpHash(fp), len(s.tags))
			if i < lo || i >= hi {
				deferred = append(deferred, p[:fpSize]...)
				continue
			}
			for t := s.tags[i]; t != 0; t = s.tags[i] {
				if t == tag && s.keys[i] == *fp {
					continue next
				}
				if i++; i == hi {
					deferred = append(deferred, p[:fpSize]...)
					continue next
				}
			}
			s.tags[i], s.keys[i] = tag, *fp
			added++
		}
	}
	return added, deferred
}

const (
	addAllChunk   = 256 << 10
	addAllBuckets = 1024
)

func (s *fpSet) addChunk(b []byte) int {
	n := len(b) / fpSize
	s.Reserve(n)
	if n < 4*addAllBuckets {
		added := 0
		for p := b; len(p) > 0; p = p[fpSize:] {
			if s.Add((*framework.Fingerprint)(p[:fpSize])) {
				added++
			}
		}
		return added
	}
	c := uint64(len(s.tags))
	var count [addAllBuckets + 1]int
	buckets := make([]uint16, n)
	for i := range buckets {
		home, _ := split(fpHash((*framework.Fingerprint)(b[i*fpSize:])), len(s.tags))
		k := uint16(uint64(home) * addAllBuckets / c)
		buckets[i] = k
		count[k+1]++
	}
	for k := 1; k <= addAllBuckets; k++ {
		count[k] += count[k-1]
	}
	sorted := make([]byte, len(b))
	for i, k := range buckets {
		copy(sorted[count[k]*fpSize:], b[i*fpSize:(i+1)*fpSize])
		count[k]++
	}
	added := 0
	for p := sorted; len(p) > 0; p = p[fpSize:] {
		fp := (*framework.Fingerprint)(p[:fpSize])
		home, tag := split(fpHash(fp), len(s.tags))
		if s.addAt(fp, home, tag) {
			added++
		}
	}
	return added
}

// addAt adds fp, whose home and tag are given, without growing.
func (s *fpSet) addAt(fp *framework.Fingerprint, i int, tag uint8) bool {
	for {
		t := s.tags[i]
		if t == 0 {
			break
		}
		if t == tag && s.keys[i] == *fp {
			return false
		}
		if i++; i == len(s.tags) {
			i = 0
		}
	}
	s.tags[i], s.keys[i] = tag, *fp
	s.n++
	return true
}

// insertAll puts the fingerprints of another table's slots (tags, keys),
// all known to be absent, into their places.
func (s *fpSet) insertAll(tags []uint8, keys []framework.Fingerprint) {
	for i, t := range tags {
		if t != 0 {
			s.insertNew(&keys[i])
		}
	}
}

// insertNew puts fp, known to be absent, into its place.
func (s *fpSet) insertNew(fp *framework.Fingerprint) {
	i, tag := split(fpHash(fp), len(s.tags))
	for s.tags[i] != 0 {
		if i++; i == len(s.tags) {
			i = 0
		}
	}
	s.tags[i], s.keys[i] = tag, *fp
}

// grow rehashes into a table of c slots. A large table is rehashed by two
// goroutines, one per half of the new table (see rehashRange), since a
// growth is most of what an insert costs on average.
func (s *fpSet) grow(c int) {
	tags, keys := s.tags, s.keys
	s.alloc(c)
	if len(tags) < parallelGrowMin || runtime.GOMAXPROCS(0) < 2 {
		s.insertAll(tags, keys)
		return
	}
	mid, boundary := len(tags)/2, c/2
	var lowDeferred []int32
	done := make(chan struct{})
	go func() {
		lowDeferred = s.rehashRange(tags[:mid], keys[:mid], 0, 0, boundary)
		close(done)
	}()
	highDeferred := s.rehashRange(tags[mid:], keys[mid:], mid, boundary, c)
	<-done
	for _, i := range lowDeferred {
		s.insertNew(&keys[i])
	}
	for _, i := range highDeferred {
		s.insertNew(&keys[i])
	}
}

// parallelGrowMin is the old table size from which grow uses two goroutines.
const parallelGrowMin = 256 << 10

// rehashRange puts the fingerprints of an old table's slots (tags, keys,
// the first at old index base) whose new home is in [lo, hi) and whose probe
// ends there into the new table, touching no slot outside [lo, hi), and
// returns the old indexes of those it left aside. Homes grow with the hash
// in both tables, so the old table's first half lands almost all in the new
// one's first half: little is left aside. Linear probing stays valid, as in
// fillRange.
func (s *fpSet) rehashRange(tags []uint8, keys []framework.Fingerprint, base, lo, hi int) (deferred []int32) {
	c := len(s.tags)
next:
	for k, t := range tags {
		if t == 0 {
			continue
		}
		fp := &keys[k]
		i, tag := split(fpHash(fp), c)
		if i < lo || i >= hi {
			deferred = append(deferred, int32(base+k))
			continue
		}
		for s.tags[i] != 0 {
			if i++; i == hi {
				deferred = append(deferred, int32(base+k))
				continue next
			}
		}
		s.tags[i], s.keys[i] = tag, *fp
	}
	return deferred
}

// Reserve makes room for n more fingerprints without growing on the way.
func (s *fpSet) Reserve(n int) {
	s.settle()
	if s.n+n >= s.max {
		s.grow(capFor(s.n + n))
	}
}

// Each calls fn for every fingerprint, in table order, until fn returns false.
func (s *fpSet) Each(fn func(framework.Fingerprint) bool) {
	s.settle()
	for i, t := range s.tags {
		if t != 0 && !fn(s.keys[i]) {
			return
		}
	}
}
