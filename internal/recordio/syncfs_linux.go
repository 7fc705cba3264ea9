package recordio

import (
	"os"

	"golang.org/x/sys/unix"
)

// SyncFS makes every write to the file system that holds f durable, the files
// and directory entries of every job-directory file at once (syncfs(2)). It
// is what an interval policy uses: one call however many files were written.
func SyncFS(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return err
	}
	return serr
}

// SyncFSCoversAll reports whether SyncFS makes every file of the file system
// durable (true on Linux) rather than f alone.
const SyncFSCoversAll = true
