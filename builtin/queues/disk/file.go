package disk

import (
	"io"
	"os"

	"github.com/frontier-go/frontier/internal/recordio"
)

// File is what a disk queue needs of an open file; *os.File is one.
type File interface {
	io.ReaderAt
	io.WriterAt
	Truncate(size int64) error
	Sync() error
	Stat() (os.FileInfo, error)
	Close() error
}

// SyncFS makes f's whole file system durable where the system can (syncfs
// on Linux), and fsyncs f otherwise.
func SyncFS(f File) error {
	switch f := f.(type) {
	case interface{ SyncFS() error }:
		return f.SyncFS()
	case *os.File:
		return recordio.SyncFS(f)
	}
	return f.Sync()
}
