package queuestore

import (
	"fmt"
	"os"

	"github.com/frontier-go/frontier/builtin/queues/disk"
)

// storeMaxOpen is how many segment files a store keeps open: beyond it, the
// least recently used segment that holds no unsynced write is closed, and
// opened again when a chunk is read from it. A store of a hundred gigabytes
// (1600 segments) stays within any descriptor limit.
const storeMaxOpen = 128

// fileOf returns seg's open file, opening it (and closing another) if needed.
func (s *Store) fileOf(seg *storeSeg) (disk.File, error) {
	s.tick++
	seg.used = s.tick
	if seg.f != nil {
		return seg.f, nil
	}
	flag := os.O_RDWR
	if s.readOnly {
		flag = os.O_RDONLY
	}
	f, err := s.openFile(s.segPath(seg.no), flag, 0)
	if err != nil {
		return nil, fmt.Errorf("queues: queue store %s: %w", s.dir, err)
	}
	s.opened(seg, f)
	return f, nil
}

// opened gives seg its newly opened file f, and closes another if that
// makes one too many.
func (s *Store) opened(seg *storeSeg, f disk.File) {
	seg.f = f
	if s.open++; s.open > s.maxOpen {
		s.closeLeastUsed(seg)
	}
}

// closeLeastUsed closes the open segment used longest ago, other than keep
// and the active one; one with writes not yet fsynced is fsynced first (the
// policy's fsyncs, even at close only, need the file open).
func (s *Store) closeLeastUsed(keep *storeSeg) {
	var lru *storeSeg
	for _, seg := range s.segs {
		if seg.f == nil || seg == keep || seg == s.active {
			continue
		}
		if lru == nil || seg.used < lru.used {
			lru = seg
		}
	}
	if lru == nil {
		return
	}
	if lru.unsynced {
		if err := lru.f.Sync(); err != nil {
			return // kept open; the next sync reports the error
		}
		lru.unsynced = false
	}
	s.closeFile(lru)
}

// closeFile closes seg's file if it is open.
func (s *Store) closeFile(seg *storeSeg) error {
	if seg.f == nil {
		return nil
	}
	err := seg.f.Close()
	seg.f = nil
	s.open--
	return err
}
