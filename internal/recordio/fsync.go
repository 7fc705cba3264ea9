package recordio

import (
	"fmt"
	"os"
	"strings"
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
	iv := p.Interval
	if iv <= 0 {
		iv = DefaultFsyncInterval
	}
	return now.Sub(oldest) >= iv
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
