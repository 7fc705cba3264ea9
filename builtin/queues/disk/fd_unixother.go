//go:build unix && !linux

package disk

import "syscall"

func syncfsFD(fd int) error { return syscall.Fsync(fd) }
