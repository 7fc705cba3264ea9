package jobdir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// LockFile is the name of the lock file in a job directory.
const LockFile = "lock"

// LockInfo is what the lock file says about the process holding it.
type LockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// ParseLockInfo decodes a lock file's contents. Empty contents (a lock file
// left by a clean close) give the zero LockInfo and no error.
func ParseLockInfo(b []byte) (LockInfo, error) {
	var li LockInfo
	if len(bytes.TrimSpace(b)) == 0 {
		return li, nil
	}
	if err := json.Unmarshal(b, &li); err != nil {
		return LockInfo{}, fmt.Errorf("jobdir: lock file: %w", err)
	}
	if li.PID <= 0 {
		return LockInfo{}, fmt.Errorf("jobdir: lock file: pid %d is not a process id", li.PID)
	}
	return li, nil
}

// lock is a held job-directory lock: an flock(2) on the lock file, whose
// contents name the holder for the error message of the next process.
type lock struct {
	f *os.File
	// unclean: the file named a holder, which never released it with a
	// clean close (killed, crashed, or a machine that went down).
	unclean bool
}

// acquireLock takes dir's lock or returns a *LockedError. A lock file that
// names a process but is not locked (that process died) is taken over, with a
// log line.
func acquireLock(dir string, log zerolog.Logger) (*lock, error) {
	path := filepath.Join(dir, LockFile)
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("jobdir: open lock %s: %w", path, err)
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			le := lockedError(dir, f)
			f.Close()
			// A tool reading the lock (ReadLock) holds it shared for an
			// instant; only a live holder is worth an error at once.
			if attempt < 3 && (le.Holder.PID == 0 || !processAlive(le.Holder.PID)) {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return nil, le
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("jobdir: lock %s: %w", path, err)
		}
		// The holder before us may have removed or replaced the file between
		// our open and our flock; the lock is only ours if path still names
		// the file we locked.
		var fst, pst unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &fst); err != nil {
			f.Close()
			return nil, fmt.Errorf("jobdir: lock %s: %w", path, err)
		}
		if err := unix.Stat(path, &pst); err != nil || fst.Ino != pst.Ino || fst.Dev != pst.Dev {
			f.Close()
			if attempt < 3 {
				continue
			}
			return nil, fmt.Errorf("jobdir: lock %s: the lock file keeps being replaced", path)
		}
		l := &lock{f: f}
		if err := l.takeOver(dir, log); err != nil {
			f.Close()
			return nil, err
		}
		return l, nil
	}
}

// takeOver logs a stale holder, if the file names one, and writes ours.
func (l *lock) takeOver(dir string, log zerolog.Logger) error {
	prev, err := io.ReadAll(io.NewSectionReader(l.f, 0, 1<<16))
	if err != nil {
		return fmt.Errorf("jobdir: read lock file in %s: %w", dir, err)
	}
	host, _ := os.Hostname()
	old, perr := ParseLockInfo(prev)
	l.unclean = perr != nil || old.PID != 0
	switch {
	case perr != nil:
		log.Warn().Str("jobdir", dir).Err(perr).Msg("Taking over a job directory lock file that does not parse")
	case old.PID == 0:
	case old.Host == host && processAlive(old.PID):
		log.Warn().Str("jobdir", dir).Int("stale_pid", old.PID).Time("stale_started", old.Started).
			Msg("Taking over the job directory lock: the process it names is running but does not hold the lock (PID reused?)")
	default:
		log.Info().Str("jobdir", dir).Int("stale_pid", old.PID).Str("stale_host", old.Host).Time("stale_started", old.Started).
			Msg("Taking over a stale job directory lock: the process that held it is gone")
	}
	data, err := json.Marshal(LockInfo{PID: os.Getpid(), Host: host, Started: time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return fmt.Errorf("jobdir: lock file: %w", err)
	}
	data = append(data, '\n')
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("jobdir: write lock file in %s: %w", dir, err)
	}
	if _, err := l.f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("jobdir: write lock file in %s: %w", dir, err)
	}
	return nil
}

// lockedError reads who holds f's lock. The holder writes its PID just after
// taking the lock, so an empty file is read again a few times.
func lockedError(dir string, f *os.File) *LockedError {
	le := &LockedError{Dir: dir}
	for i := 0; i < 5; i++ {
		b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
		if err != nil {
			le.Reason = "lock file unreadable: " + err.Error()
			return le
		}
		li, err := ParseLockInfo(b)
		if err != nil {
			le.Reason = err.Error()
			return le
		}
		if li.PID != 0 {
			le.Holder = li
			return le
		}
		time.Sleep(20 * time.Millisecond)
	}
	le.Reason = "the holder has not written its PID"
	return le
}

// release empties the lock file and unlocks it. The file stays, so that a
// process waiting on it never locks an unlinked file.
func (l *lock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	errT := l.f.Truncate(0)
	errU := unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	errC := l.f.Close()
	l.f = nil
	if err := errors.Join(errT, errU, errC); err != nil {
		return fmt.Errorf("jobdir: release lock: %w", err)
	}
	return nil
}

// processAlive reports whether pid names a running process on this host.
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// ReadLock returns what dir's lock file says and whether a process holds the
// lock now, without taking it. Tools use it to tell a running job from a
// stopped one.
func ReadLock(dir string) (info LockInfo, held bool, err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return LockInfo{}, false, nil
	}
	if err != nil {
		return LockInfo{}, false, fmt.Errorf("jobdir: open lock %s: %w", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<16))
	if err != nil {
		return LockInfo{}, false, fmt.Errorf("jobdir: read lock %s: %w", path, err)
	}
	info, perr := ParseLockInfo(b)
	// A shared lock succeeds only when nobody holds the exclusive one.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
		held = true
	} else if err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
	}
	return info, held, perr
}
