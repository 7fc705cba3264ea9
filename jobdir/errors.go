package jobdir

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrLocked is returned by Open when another process holds the job
	// directory's lock; the error is a *LockedError naming the holder.
	ErrLocked = errors.New("jobdir: job directory is in use by another process")
	// ErrFutureFormat marks a job directory written by a newer frontier whose
	// format this build cannot read.
	ErrFutureFormat = errors.New("jobdir: job directory format is newer than this build reads")
	// ErrPriorityQueueMismatch marks a resume with another SCHEDULER_PRIORITY_QUEUE
	// than the one the job was started with.
	ErrPriorityQueueMismatch = errors.New("jobdir: job was started with another priority queue")
	// ErrCorruptManifest marks a manifest that does not parse.
	ErrCorruptManifest = errors.New("jobdir: corrupt manifest")
	// ErrCorruptState marks a spider.state file that is not a JSON object.
	ErrCorruptState = errors.New("jobdir: corrupt spider state")
	// ErrUnserializableState marks a spider state that cannot be written as JSON.
	ErrUnserializableState = errors.New("jobdir: spider state is not JSON-serialisable")
	// ErrCorruptJournal marks a journal record that is framed correctly but
	// does not decode, which no crash can produce.
	ErrCorruptJournal = errors.New("jobdir: corrupt journal")
	// ErrScrapyJob marks a job directory written by Scrapy whose request
	// queues (Python pickles) frontier cannot read.
	ErrScrapyJob = errors.New("jobdir: job directory holds Scrapy's request queue")
	// ErrMissingManifest marks a job directory that holds frontier files but
	// no manifest, so their format is unknown.
	ErrMissingManifest = errors.New("jobdir: manifest missing")
	// ErrClosed is returned by a Job or journal used after Close.
	ErrClosed = errors.New("jobdir: closed")
)

// LockedError reports the process holding a job directory's lock. It wraps
// [ErrLocked].
type LockedError struct {
	Dir string
	// Holder is what the lock file says about its holder; PID is 0 when the
	// file could not be read.
	Holder LockInfo
	// Reason says why Holder is unknown, when it is.
	Reason string
}

func (e *LockedError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("jobdir: job directory %s is in use by another process (%s)", e.Dir, e.Reason)
	}
	return fmt.Sprintf("jobdir: job directory %s is in use by PID %d on host %s since %s; stop that process or use another JOBDIR",
		e.Dir, e.Holder.PID, e.Holder.Host, e.Holder.Started.Format(time.RFC3339))
}

func (e *LockedError) Unwrap() error { return ErrLocked }
