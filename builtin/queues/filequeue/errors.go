package filequeue

import "errors"

// Sentinel errors of the per-file queues, checked with errors.Is.
var (
	// ErrKey marks a disk queue built with an empty key.
	ErrKey = errors.New("queues: a disk queue needs a key (its path)")
)
