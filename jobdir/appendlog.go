package jobdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// appendLog is a journal file open for appending: whole batches of frames go
// out in one write, and a write that fails is cut back off the file, so that a
// failed write (a full disk) never leaves a torn frame in the middle.
type appendLog struct {
	path   string
	f      *os.File
	size   int64
	sync   syncer
	broken error // set when a failed write could not be cut back off
}

func openAppendLog(path string, policy FsyncPolicy) (*appendLog, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jobdir: open %s: %w", path, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// A new journal: its name must be durable before what is fsynced
		// into it can be.
		if err := SyncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("jobdir: open %s: %w", path, err)
	}
	return &appendLog{path: path, f: f, size: st.Size(), sync: newSyncer(policy)}, nil
}

// write appends b in one call, then fsyncs if the policy says so (or force).
func (l *appendLog) write(b []byte, force bool) error {
	if l.f == nil {
		return fmt.Errorf("%w: %s", ErrClosed, l.path)
	}
	if l.broken != nil {
		return l.broken
	}
	if len(b) > 0 {
		n, err := l.f.WriteAt(b, l.size)
		if err != nil {
			// Even a write that reports nothing written may have grown the
			// file (tmpfs does): always cut back to the last whole frame.
			if terr := l.f.Truncate(l.size); terr != nil {
				l.broken = fmt.Errorf("jobdir: %s: a failed write could not be undone (%w), later writes are refused: %w", l.path, terr, err)
				return l.broken
			}
			return fmt.Errorf("jobdir: write %s at offset %d: %w", l.path, l.size, err)
		}
		l.size += int64(n)
		l.sync.dirty = true
	}
	if err := l.sync.maybe(l.f, force); err != nil {
		return fmt.Errorf("jobdir: fsync %s: %w", l.path, err)
	}
	return nil
}

func (l *appendLog) close() error {
	if l.f == nil {
		return nil
	}
	var err error
	if l.broken == nil {
		err = l.sync.maybe(l.f, true)
	}
	err = errors.Join(err, l.f.Close())
	l.f = nil
	if err != nil {
		return fmt.Errorf("jobdir: close %s: %w", l.path, err)
	}
	return nil
}

// readJournal reads a whole journal file; a missing file is empty.
func readJournal(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobdir: read %s: %w", path, err)
	}
	return b, nil
}
