//go:build unix

package disk

import (
	"io"
	"os"
	"syscall"
	"time"
)

// rawFile is a file used through its descriptor with pread and pwrite only.
// An *os.File costs several more system calls to open (the runtime poller
// probes every descriptor), which matters when a pool of a few hundred
// descriptors serves thousands of queues.
type rawFile struct {
	fd   int
	name string
}

func OpenRaw(name string, flag int, perm os.FileMode) (File, error) {
	for {
		fd, err := syscall.Open(name, flag|syscall.O_CLOEXEC, uint32(perm))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return &rawFile{fd: fd, name: name}, nil
	}
}

func (f *rawFile) ReadAt(b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := syscall.Pread(f.fd, b[done:], off+int64(done))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, &os.PathError{Op: "read", Path: f.name, Err: err}
		}
		if n == 0 {
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}

func (f *rawFile) WriteAt(b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := syscall.Pwrite(f.fd, b[done:], off+int64(done))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, &os.PathError{Op: "write", Path: f.name, Err: err}
		}
		done += n
	}
	return done, nil
}

func (f *rawFile) Truncate(size int64) error {
	if err := syscall.Ftruncate(f.fd, size); err != nil {
		return &os.PathError{Op: "truncate", Path: f.name, Err: err}
	}
	return nil
}

func (f *rawFile) Sync() error {
	if err := syscall.Fsync(f.fd); err != nil {
		return &os.PathError{Op: "fsync", Path: f.name, Err: err}
	}
	return nil
}

// SyncFS makes the whole file system durable where the system can (Linux).
func (f *rawFile) SyncFS() error {
	if err := syncfsFD(f.fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: f.name, Err: err}
	}
	return nil
}

func (f *rawFile) Stat() (os.FileInfo, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(f.fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: f.name, Err: err}
	}
	return rawInfo{st: st, name: f.name}, nil
}

func (f *rawFile) Close() error {
	if err := syscall.Close(f.fd); err != nil {
		return &os.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}

// rawInfo is the os.FileInfo of a rawFile.
type rawInfo struct {
	st   syscall.Stat_t
	name string
}

func (i rawInfo) Name() string       { return i.name }
func (i rawInfo) Size() int64        { return i.st.Size }
func (i rawInfo) Mode() os.FileMode  { return os.FileMode(i.st.Mode & 0o777) }
func (i rawInfo) ModTime() time.Time { return time.Unix(0, 0) }
func (i rawInfo) IsDir() bool        { return i.st.Mode&syscall.S_IFMT == syscall.S_IFDIR }
func (i rawInfo) Sys() any           { return &i.st }
