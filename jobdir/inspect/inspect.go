package inspect

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// ErrNotJobDir marks a directory that holds no job.
var ErrNotJobDir = errors.New("inspect: not a job directory")

// Bucket is one bucket of the disk priority queue and what it holds.
type Bucket struct {
	queues.Bucket
	// Kind is "lifo" (a file), "fifo" (a directory) or "missing" (never
	// written).
	Kind    string `json:"kind"`
	Pending int    `json:"pending"`
	// Err says why the bucket could not be read, when it could not.
	Err string `json:"error,omitempty"`
}

// Report is what Inspect finds in a job directory.
type Report struct {
	Dir         string          `json:"dir"`
	Manifest    jobdir.Manifest `json:"manifest"`
	HasManifest bool            `json:"has_manifest"`
	// Lock is what the lock file says; Running is true when a process holds
	// the lock now.
	Lock    jobdir.LockInfo `json:"lock"`
	Running bool            `json:"running"`
	// StateKeys are the spider state's keys, sorted.
	StateKeys []string `json:"state_keys"`
	StateErr  string   `json:"state_error,omitempty"`
	// Pending counts the requests in the disk queue; Buckets details them.
	Pending int      `json:"pending"`
	Buckets []Bucket `json:"buckets"`
	// InFlight counts the requests handed out and not finished at the last
	// stop (handed out again first on resume); Ghosts counts copies of some
	// of them still in the queues, which a resume drops.
	InFlight int `json:"in_flight"`
	Ghosts   int `json:"ghosts"`
	// Fingerprints counts the duplicate filter's fingerprints;
	// FingerprintsFrom names the file they come from.
	Fingerprints     int    `json:"fingerprints"`
	FingerprintsFrom string `json:"fingerprints_from,omitempty"`
	// Bytes is the size of every file in the job directory; Files their count.
	Bytes int64 `json:"bytes"`
	Files int   `json:"files"`
}

// Inspect reads the job directory dir and reports what it holds.
func Inspect(dir string) (*Report, error) {
	rep := &Report{Dir: dir}
	if err := rep.readCommon(dir); err != nil {
		return nil, err
	}
	snap, err := openSnapshot(dir)
	if err != nil {
		return nil, err
	}
	defer snap.close()
	for _, b := range snap.buckets {
		ib := Bucket{Bucket: b.Bucket, Kind: b.kind}
		if b.err != nil {
			ib.Err = b.err.Error()
		} else if b.q != nil {
			ib.Pending = b.q.Len()
		}
		rep.Pending += ib.Pending
		rep.Buckets = append(rep.Buckets, ib)
	}
	slices.SortFunc(rep.Buckets, func(a, b Bucket) int {
		if c := strings.Compare(a.Slot, b.Slot); c != 0 {
			return c
		}
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		if a.Start != b.Start {
			if a.Start {
				return 1
			}
			return -1
		}
		return 0
	})
	return rep, nil
}

// readCommon reads everything but the queues: manifest, lock, state,
// in-flight journal, fingerprints and sizes.
func (rep *Report) readCommon(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrNotJobDir, dir)
	}
	m, ok, err := jobdir.ReadManifest(dir)
	if err != nil {
		return err
	}
	rep.Manifest, rep.HasManifest = m, ok
	if ok {
		if err := m.Check(dir, ""); err != nil {
			return err
		}
	} else if _, err := os.Stat(filepath.Join(dir, jobdir.ScrapySeenFile)); err != nil {
		return fmt.Errorf("%w: %s has no %s", ErrNotJobDir, dir, jobdir.ManifestFile)
	}
	rep.Lock, rep.Running, _ = jobdir.ReadLock(dir)
	if state, err := jobdir.LoadState(dir); err != nil {
		rep.StateErr = err.Error()
	} else {
		for k := range state {
			rep.StateKeys = append(rep.StateKeys, k)
		}
		slices.Sort(rep.StateKeys)
	}
	if b, err := os.ReadFile(filepath.Join(dir, jobdir.InFlightFile)); err == nil {
		ifs, err := jobdir.DecodeInFlight(b)
		if err != nil {
			return err
		}
		rep.InFlight, rep.Ghosts = len(ifs.InFlight), len(ifs.Ghosts)
	}
	switch fp, err := dupefilters.ReadSeenFile(filepath.Join(dir, jobdir.FingerprintsFile)); {
	case err == nil:
		rep.Fingerprints, rep.FingerprintsFrom = fp.Fingerprints, jobdir.FingerprintsFile
	case errors.Is(err, fs.ErrNotExist):
		if f, err := os.Open(filepath.Join(dir, jobdir.ScrapySeenFile)); err == nil {
			imp, _ := dupefilters.CountScrapySeen(f)
			f.Close()
			rep.Fingerprints, rep.FingerprintsFrom = imp.Fingerprints, jobdir.ScrapySeenFile+" (Scrapy's, imported at the next start)"
		}
	default:
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			rep.Bytes += info.Size()
			rep.Files++
		}
		return nil
	})
}

// snapshot is a copy of a job's disk priority queue, opened bucket by bucket.
type snapshot struct {
	tmp     string
	buckets []snapBucket
	stats   *framework.MemoryStats
	// orphans are entries of the queue directory no live bucket owns.
	orphans []string
	journal jobdir.BucketState
}

type snapBucket struct {
	queues.Bucket
	kind string
	q    *queues.DiskQueue
	err  error
}

// openSnapshot copies dir's request queue to a temporary directory and opens
// every live bucket of its bucket journal there.
func openSnapshot(dir string) (*snapshot, error) {
	src := filepath.Join(dir, jobdir.QueueDir)
	tmp, err := os.MkdirTemp("", "frontier-inspect-")
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	s := &snapshot{tmp: tmp, stats: framework.NewMemoryStats()}
	dst := filepath.Join(tmp, jobdir.QueueDir)
	if err := copyTree(src, dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.close()
		return nil, fmt.Errorf("inspect: copy %s: %w", src, err)
	}
	b, err := os.ReadFile(filepath.Join(dst, jobdir.BucketJournalFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.close()
		return nil, fmt.Errorf("inspect: %w", err)
	}
	if s.journal, err = jobdir.DecodeBuckets(b); err != nil {
		s.close()
		return nil, fmt.Errorf("inspect: %s: %w", filepath.Join(src, jobdir.BucketJournalFile), err)
	}
	cfg := queues.DiskConfig{
		PopCommitDelay: -1,
		Pool:           queues.NewDiskPool(queues.DiskPoolConfig{}),
		Logger:         zerolog.Nop(),
		Stats:          s.stats,
	}
	owned := map[string]bool{filepath.Join(dst, jobdir.BucketJournalFile): true}
	for _, name := range s.journal.Live {
		qb, err := queues.ParseBucket(dst, name)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("inspect: %w", err)
		}
		sb := snapBucket{Bucket: qb}
		owned[qb.Path] = true
		owned[filepath.Dir(qb.Path)] = true
		sb.Path = filepath.Join(src, strings.TrimPrefix(qb.Path, dst))
		switch fi, err := os.Stat(qb.Path); {
		case errors.Is(err, fs.ErrNotExist):
			sb.kind = "missing"
		case err != nil:
			sb.err = err
		case fi.IsDir():
			sb.kind = "fifo"
			sb.q, sb.err = queues.NewFifoDiskQueue(qb.Path, cfg)
		default:
			sb.kind = "lifo"
			sb.q, sb.err = queues.NewLifoDiskQueue(qb.Path, cfg)
		}
		s.buckets = append(s.buckets, sb)
	}
	entries, _ := os.ReadDir(dst)
	for _, e := range entries {
		p := filepath.Join(dst, e.Name())
		if owned[p] {
			if e.IsDir() && !ownsAll(p, owned) {
				s.orphans = append(s.orphans, orphanNames(p, owned, dst, src)...)
			}
			continue
		}
		s.orphans = append(s.orphans, filepath.Join(src, e.Name()))
	}
	return s, nil
}

// ownsAll reports whether every entry of a slot directory is a live bucket.
func ownsAll(dir string, owned map[string]bool) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !owned[filepath.Join(dir, e.Name())] {
			return false
		}
	}
	return true
}

func orphanNames(dir string, owned map[string]bool, dst, src string) []string {
	var out []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !owned[p] {
			out = append(out, filepath.Join(src, strings.TrimPrefix(p, dst)))
		}
	}
	return out
}

func (s *snapshot) close() {
	for _, b := range s.buckets {
		if b.q != nil {
			b.q.Close()
		}
	}
	os.RemoveAll(s.tmp)
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// drain pops every request of a snapshot bucket, calling fn for each, and
// counts the records it could not read.
func (b *snapBucket) drain(fn func(r *framework.Request) error) (bad int, err error) {
	if b.q == nil {
		return 0, b.err
	}
	for {
		r, err := b.q.Pop()
		var cre *queues.CorruptRecordError
		if errors.As(err, &cre) {
			bad += max(1, cre.Dropped)
			continue
		}
		if err != nil {
			return bad, err
		}
		if r == nil {
			return bad, nil
		}
		if err := fn(r); err != nil {
			return bad, err
		}
	}
}
