package framework

import (
	"sync"
	"sync/atomic"
)

// Stats keys the scheduler and dupefilter maintain (Scrapy's, plus frontier's own).
const (
	StatEnqueued           = "scheduler/enqueued"
	StatEnqueuedDisk       = "scheduler/enqueued/disk"
	StatEnqueuedMemory     = "scheduler/enqueued/memory"
	StatDequeued           = "scheduler/dequeued"
	StatDequeuedDisk       = "scheduler/dequeued/disk"
	StatDequeuedMemory     = "scheduler/dequeued/memory"
	StatUnserializable     = "scheduler/unserializable"
	StatInFlight           = "scheduler/inflight"
	StatRedelivered        = "scheduler/redelivered"
	StatFinished           = "scheduler/finished"
	StatDupeFilterFiltered = "dupefilter/filtered"
)

// Stats collects the crawl's counters, as Scrapy's stats collector. Methods
// are safe for concurrent use.
type Stats interface {
	Inc(key string, n int64)
	Set(key string, v int64)
	// Max sets key to v if v is larger than its current value.
	Max(key string, v int64)
	Get(key string) int64
	Snapshot() map[string]int64
}

// Counter is implemented by stats that hand out a live counter for a key,
// so that hot paths count without a lookup per increment.
type Counter interface {
	Counter(key string) *atomic.Int64
}

// CounterFunc returns a function that adds to key in st: an atomic add when
// st implements [Counter], st.Inc otherwise.
func CounterFunc(st Stats, key string) func(n int64) {
	if c, ok := st.(Counter); ok {
		ctr := c.Counter(key)
		return func(n int64) { ctr.Add(n) }
	}
	return func(n int64) { st.Inc(key, n) }
}

// MemoryStats is the default in-memory Stats: one atomic counter per key.
type MemoryStats struct {
	mu sync.RWMutex
	m  map[string]*atomic.Int64
}

var (
	_ Stats   = (*MemoryStats)(nil)
	_ Counter = (*MemoryStats)(nil)
)

// NewMemoryStats returns empty stats.
func NewMemoryStats() *MemoryStats { return &MemoryStats{m: map[string]*atomic.Int64{}} }

// Counter returns key's counter, creating it at zero.
func (s *MemoryStats) Counter(key string) *atomic.Int64 {
	s.mu.RLock()
	c, ok := s.m[key]
	s.mu.RUnlock()
	if ok {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok = s.m[key]; !ok {
		c = new(atomic.Int64)
		s.m[key] = c
	}
	return c
}

func (s *MemoryStats) Inc(key string, n int64) { s.Counter(key).Add(n) }

func (s *MemoryStats) Set(key string, v int64) { s.Counter(key).Store(v) }

func (s *MemoryStats) Max(key string, v int64) {
	s.mu.Lock()
	c, ok := s.m[key]
	if !ok {
		c = new(atomic.Int64)
		c.Store(v)
		s.m[key] = c
	}
	s.mu.Unlock()
	for cur := c.Load(); v > cur && !c.CompareAndSwap(cur, v); cur = c.Load() {
	}
}

func (s *MemoryStats) Get(key string) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.m[key]; ok {
		return c.Load()
	}
	return 0
}

func (s *MemoryStats) Snapshot() map[string]int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]int64, len(s.m))
	for k, c := range s.m {
		out[k] = c.Load()
	}
	return out
}
