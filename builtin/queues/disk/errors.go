package disk

import (
	"errors"
	"fmt"

	"github.com/frontier-go/frontier/framework"
)

// Sentinel errors of the disk queues, checked with errors.Is.
var (
	// ErrNotQueue marks a path that holds something other than a
	// frontier disk queue of the expected kind: a FIFO directory where a LIFO
	// file is expected, a file without frontier's header (a job directory
	// written by Scrapy, or by another queue class).
	ErrNotQueue = errors.New("queues: not a frontier disk queue")
	// ErrVersion marks a queue file in a format version this build
	// does not read.
	ErrVersion = errors.New("queues: unsupported disk queue format version")
)

// CorruptRecordError reports a record a disk queue could not read: a frame
// that fails its checksum or a payload that does not decode. It wraps
// [framework.ErrCorruptRecord] and the cause. The queue has moved past the
// bad bytes; Dropped records were lost with them (0 when unknown).
type CorruptRecordError struct {
	File    string
	Offset  int64
	Dropped int
	Err     error
}

func (e *CorruptRecordError) Error() string {
	s := fmt.Sprintf("queues: corrupt record in %s at offset %d: %v", e.File, e.Offset, e.Err)
	if e.Dropped > 0 {
		s += fmt.Sprintf(" (%d records dropped)", e.Dropped)
	}
	return s
}

// Unwrap returns framework.ErrCorruptRecord and the cause.
func (e *CorruptRecordError) Unwrap() []error { return []error{framework.ErrCorruptRecord, e.Err} }
