package recordio

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrShort means the bytes given end before the frame does. At the end of
	// a file it is a torn tail; in the middle, the caller should read more.
	ErrShort = errors.New("recordio: frame cut short")
	// ErrCorrupt means the bytes are not a frame: a bad length, lengths at the
	// two ends that differ, or a checksum mismatch.
	ErrCorrupt = errors.New("recordio: corrupt frame")
	// ErrTooLarge is returned when a payload exceeds MaxPayload or is empty.
	ErrTooLarge = errors.New("recordio: payload size out of range")
	// ErrFsyncMode marks a JOBDIR_FSYNC value that is not a policy.
	ErrFsyncMode = errors.New("recordio: bad fsync mode")
)
