package framework

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/frontier-go/frontier/internal/recordio"
)

// FsyncPolicy is when job-directory writes are fsynced (JOBDIR_FSYNC and
// JOBDIR_FSYNC_INTERVAL); package jobdir names its modes.
type FsyncPolicy = recordio.FsyncPolicy

// QueueLayout is how a new job keeps its disk queues (JOBDIR_QUEUE_LAYOUT).
type QueueLayout string

// The queue layouts. An existing job keeps the layout it was started with.
const (
	// LayoutStore keeps every bucket of a job in one log: the default.
	LayoutStore QueueLayout = "store"
	// LayoutFiles keeps Scrapy's layout: a folder per download slot, a file
	// or folder per bucket.
	LayoutFiles QueueLayout = "files"
)

// Defaults of [JobConfig] for the zero values of its fields.
const (
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultSegmentBytes  = 64 << 20
)

// JobConfig is a crawl's job directory: the JOBDIR_* settings, read and
// checked once ([JobConfigFromSettings], [Crawler.Job]) and passed to every
// component that keeps something there. The zero value of a field is its
// default; [JobConfig.Validate] fills the defaults in.
type JobConfig struct {
	// Dir is the job directory (JOBDIR).
	Dir string
	// Fsync is when written data is fsynced (JOBDIR_FSYNC,
	// JOBDIR_FSYNC_INTERVAL).
	Fsync FsyncPolicy
	// FlushInterval bounds how long an accepted request stays in a write
	// buffer before it is handed to the operating system
	// (JOBDIR_FLUSH_INTERVAL).
	FlushInterval time.Duration
	// SegmentBytes is the size past which the queue store starts a new
	// segment file (JOBDIR_SEGMENT_BYTES).
	SegmentBytes int64
	// QueueLayout is how a new job keeps its disk queues (JOBDIR_QUEUE_LAYOUT).
	QueueLayout QueueLayout
}

// Validate fills in the defaults and checks the values. Its errors name the
// setting each field comes from.
func (c *JobConfig) Validate() error {
	var errs []error
	c.validate(func(setting string, value any, want string) {
		errs = append(errs, fmt.Errorf("%w: %s=%v: want %s", ErrSetting, setting, value, want))
	})
	return errors.Join(errs...)
}

// validate fills in the defaults and reports each bad value.
func (c *JobConfig) validate(bad func(setting string, value any, want string)) {
	if c.Dir == "" {
		bad("JOBDIR", `""`, "a directory (JOBDIR null: a crawl without one)")
	}
	switch {
	case c.Fsync.Mode < recordio.FsyncInterval || c.Fsync.Mode > recordio.FsyncNever:
		bad("JOBDIR_FSYNC", int(c.Fsync.Mode), "interval, always or never")
	case c.Fsync.Interval < 0:
		bad("JOBDIR_FSYNC_INTERVAL", c.Fsync.Interval, "a duration >= 0 (0: the default, 1s)")
	case c.Fsync.Interval == 0:
		c.Fsync.Interval = recordio.DefaultFsyncInterval
	}
	switch {
	case c.FlushInterval < 0:
		bad("JOBDIR_FLUSH_INTERVAL", c.FlushInterval, "a duration >= 0 (0: the default, 200ms)")
	case c.FlushInterval == 0:
		c.FlushInterval = DefaultFlushInterval
	}
	switch {
	case c.SegmentBytes < 0:
		bad("JOBDIR_SEGMENT_BYTES", c.SegmentBytes, "a size in bytes >= 0 (0: the default, 64 MiB)")
	case c.SegmentBytes == 0:
		c.SegmentBytes = DefaultSegmentBytes
	}
	switch c.QueueLayout {
	case "":
		c.QueueLayout = LayoutStore
	case LayoutStore, LayoutFiles:
	default:
		bad("JOBDIR_QUEUE_LAYOUT", fmt.Sprintf("%q", c.QueueLayout), `"store" or "files"`)
	}
}

// JobConfigFromSettings reads the JOBDIR_* settings into a validated
// config; it returns nil when JOBDIR is null or empty (no job directory).
// Errors name the setting, its value and where the value came from.
func JobConfigFromSettings(s *Settings) (*JobConfig, error) {
	dir, err := s.GetString("JOBDIR")
	if err != nil || dir == "" {
		return nil, err
	}
	c := &JobConfig{Dir: dir}
	var mode, layout string
	var seg int
	errs := []error{
		getInto(&mode, s.GetString, "JOBDIR_FSYNC"),
		getInto(&c.Fsync.Interval, s.GetDuration, "JOBDIR_FSYNC_INTERVAL"),
		getInto(&c.FlushInterval, s.GetDuration, "JOBDIR_FLUSH_INTERVAL"),
		getInto(&seg, s.GetInt, "JOBDIR_SEGMENT_BYTES"),
		getInto(&layout, s.GetString, "JOBDIR_QUEUE_LAYOUT"),
	}
	c.SegmentBytes, c.QueueLayout = int64(seg), QueueLayout(layout)
	if c.Fsync.Mode, err = recordio.ParseFsyncMode(mode); err != nil {
		c.Fsync.Mode = -1 // reported by validate, with the setting's source
	}
	if c.Fsync.Mode == recordio.FsyncInterval {
		// One clock for every file of the job, which the scheduler's
		// flushes lead.
		c.Fsync.Tick = recordio.NewSyncTick()
	}
	c.validate(func(setting string, value any, want string) {
		st, _ := s.Lookup(setting)
		if setting == "JOBDIR_FSYNC" {
			value = fmt.Sprintf("%q", mode)
		}
		errs = append(errs, fmt.Errorf("%w: %s=%v (from %s): want %s", ErrSetting, setting, value, st.Source, want))
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// getInto stores setting's value, read by get, in dst.
func getInto[T any](dst *T, get func(string) (T, error), setting string) error {
	v, err := get(setting)
	if err == nil {
		*dst = v
	}
	return err
}

// Job returns the crawl's job directory config, read from the settings and
// checked at the first call, with the directory created (Scrapy's job_dir);
// nil when JOBDIR is null or empty. Every later call returns the same value.
func (c *Crawler) Job() (*JobConfig, error) {
	c.jobOnce.Do(func() {
		c.job, c.jobErr = JobConfigFromSettings(c.Settings)
		if c.jobErr == nil && c.job != nil {
			if err := os.MkdirAll(c.job.Dir, 0o755); err != nil {
				c.jobErr = fmt.Errorf("JOBDIR=%q: %w", c.job.Dir, err)
			}
		}
	})
	return c.job, c.jobErr
}
