// Package recordio holds frontier's framed record format for files that are
// appended to, read from either end and recovered after a crash, and the
// small pieces that make such files durable: a checksummed cursor rewritten in
// place in two alternating slots, and the fsync policy (settings JOBDIR_FSYNC
// and JOBDIR_FSYNC_INTERVAL).
//
// A frame is
//
//	uint32 LE  n, the payload length (1 ≤ n ≤ MaxPayload)
//	n bytes    payload
//	uint64 LE  id, an identifier chosen by the writer
//	uint32 LE  seq, a sequence number chosen by the writer
//	uint32 LE  n again
//	uint32 LE  masked CRC-32C of everything above
//
// The length appears at both ends so that a file of frames can be read
// forward (a FIFO queue) and backward from its end (a LIFO queue). The
// checksum covers the whole frame and is masked, so a torn write, a run of
// zero bytes (what a file system may show after a power cut) or a frame read
// from the wrong offset is never taken for a record. Parsing only slices its
// input; it never allocates, never executes anything, and never panics.
//
// Everything in the package is safe for concurrent use; its values are plain data.
package recordio
