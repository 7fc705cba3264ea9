package jobdir

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// FsyncMode says when job-directory writes are fsynced (setting JOBDIR_FSYNC).
type FsyncMode int

// The fsync modes. Every mode hands each flush to the operating system in
// one write, so all of them survive the crash of the process; they differ on
// a crash of the machine (power cut, kernel panic).
const (
	// FsyncInterval fsyncs at the first flush at least Interval after the
	// last fsync, and at close: a machine crash loses at most about Interval
	// of acknowledged work. The default.
	FsyncInterval FsyncMode = iota
	// FsyncAlways fsyncs at every flush: nothing acknowledged is lost.
	FsyncAlways
	// FsyncNever leaves writing back to the operating system (typically
	// within 30 s on Linux), and fsyncs only at close.
	FsyncNever
)

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

// DefaultFsyncInterval is JOBDIR_FSYNC_INTERVAL's default.
const DefaultFsyncInterval = time.Second

// FsyncPolicy is when writes are fsynced: JOBDIR_FSYNC and JOBDIR_FSYNC_INTERVAL.
type FsyncPolicy struct {
	Mode     FsyncMode
	Interval time.Duration
}

// DefaultFsyncPolicy is the policy when the settings say nothing: fsync at
// most once a second.
var DefaultFsyncPolicy = FsyncPolicy{Mode: FsyncInterval, Interval: DefaultFsyncInterval}

// ParseFsyncMode parses a JOBDIR_FSYNC value: "interval", "always" or "never"
// ("" is the default, interval).
func ParseFsyncMode(s string) (FsyncMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "interval":
		return FsyncInterval, nil
	case "always":
		return FsyncAlways, nil
	case "never":
		return FsyncNever, nil
	}
	return 0, fmt.Errorf("jobdir: fsync mode %q: want interval, always or never", s)
}

// syncer applies an FsyncPolicy to one file.
type syncer struct {
	policy FsyncPolicy
	last   time.Time
	dirty  bool
}

func newSyncer(p FsyncPolicy) syncer {
	if p.Mode == FsyncInterval && p.Interval <= 0 {
		p.Interval = DefaultFsyncInterval
	}
	return syncer{policy: p, last: time.Now()}
}

// wrote records that f was written to and fsyncs it if the policy says so
// now; force fsyncs any written data (close, checkpoints).
func (s *syncer) wrote(f *os.File, force bool) error {
	s.dirty = true
	return s.maybe(f, force)
}

func (s *syncer) maybe(f *os.File, force bool) error {
	if !s.dirty {
		return nil
	}
	now := time.Now()
	switch {
	case force, s.policy.Mode == FsyncAlways:
	case s.policy.Mode == FsyncInterval && now.Sub(s.last) >= s.policy.Interval:
	default:
		return nil
	}
	if err := f.Sync(); err != nil {
		return err
	}
	s.dirty = false
	s.last = now
	return nil
}
