//go:build unix && !linux

package queues

import "syscall"

func syncfsFD(fd int) error { return syscall.Fsync(fd) }
