package disk

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// Defaults of [Config]; those of the job directory's settings are the
// job config's.
const (
	DefaultFlushInterval = framework.DefaultFlushInterval
	DefaultFlushBytes    = 256 << 10
	DefaultSegmentBytes  = framework.DefaultSegmentBytes
	DefaultReadAhead     = 16 << 10
)

// MinSegmentBytes is the smallest segment a disk queue writes: a per-file
// queue's 80-byte header and its smallest frame; smaller SegmentBytes are
// raised to it.
const MinSegmentBytes = 80 + recordio.Overhead + 1

// Stats keys the disk queues maintain.
const (
	// StatDroppedBytes counts bytes of queue files dropped as torn or corrupt.
	StatDroppedBytes = "scheduler/disk/dropped_bytes"
	// StatDroppedRecords counts records known lost with them.
	StatDroppedRecords = "scheduler/disk/dropped_records"
)

// Config configures disk queues. The zero value is usable: [Config.Validate]
// fills in the defaults.
type Config struct {
	// Fsync is when written data is fsynced (JOBDIR_FSYNC, JOBDIR_FSYNC_INTERVAL).
	Fsync recordio.FsyncPolicy
	// FlushInterval bounds how long a pushed request stays in memory before
	// it is handed to the operating system (JOBDIR_FLUSH_INTERVAL): the first
	// call on the queue after that long flushes it.
	FlushInterval time.Duration
	// FlushBytes flushes a queue whose buffer grows past it.
	FlushBytes int
	// PopCommitDelay is how long a pop may stay undurable before an automatic
	// flush makes it durable (Flush and Close always do). A negative value
	// leaves it to Flush and Close alone. 0 means 5 × FlushInterval. Only
	// the per-file queues read it: the queue store writes pops at its flushes.
	PopCommitDelay time.Duration
	// SegmentBytes is the size past which a FIFO queue, or the queue store,
	// starts a new segment file.
	SegmentBytes int64
	// ReadAhead is how many bytes a per-file queue reads from its file at a
	// time (the queue store reads fixed windows).
	ReadAhead int
	// Spider resolves callback names when requests are encoded and decoded; may be nil.
	Spider *framework.Spider
	// Logger receives reports of dropped bytes; the zero value is silent.
	Logger zerolog.Logger
	// Stats receives StatDroppedBytes and StatDroppedRecords; may be nil.
	Stats framework.Stats
}

// Validate fills in defaults and checks the values.
func (c *Config) Validate() error {
	switch {
	case c.FlushInterval < 0, c.FlushBytes < 0, c.SegmentBytes < 0, c.ReadAhead < 0, c.Fsync.Interval < 0:
		return fmt.Errorf("%w: disk queue config: negative interval or size", framework.ErrSetting)
	case c.Fsync.Mode < recordio.FsyncInterval || c.Fsync.Mode > recordio.FsyncNever:
		return fmt.Errorf("%w: disk queue config: fsync mode %d", framework.ErrSetting, c.Fsync.Mode)
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.FlushBytes == 0 {
		c.FlushBytes = DefaultFlushBytes
	}
	if c.PopCommitDelay == 0 {
		c.PopCommitDelay = 5 * c.FlushInterval
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SegmentBytes < MinSegmentBytes {
		c.SegmentBytes = MinSegmentBytes
	}
	if c.ReadAhead == 0 {
		c.ReadAhead = DefaultReadAhead
	}
	c.ReadAhead = max(c.ReadAhead, 4<<10)
	if c.Fsync.Interval == 0 {
		c.Fsync.Interval = recordio.DefaultFsyncInterval
	}
	return nil
}

// ConfigFromJob returns the disk queue configuration of the job
// directory job (its fsync policy, flush interval and segment size), with
// c's spider, logger and stats. It is validated when a queue or store is
// built from it.
func ConfigFromJob(job *framework.JobConfig, c *framework.Crawler) Config {
	cfg := Config{Spider: c.Spider, Logger: c.Logger, Stats: c.Stats}
	if job != nil {
		cfg.Fsync, cfg.FlushInterval, cfg.SegmentBytes = job.Fsync, job.FlushInterval, job.SegmentBytes
	}
	return cfg
}

// ReportDropped logs bytes and records a queue dropped from file, named by
// key (the queue's path, or the store's directory), and counts them in
// cfg's stats.
func ReportDropped(cfg *Config, key, name, file string, off, bytes int64, records int, msg string) {
	cfg.Logger.Warn().Str(key, name).Str("file", file).Int64("offset", off).
		Int64("dropped_bytes", bytes).Int("dropped_records", records).Msg(msg)
	if st := cfg.Stats; st != nil {
		if bytes > 0 {
			st.Inc(StatDroppedBytes, bytes)
		}
		if records > 0 {
			st.Inc(StatDroppedRecords, int64(records))
		}
	}
}
