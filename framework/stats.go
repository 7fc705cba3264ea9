package framework

import (
	"maps"
	"sync"
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

// MemoryStats is the default in-memory Stats.
type MemoryStats struct {
	mu sync.Mutex
	m  map[string]int64
}

var _ Stats = (*MemoryStats)(nil)

// NewMemoryStats returns empty stats.
func NewMemoryStats() *MemoryStats { return &MemoryStats{m: map[string]int64{}} }

func (s *MemoryStats) Inc(key string, n int64) {
	s.mu.Lock()
	s.m[key] += n
	s.mu.Unlock()
}

func (s *MemoryStats) Set(key string, v int64) {
	s.mu.Lock()
	s.m[key] = v
	s.mu.Unlock()
}

func (s *MemoryStats) Max(key string, v int64) {
	s.mu.Lock()
	if cur, ok := s.m[key]; !ok || v > cur {
		s.m[key] = v
	}
	s.mu.Unlock()
}

func (s *MemoryStats) Get(key string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}

func (s *MemoryStats) Snapshot() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m)
}
