//go:build !linux

package filequeue

import "os"

// fileDev returns 0: outside Linux, syncs are per file and need no device.
func fileDev(os.FileInfo) uint64 { return 0 }
