package filequeue

import (
	"os"
	"syscall"
)

// fileDev returns the device of the file system that holds fi's file.
func fileDev(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev)
	}
	return 0
}
