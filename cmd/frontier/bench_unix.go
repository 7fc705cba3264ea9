//go:build unix

package main

import "golang.org/x/sys/unix"

// writeBack writes the system's dirty pages to disk before a timed run, so
// that the writes of the run before it (its job directory, Scrapy's) are
// not written back on the cores this one is timed on.
func writeBack() { unix.Sync() }
