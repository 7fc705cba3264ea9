package disktest

import (
	"os"
	"sync"
	"syscall"

	"github.com/frontier-go/frontier/builtin/queues/disk"
)

// FullDisk is a file on a disk about to fill up: its writes fail with
// ENOSPC once the byte budget it shares with other files (under Mu) is
// spent, after writing what the budget allows.
type FullDisk struct {
	disk.File
	Budget *int64
	Mu     *sync.Mutex
}

func (f FullDisk) WriteAt(b []byte, off int64) (int, error) {
	f.Mu.Lock()
	n := int64(len(b))
	short := n > *f.Budget
	if short {
		n = *f.Budget
	}
	*f.Budget -= n
	f.Mu.Unlock()
	m, err := f.File.WriteAt(b[:n], off)
	if err == nil && short {
		err = &os.PathError{Op: "write", Path: "faulty", Err: syscall.ENOSPC}
	}
	return m, err
}
