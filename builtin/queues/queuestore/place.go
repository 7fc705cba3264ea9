package queuestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontier-go/frontier/internal/recordio"
	"github.com/frontier-go/frontier/jobdir"
)

// Files under another file's name. A segment's header names its number and
// a checkpoint's header says it is one, so a file of the store found under
// another's name (two files swapped, a segment renamed as the checkpoint)
// is recognised by its first frame, and read as what it is rather than
// salvaged as a damaged file of the name it has. A store open for writing
// moves such files back to their names before it loads (a file in the way
// that is none of them is kept aside in the job's damaged-<UTC>/); one open
// for reading only reads them where they are. Either reports each.

// fileHead is what a file's first frame says it is: segment seg (0: not a
// segment header of a version this build reads), or a checkpoint.
type fileHead struct {
	seg   uint32
	index bool
}

// readHead reads the first frame of the file at path.
func readHead(path string) fileHead {
	f, err := os.Open(path)
	if err != nil {
		return fileHead{}
	}
	defer f.Close()
	buf := make([]byte, 256)
	n, _ := f.ReadAt(buf, 0)
	fr, _, err := recordio.Next(buf[:n])
	if err != nil {
		return fileHead{}
	}
	if rest, ok := cutMagic(fr.Payload, recSegHeader, storeSegMagic); ok {
		if rest[0] < storeOldestVersion || rest[0] > storeVersion {
			return fileHead{}
		}
		no, k := binary.Uvarint(rest[1:])
		if k <= 0 || no == 0 || no > 1<<32-1 {
			return fileHead{}
		}
		return fileHead{seg: uint32(no)}
	}
	if rest, ok := cutMagic(fr.Payload, idxHeader, storeIndexMagic); ok {
		return fileHead{index: rest[0] >= storeOldestVersion && rest[0] <= storeVersion}
	}
	return fileHead{}
}

// placement is where the files of a store are when some are under another
// file's name.
type placement struct {
	// segs maps a segment number to the file holding it, when that file
	// is not the segment's own.
	segs map[uint32]string
	// index is the file holding the checkpoint: IndexFile, another
	// file's name, or "" when a segment's content took its name and no
	// checkpoint is found elsewhere.
	index string
}

// findPlacement reads the first frame of the checkpoint and of every file
// named as a segment, and finds the segments and the checkpoint that are
// under another file's name: a segment whose own file does not hold it
// (missing, or holding something else) is taken from the first other file
// whose header names it; the checkpoint, when its file is not one, from a
// file named as a segment whose header says it is a checkpoint.
func (s *Store) findPlacement(nums []uint32) placement {
	idxPath := filepath.Join(s.dir, IndexFile)
	paths := []string{idxPath}
	for _, n := range nums {
		paths = append(paths, filepath.Join(s.dir, storeSegName(n)))
	}
	heads := make(map[string]fileHead, len(paths))
	for _, p := range paths {
		heads[p] = readHead(p)
	}
	pl := placement{index: idxPath}
	for _, p := range paths {
		h := heads[p]
		own := filepath.Join(s.dir, storeSegName(h.seg))
		if h.seg == 0 || p == own || heads[own].seg == h.seg || pl.segs[h.seg] != "" {
			continue // not a segment, in its place, or a copy of one found
		}
		if pl.segs == nil {
			pl.segs = map[uint32]string{}
		}
		pl.segs[h.seg] = p
	}
	if !heads[idxPath].index {
		if heads[idxPath].seg != 0 && pl.segs[heads[idxPath].seg] == idxPath {
			pl.index = "" // a segment took its name
		}
		for _, p := range paths[1:] {
			if heads[p].index {
				pl.index = p
				break
			}
		}
	}
	return pl
}

// moved reports whether some file of the store is under another's name.
func (pl placement) moved(idxPath string) bool {
	return len(pl.segs) > 0 || pl.index != idxPath
}

// place finds the store's files under other names (findPlacement), reports
// each, and either reads them there (read only: segPath follows s.placed)
// or moves them back to their names. It returns the checkpoint's path, ""
// when there is none.
func (s *Store) place() (string, error) {
	idxPath := filepath.Join(s.dir, IndexFile)
	if !s.readOnly {
		if err := s.finishPlacing(); err != nil {
			return "", err
		}
	}
	nums, err := listSegments(s.dir)
	if err != nil {
		return "", err
	}
	pl := s.findPlacement(nums)
	if !pl.moved(idxPath) {
		return idxPath, nil
	}
	what := "moved back to its name"
	if s.readOnly {
		what = "read from there (a resume moves it back to its name)"
	}
	for n, p := range pl.segs {
		s.report(p, 0, 0, 0, fmt.Sprintf("holds segment %d (%s), under another file's name: %s, nothing lost", n, storeSegName(n), what))
	}
	if pl.index != idxPath && pl.index != "" {
		s.report(pl.index, 0, 0, 0, fmt.Sprintf("holds the checkpoint (%s), under another file's name: %s, nothing lost", IndexFile, what))
	}
	if s.readOnly {
		s.placed = pl.segs
		return pl.index, nil
	}
	return idxPath, s.moveBack(pl, idxPath)
}

// placingSuffix names a file moveBack is moving into place.
const placingSuffix = ".placing"

// finishPlacing completes a moveBack that a crash interrupted: a file left
// under its temporary name goes to its name, unless a file is there.
func (s *Store) finishPlacing() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), placingSuffix)
		if _, seg := parseStoreSegName(name); !ok || !e.Type().IsRegular() || (name != IndexFile && !seg) {
			continue
		}
		to := filepath.Join(s.dir, name)
		if _, err := os.Stat(to); err == nil {
			continue // left as it is: a later open reports nothing of it
		}
		if err := os.Rename(filepath.Join(s.dir, e.Name()), to); err != nil {
			return fmt.Errorf("move %s back to its name: %w", e.Name(), err)
		}
	}
	return nil
}

// moveBack renames the files of pl back to their names: each first to a
// temporary name (two files may have swapped names), then into place. A
// file in the way that none of them is (damaged, or another file) is kept
// aside in the job's damaged-<UTC>/ directory.
func (s *Store) moveBack(pl placement, idxPath string) error {
	moves := map[string]string{} // from -> to
	for n, p := range pl.segs {
		moves[p] = s.segPath(n)
	}
	if pl.index != idxPath && pl.index != "" {
		moves[pl.index] = idxPath
	}
	for _, to := range moves {
		if _, moving := moves[to]; moving {
			continue
		}
		if _, err := os.Stat(to); err == nil {
			if _, err := jobdir.MoveAside("", to, false); err != nil {
				return err
			}
		}
	}
	var errs []error
	for from, to := range moves {
		errs = append(errs, os.Rename(from, to+placingSuffix))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("move the files of the store back to their names: %w", err)
	}
	for _, to := range moves {
		errs = append(errs, os.Rename(to+placingSuffix, to))
	}
	if err := errors.Join(append(errs, recordio.SyncDir(s.dir))...); err != nil {
		return fmt.Errorf("move the files of the store back to their names: %w", err)
	}
	return nil
}
