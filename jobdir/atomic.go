package jobdir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontier-go/frontier/internal/recordio"
)

// tmpSuffix marks the temporary files of WriteFileAtomic; Open removes those
// a crash left behind.
const tmpSuffix = ".tmp-"

// WriteFileAtomic replaces path with data: it writes a temporary file in the
// same directory, fsyncs it, renames it over path and fsyncs the directory,
// so that after a crash path holds either its old or its new contents.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+tmpSuffix+"*")
	if err != nil {
		return fmt.Errorf("jobdir: write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("jobdir: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("jobdir: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("jobdir: write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, making renames, creations and removals of its
// entries durable.
func SyncDir(dir string) error {
	if err := recordio.SyncDir(dir); err != nil {
		return fmt.Errorf("jobdir: sync directory %s: %w", dir, err)
	}
	return nil
}

// mkdirAllDurable creates dir and its missing parents (mkdir -p) and
// fsyncs the parent of each directory it created, so that a power cut does
// not take the new directory, and all that is later made durable in it, away.
func mkdirAllDurable(dir string) error {
	var parents []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		parents = append(parents, filepath.Dir(d))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := len(parents) - 1; i >= 0; i-- {
		if err := SyncDir(parents[i]); err != nil {
			return err
		}
	}
	return nil
}

// removeTempFiles removes what WriteFileAtomic left in dir when a crash
// interrupted it, for the given base names.
func removeTempFiles(dir string, bases ...string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		for _, b := range bases {
			if strings.HasPrefix(e.Name(), b+tmpSuffix) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}
