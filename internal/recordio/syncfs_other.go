//go:build !linux

package recordio

import "os"

// SyncFS fsyncs f. On Linux it syncs f's whole file system (syncfs(2)); other
// systems have no such call, and callers fsync each written file instead.
func SyncFS(f *os.File) error { return f.Sync() }

// SyncFSCoversAll reports whether SyncFS makes every file of the file system
// durable (true on Linux) rather than f alone.
const SyncFSCoversAll = false
