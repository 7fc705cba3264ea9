//go:build unix

package dupefilters

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of f read-only, for a load that reads them once:
// no buffer to allocate, zero and copy into. unmap releases the mapping.
func mapFile(f *os.File, size int64) (data []byte, unmap func(), err error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, os.ErrInvalid
	}
	data, err = unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL)
	return data, func() { _ = unix.Munmap(data) }, nil
}

// hugeMin is the size from which a table asks for huge pages.
const hugeMin = 4 << 20

// adviseHuge asks the kernel to back b with huge pages where it allows them
// only on request (transparent_hugepage=madvise): a table of a million
// fingerprints is tens of megabytes written at random, and with 4 KiB pages
// its first writes cost more in page faults than the inserts themselves.
// It is a hint; where the kernel refuses, nothing changes.
func adviseHuge(b []byte) {
	if len(b) < hugeMin {
		return
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
}
