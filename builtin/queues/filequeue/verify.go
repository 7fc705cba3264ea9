package filequeue

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/frontier-go/frontier/builtin/queues/disk"
)

// Record is one record of a disk queue, as [Verify] reads it.
// Payload is a request record (framework.DecodeRequest reads it); it is
// valid only during the call.
type Record struct {
	File    string
	Offset  int64
	ID      uint64 // the Request.Delivery it is delivered with
	Payload []byte
}

// Report is what [Verify] found in a disk queue's files:
// what a resume would deliver and what it would drop.
type Report struct {
	Path string
	// Kind is "fifo", "lifo", or "" when nothing is stored at Path (an
	// empty queue removes its files).
	Kind  string
	Files int
	Bytes int64 // size on disk
	// Records a resume would deliver.
	Records int
	// DroppedBytes and DroppedRecords are what a resume would drop as torn
	// or corrupt (a torn tail counts its bytes, not its records).
	DroppedBytes   int64
	DroppedRecords int
	// Undecodable counts records whose payload fn rejected.
	Undecodable int
	// Problems describes each dropped stretch and each rejected record.
	Problems []string
}

// OK reports whether a resume would deliver every record stored.
func (r Report) OK() bool {
	return r.DroppedBytes == 0 && r.DroppedRecords == 0 && r.Undecodable == 0 && len(r.Problems) == 0
}

// Verify reads the disk queue at path (a FIFO directory or a LIFO
// file) the way a resume would, without changing anything, and reports what
// the resume would deliver and drop. When fn is not nil it is called for
// every record, in the order Pop would return them; an error from it counts
// the record as undecodable. The error returned is for a path that cannot be
// read at all, or that is not a frontier disk queue.
func Verify(path string, fn func(Record) error) (Report, error) {
	rep := Report{Path: path}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return rep, nil
	case err != nil:
		return rep, err
	}
	q, err := openReadOnly(path, fi.IsDir(), &rep)
	if err != nil {
		return rep, err
	}
	defer q.lay.release()
	for {
		fr, file, off, ok, err := q.lay.next(true)
		var cre *disk.CorruptRecordError
		switch {
		case errors.As(err, &cre):
			continue // counted by the report hook
		case err != nil:
			return rep, err
		case !ok:
			return rep, nil
		}
		rep.Records++
		if fn == nil {
			continue
		}
		err = fn(Record{File: file, Offset: off, ID: fr.ID, Payload: fr.Payload})
		q.lay.settle()
		if err != nil {
			rep.Undecodable++
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s offset %d: %v", file, off, err))
		}
	}
}

// Len returns the number of records in the disk queue at path, as
// Len would after a resume, reading only what opening the queue reads.
func Len(path string) (int, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil
	case err != nil:
		return 0, err
	}
	var rep Report
	q, err := openReadOnly(path, fi.IsDir(), &rep)
	if err != nil {
		return 0, err
	}
	defer q.lay.release()
	return q.lay.count(), nil
}

// openReadOnly loads the queue at path for reading, reporting into rep.
func openReadOnly(path string, isDir bool, rep *Report) (*Queue, error) {
	pool := NewPool(PoolConfig{MaxOpenFiles: 4})
	pool.readOnly = true
	var cfg disk.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q, err := newQueue(path, !isDir, &cfg, pool)
	if err != nil {
		return nil, err
	}
	q.readOnly = true
	q.onReport = func(file string, off, bytes int64, records int, what string) {
		rep.DroppedBytes += bytes
		rep.DroppedRecords += records
		rep.Problems = append(rep.Problems, fmt.Sprintf("%s offset %d: %s", file, off, what))
	}
	rep.Kind = "lifo"
	if isDir {
		rep.Kind = "fifo"
	}
	if err := q.lay.load(); err != nil {
		_ = q.lay.release()
		return nil, fmt.Errorf("queues: verify %s: %w", path, err)
	}
	rep.Files, rep.Bytes = q.lay.footprint()
	return q, nil
}
