package recordio

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// FsyncMode says when writes to job-directory files are fsynced (setting
// JOBDIR_FSYNC). Every mode hands each flush to the operating system in one
// write, so all of them survive the crash of the process (SIGKILL, a panic,
// the OOM killer); they differ on a crash of the machine (power cut, kernel
// panic).
type FsyncMode int

// The fsync modes. The zero value is the default.
const (
	// FsyncInterval fsyncs at the first flush at least Interval after the
	// oldest write not yet fsynced: a machine crash loses at most about
	// Interval of acknowledged work (more if nothing flushes meanwhile).
	FsyncInterval FsyncMode = iota
	// FsyncAlways fsyncs at every flush: a machine crash loses nothing
	// acknowledged. It costs one fsync per flushed file.
	FsyncAlways
	// FsyncNever leaves writing back to the operating system (on Linux,
	// usually within 30 s): a machine crash can lose anything since.
	FsyncNever
)

// String returns the mode's setting value.
func (m FsyncMode) String() string {
	switch m {
	case FsyncAlways:
		return "always"
	case FsyncNever:
		return "never"
	default:
		return "interval"
	}
}

// ParseFsyncMode parses a JOBDIR_FSYNC value: "interval", "always" or
// "never", in any case; "" is the default, interval.
func ParseFsyncMode(s string) (FsyncMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "interval":
		return FsyncInterval, nil
	case "always":
		return FsyncAlways, nil
	case "never":
		return FsyncNever, nil
	}
	return 0, fmt.Errorf("%w %q: want interval, always or never", ErrFsyncMode, s)
}

// DefaultFsyncInterval is JOBDIR_FSYNC_INTERVAL's default.
const DefaultFsyncInterval = time.Second

// FsyncPolicy is when writes are fsynced: JOBDIR_FSYNC and JOBDIR_FSYNC_INTERVAL.
type FsyncPolicy struct {
	Mode     FsyncMode
	Interval time.Duration // for FsyncInterval; 0 means DefaultFsyncInterval
	// Tick, under FsyncInterval, is the clock the files of one job share
	// (nil: each file keeps its own). Once a leader (the scheduler) has
	// begun a tick, a file is due only inside a tick, or when it holds
	// writes older than the last one's start (a file the tick did not
	// reach).
	Tick *SyncTick
}

// SyncTick is the fsync clock the files of one job share under
// FsyncInterval, so that they are fsynced together, in the order their
// leader flushes them (the scheduler: in-flight deliveries, bucket journal,
// queues, fingerprints, finishes), and never one ahead of another: after a
// power cut a job is as it was at the last tick, plus whatever unsynced
// writes the file system had written back on its own. Without a shared
// clock each file's own interval elapses at its own moment, and a queue's
// pops could become durable before the delivery records of the in-flight
// journal, or a fingerprint before its request.
//
// It is safe for concurrent use.
type SyncTick struct {
	led  atomic.Bool
	open atomic.Bool
	last atomic.Int64 // wall clock (UnixNano) at the start of the last tick
}

// NewSyncTick returns a clock no leader has begun yet: until one does, each
// file keeps its own interval.
func NewSyncTick() *SyncTick { return &SyncTick{} }

// Begin starts a tick when interval has passed since the last one began,
// and reports whether it did: until End, every file of the job with
// unsynced writes is due. The leader calls it at the start of a flush that
// writes every file in dependency order, and End once it is done.
func (t *SyncTick) Begin(now time.Time, interval time.Duration) bool {
	t.led.Store(true)
	if interval <= 0 {
		interval = DefaultFsyncInterval
	}
	if now.UnixNano()-t.last.Load() < int64(interval) {
		return false
	}
	t.last.Store(now.UnixNano())
	t.open.Store(true)
	return true
}

// Due reports whether Begin would start a tick now.
func (t *SyncTick) Due(now time.Time, interval time.Duration) bool {
	if interval <= 0 {
		interval = DefaultFsyncInterval
	}
	return now.UnixNano()-t.last.Load() >= int64(interval)
}

// Between reports whether a leader leads the clock and is not inside a
// tick: a flush now hands its writes to the operating system without
// fsyncing them. False on a nil clock, or one no leader has begun.
func (t *SyncTick) Between() bool {
	return t != nil && t.led.Load() && !t.open.Load()
}

// End ends the tick Begin started.
func (t *SyncTick) End() { t.open.Store(false) }

// due reports whether a file whose oldest unsynced write is at oldest (zero:
// unknown) is due, and whether the tick decides at all (a leader began one).
func (t *SyncTick) due(oldest time.Time) (due, decides bool) {
	if t == nil || !t.led.Load() {
		return false, false
	}
	if t.open.Load() {
		return true, true
	}
	return !oldest.IsZero() && oldest.UnixNano() < t.last.Load(), true
}

// DefaultFsyncPolicy is the policy when the settings say nothing.
var DefaultFsyncPolicy = FsyncPolicy{Mode: FsyncInterval, Interval: DefaultFsyncInterval}

// Due reports whether data first written unsynced at oldest must be fsynced
// at now. It is always false for FsyncNever and always true for FsyncAlways.
func (p FsyncPolicy) Due(oldest, now time.Time) bool {
	switch p.Mode {
	case FsyncAlways:
		return true
	case FsyncNever:
		return false
	}
	if due, decides := p.Tick.due(oldest); decides {
		return due
	}
	return now.Sub(oldest) >= p.interval()
}

// DueAfter is Due for a file whose oldest unsynced write was age ago, for
// callers that keep a monotonic clock: with a shared tick, it is due only
// inside a tick.
func (p FsyncPolicy) DueAfter(age time.Duration) bool {
	switch p.Mode {
	case FsyncAlways:
		return true
	case FsyncNever:
		return false
	}
	if due, decides := p.Tick.due(time.Time{}); decides {
		return due
	}
	return age >= p.interval()
}

// Deferred reports whether a file should put off an fsync it would make on
// its own (a checkpoint's) until the next tick: under FsyncInterval with a
// shared tick that a leader began, outside a tick.
func (p FsyncPolicy) Deferred() bool {
	if p.Mode != FsyncInterval {
		return false
	}
	due, decides := p.Tick.due(time.Time{})
	return decides && !due
}

func (p FsyncPolicy) interval() time.Duration {
	if p.Interval <= 0 {
		return DefaultFsyncInterval
	}
	return p.Interval
}

// SyncDir fsyncs the directory at path, making the creation, removal or
// renaming of its entries durable.
func SyncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
