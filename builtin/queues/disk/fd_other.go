//go:build !unix

package disk

import "os"

func OpenRaw(name string, flag int, perm os.FileMode) (File, error) {
	return os.OpenFile(name, flag, perm)
}
