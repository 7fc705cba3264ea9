package disk

import "golang.org/x/sys/unix"

func syncfsFD(fd int) error { return unix.Syncfs(fd) }
