//go:build !unix

package queues

import "os"

func openRaw(name string, flag int, perm os.FileMode) (fileHandle, error) {
	return os.OpenFile(name, flag, perm)
}
