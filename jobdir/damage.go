package jobdir

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/internal/recordio"
)

// DamagedDirPrefix starts the name of the directory, in a job directory,
// where damaged files are kept aside: damaged-<UTC time>/<path in the job>.
const DamagedDirPrefix = "damaged-"

// damagedStamp is the UTC time format of a damaged-files directory's name.
const damagedStamp = "20060102T150405Z"

// MoveAside keeps a damaged file of the job directory root aside, in
// root/damaged-<UTC time>/ at the same relative path, and returns where it
// went. An empty root is the job directory holding path (the nearest
// directory above it with a manifest, else path's directory). With keep,
// the file is copied (its replacement is written over it next); otherwise
// it is renamed. Damaged files are never deleted.
func MoveAside(root, path string, keep bool) (string, error) {
	if root == "" {
		root = jobRoot(path)
	}
	rel, err := filepath.Rel(root, path)
	if err != nil || !filepath.IsLocal(rel) {
		rel = filepath.Base(path)
	}
	dst := filepath.Join(root, DamagedDirPrefix+time.Now().UTC().Format(damagedStamp), rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("jobdir: keep %s aside: %w", path, err)
	}
	if !keep {
		if err := os.Rename(path, dst); err != nil {
			return "", fmt.Errorf("jobdir: keep %s aside: %w", path, err)
		}
		return dst, nil
	}
	if err := copyFile(path, dst); err != nil {
		return "", fmt.Errorf("jobdir: keep %s aside in %s: %w", path, dst, err)
	}
	return dst, nil
}

// copyFile copies src to dst and fsyncs dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// reportCorrupt logs at warning each corrupt stretch of a journal that
// records follow, with what its loss may mean.
func reportCorrupt(logger zerolog.Logger, path string, regions []recordio.Region, what, meaning string) {
	for _, r := range regions {
		logger.Warn().Str("file", path).Int64("offset", r.Off).Int64("corrupt_bytes", r.Len).
			Msgf("Skipped a corrupt stretch of the %s and kept the records after it (damage, not a crash: %s); the damaged file is kept in %s*", what, meaning, DamagedDirPrefix)
	}
}

// jobRoot returns the nearest directory holding a manifest among the three
// above path (a job's files are at most that deep), or path's directory
// when none does.
func jobRoot(path string) string {
	d := filepath.Dir(path)
	for range 3 {
		if _, err := os.Stat(filepath.Join(d, ManifestFile)); err == nil {
			return d
		}
		d = filepath.Dir(d)
	}
	return filepath.Dir(path)
}

// KeepBytesAside writes data, bytes a resume is about to cut from a file,
// to root/damaged-<UTC time>/name (fsynced) and returns where it went: what
// a resume cuts and cannot prove worthless is kept, never deleted.
func KeepBytesAside(root, name string, data []byte) (string, error) {
	dst := filepath.Join(root, DamagedDirPrefix+time.Now().UTC().Format(damagedStamp), filepath.Base(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("jobdir: keep %s aside: %w", name, err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err == nil {
		_, err = f.Write(data)
		if serr := f.Sync(); err == nil {
			err = serr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return "", fmt.Errorf("jobdir: keep %s aside in %s: %w", name, dst, err)
	}
	return dst, nil
}
