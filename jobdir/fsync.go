package jobdir

import (
	"os"
	"time"

	"github.com/frontier-go/frontier/internal/recordio"
)

// FsyncPolicy is when job-directory writes are fsynced (JOBDIR_FSYNC and
// JOBDIR_FSYNC_INTERVAL, read into framework.JobConfig); the disk queues
// and the journals share it. Every
// mode hands each flush to the operating system in one write, so all of them
// survive the crash of the process; they differ on a crash of the machine.
type FsyncPolicy = recordio.FsyncPolicy

// FsyncMode is the JOBDIR_FSYNC value of an [FsyncPolicy].
type FsyncMode = recordio.FsyncMode

// The fsync modes; see docs/jobdir.md for what each survives.
const (
	// FsyncInterval fsyncs at the first flush at least the interval after the
	// oldest write not yet fsynced, and at close. The default.
	FsyncInterval = recordio.FsyncInterval
	// FsyncAlways fsyncs at every flush.
	FsyncAlways = recordio.FsyncAlways
	// FsyncNever leaves writing back to the operating system; files are
	// fsynced at close only.
	FsyncNever = recordio.FsyncNever
)

// DefaultFsyncInterval is JOBDIR_FSYNC_INTERVAL's default.
const DefaultFsyncInterval = recordio.DefaultFsyncInterval

// syncer applies an FsyncPolicy to one file.
type syncer struct {
	policy   FsyncPolicy
	unsynced time.Time // first write not yet fsynced
	dirty    bool
}

func newSyncer(p FsyncPolicy) syncer { return syncer{policy: p} }

// maybe fsyncs f if it was written to and the policy says so now; force
// fsyncs any written data (close, checkpoints).
func (s *syncer) maybe(f *os.File, force bool) error {
	if !s.dirty {
		return nil
	}
	now := time.Now()
	if s.unsynced.IsZero() {
		s.unsynced = now
	}
	if !force && !s.policy.Due(s.unsynced, now) {
		return nil
	}
	if err := f.Sync(); err != nil {
		return err
	}
	s.dirty = false
	s.unsynced = time.Time{}
	return nil
}
