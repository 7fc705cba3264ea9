package jobdir

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/internal/recordio"
)

// BucketJournalFile is the name of a persistent priority queue's bucket
// journal, inside the priority queue's key directory.
const BucketJournalFile = "buckets.journal"

// Record types of the bucket journal (the first payload byte; the rest is the
// bucket's name, after the mark of a marked removal).
const (
	bucketAdd    = '+'
	bucketRemove = '-'
	// bucketRemoveMark is a removal (format 3) followed by a uvarint mark:
	// the largest delivery identifier the job's queues had handed out
	// when it was written. Every record of the drained bucket has an
	// identifier at or below it; every record of the bucket created again
	// after it, one above it. A resume that finds records above the mark
	// in a removed bucket (its creation was cut off the journal) keeps
	// them instead of deleting them as a drained bucket's leftovers.
	bucketRemoveMark = '~'
)

// BucketState is what a bucket journal says.
type BucketState struct {
	// Live are the buckets created and not removed, in creation order.
	Live []string
	// Removed are buckets whose last record removes them; files they left
	// behind are stale, unless they hold records above the removal's mark.
	Removed []string
	// Marks are the marks of the Removed buckets' last removals, for those
	// written with one (format 3): a record of the bucket whose delivery
	// identifier is above its mark belongs to the bucket created again
	// after the removal, not to the drained one.
	Marks map[string]uint64
	// Valid is how many bytes of the file were read; Dropped how many bytes of
	// torn tail followed them.
	Valid, Dropped int64
	// Corrupt are the damaged stretches of the file that valid records
	// follow (not a crash's doing): they were skipped and the records after
	// them applied.
	Corrupt []recordio.Region
	// Records counts the records read.
	Records int
}

// DecodeBuckets decodes a bucket journal file. A torn tail is not an error;
// a whole record that does not decode is an error wrapping [ErrCorruptJournal].
func DecodeBuckets(data []byte) (BucketState, error) {
	var st BucketState
	type entry struct {
		pos  int // position in order of the latest creation (or first removal)
		live bool
	}
	names := map[string]entry{}
	var order []string
	marks := map[string]uint64{}
	rep, err := scanFrames(data, func(off int64, p []byte) error {
		st.Records++
		body := p[1:]
		var mark uint64
		if p[0] == bucketRemoveMark {
			m, k := binary.Uvarint(body)
			if k <= 0 {
				return fmt.Errorf("%w: bucket removal without a mark at offset %d", ErrCorruptJournal, off)
			}
			mark, body = m, body[k:]
		}
		name := string(body)
		e, seen := names[name]
		switch p[0] {
		case bucketAdd:
			if !e.live {
				names[name] = entry{pos: len(order), live: true}
				order = append(order, name)
			}
			delete(marks, name)
		case bucketRemove, bucketRemoveMark:
			if !seen {
				e.pos = len(order)
				order = append(order, name)
			}
			e.live = false
			names[name] = e
			if p[0] == bucketRemoveMark {
				marks[name] = mark
			} else {
				delete(marks, name)
			}
		default:
			return fmt.Errorf("%w: unknown bucket record type %q at offset %d", ErrCorruptJournal, p[0], off)
		}
		return nil
	})
	st.Valid, st.Dropped, st.Corrupt = rep.Valid(int64(len(data))), rep.Torn.Len, rep.Corrupt
	if err != nil {
		return st, err
	}
	for i, name := range order {
		if e := names[name]; e.pos == i {
			if e.live {
				st.Live = append(st.Live, name)
			} else {
				st.Removed = append(st.Removed, name)
				if m, ok := marks[name]; ok {
					if st.Marks == nil {
						st.Marks = map[string]uint64{}
					}
					st.Marks[name] = m
				}
			}
		}
	}
	return st, nil
}

// BucketJournal records which buckets (downstream queues) a persistent
// priority queue holds, so that it finds them again after any stop: a bucket
// is recorded when created and when drained, never only at close (Scrapy's
// active.json is written only at close, so a crash loses every bucket).
//
// A creation is written at once, before the bucket's queue can write
// anything; a removal is buffered until Flush, which the priority queue
// calls once the requests popped from the bucket are recorded in flight, and
// before it deletes the drained queues' files. Names are opaque to the
// journal. Methods are not safe for concurrent use.
type BucketJournal struct {
	log      *appendLog
	live     map[string]struct{}
	order    []string // creation order of live names, with removed ones pruned at compaction
	removals []string
	compact  int64
	// mark returns the mark written with each removal; nil writes
	// removals without one.
	mark func() uint64
}

// SetMark makes the journal write each removal with mark(): the largest
// delivery identifier the queues have handed out (a resume tells a drained
// bucket's leftover records, at or below it, from the records of the
// bucket created again after the removal, above it). Identifiers must only
// grow, across processes too.
func (j *BucketJournal) SetMark(mark func() uint64) { j.mark = mark }

// OpenBuckets opens the bucket journal at path and returns the live buckets
// in creation order. For every bucket the journal says was removed, cleanup
// (when not nil) is called to delete what it left behind; then the journal is
// rewritten with only the live buckets, unless it holds nothing else.
func OpenBuckets(path string, policy FsyncPolicy, logger zerolog.Logger, cleanup func(name string) error) (*BucketJournal, []string, error) {
	data, err := readJournal(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := DecodeBuckets(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Dropped > 0 {
		logger.Warn().Str("file", path).Int64("offset", st.Valid).Int64("dropped_bytes", st.Dropped).
			Msg("Dropped the torn tail of the bucket journal (writes a crash interrupted)")
	}
	if len(st.Corrupt) > 0 {
		reportCorrupt(logger, path, st.Corrupt, "bucket journal", "a bucket created or removed there may be missed or come back")
		if _, err := MoveAside(filepath.Dir(filepath.Dir(path)), path, true); err != nil {
			return nil, nil, err
		}
	}
	if cleanup != nil {
		for _, name := range st.Removed {
			if err := cleanup(name); err != nil {
				return nil, nil, fmt.Errorf("jobdir: remove drained bucket %q: %w", name, err)
			}
		}
	}
	j := &BucketJournal{live: make(map[string]struct{}, len(st.Live)), order: slices.Clone(st.Live)}
	for _, name := range st.Live {
		j.live[name] = struct{}{}
	}
	if st.Records == len(st.Live) && len(st.Removed) == 0 && st.Dropped == 0 && len(st.Corrupt) == 0 {
		// Already compact (one creation per live bucket, as a clean close
		// leaves it): appended to as it is.
		l, err := openAppendLog(path, policy)
		if err != nil {
			return nil, nil, err
		}
		j.log, j.compact = l, max(64<<10, 4*st.Valid)
	} else if err := j.rewrite(path, policy); err != nil {
		return nil, nil, err
	}
	return j, slices.Clone(st.Live), nil
}

// EncodeBuckets returns a compacted bucket journal holding the live buckets.
func EncodeBuckets(live []string) []byte {
	var b []byte
	for _, name := range live {
		b = appendFrame(b, append([]byte{bucketAdd}, name...))
	}
	return b
}

func (j *BucketJournal) rewrite(path string, policy FsyncPolicy) error {
	var b []byte
	// order may name a bucket more than once (created, drained, created
	// again); its latest creation counts.
	last := make(map[string]int, len(j.live))
	for i, name := range j.order {
		last[name] = i
	}
	order := make([]string, 0, len(j.live))
	for i, name := range j.order {
		if _, ok := j.live[name]; ok && last[name] == i {
			order = append(order, name)
		}
	}
	j.order = order
	b = EncodeBuckets(order)
	if err := WriteFileAtomic(path, b, 0o644); err != nil {
		return err
	}
	l, err := openAppendLog(path, policy)
	if err != nil {
		return err
	}
	if j.log != nil {
		j.log.f.Close()
	}
	j.log = l
	j.compact = max(64<<10, 4*int64(len(b)))
	return nil
}

// Add records that bucket name was created and writes the record at once
// (fsynced only as the policy says). Adding a bucket whose removal is still
// buffered cancels the removal instead.
func (j *BucketJournal) Add(name string) error {
	if j.log == nil {
		return ErrClosed
	}
	if i := slices.Index(j.removals, name); i >= 0 {
		j.removals = slices.Delete(j.removals, i, i+1)
		j.live[name] = struct{}{}
		return nil
	}
	if _, ok := j.live[name]; ok {
		return nil
	}
	if err := j.log.write(appendFrame(nil, append([]byte{bucketAdd}, name...)), false); err != nil {
		return err
	}
	j.live[name] = struct{}{}
	j.order = append(j.order, name)
	return nil
}

// Remove records that bucket name was drained; the record is written by the
// next Flush.
func (j *BucketJournal) Remove(name string) {
	if _, ok := j.live[name]; !ok {
		return
	}
	delete(j.live, name)
	j.removals = append(j.removals, name)
}

// Len returns the number of live buckets.
func (j *BucketJournal) Len() int { return len(j.live) }

// Flush writes the buffered removals in one call and fsyncs the journal when
// the policy says so (force: always).
func (j *BucketJournal) Flush(force bool) error {
	if j.log == nil {
		return ErrClosed
	}
	var b []byte
	var mark []byte
	if j.mark != nil && len(j.removals) > 0 {
		mark = binary.AppendUvarint([]byte{bucketRemoveMark}, j.mark())
	}
	for _, name := range j.removals {
		if mark != nil {
			b = appendFrame(b, append(mark[:len(mark):len(mark)], name...))
		} else {
			b = appendFrame(b, append([]byte{bucketRemove}, name...))
		}
	}
	if err := j.log.write(b, force); err != nil {
		return err
	}
	j.removals = j.removals[:0]
	return nil
}

// CompactDue reports whether the next MaybeCompact rewrites the journal.
func (j *BucketJournal) CompactDue() bool {
	return j.log != nil && j.log.size > j.compact && len(j.removals) == 0
}

// MaybeCompact rewrites the journal with only the live buckets when it has
// grown large. Call it after Flush, once the drained buckets' files are
// deleted: the rewrite forgets the removals.
func (j *BucketJournal) MaybeCompact() error {
	if j.log == nil {
		return ErrClosed
	}
	if !j.CompactDue() {
		return nil
	}
	return j.rewrite(j.log.path, j.log.sync.policy)
}

// Close fsyncs and closes the journal; call Flush first.
func (j *BucketJournal) Close() error {
	if j.log == nil {
		return nil
	}
	err := j.log.close()
	j.log = nil
	return err
}
