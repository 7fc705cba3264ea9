package jobtools

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/jobdir"
)

// ErrNotJobDir marks a directory that holds no job.
var ErrNotJobDir = errors.New("jobtools: not a job directory")

// Bucket is one bucket of the disk priority queue and what it holds.
type Bucket struct {
	queues.Bucket
	// Kind is "lifo" (a file, or a LIFO bucket of the queue store), "fifo"
	// (a directory, or a FIFO bucket of the queue store) or "missing" (never
	// written).
	Kind    string `json:"kind"`
	Pending int    `json:"pending"`
	// StoreKey is the bucket's key in the queue store, when the store holds
	// it; Path is then not a file.
	StoreKey string `json:"store_key,omitempty"`
	// Err says why the bucket could not be read, when it could not.
	Err string `json:"error,omitempty"`
}

// Report is what Inspect finds in a job directory.
type Report struct {
	Dir string `json:"dir"`
	// Manifest is the format manifest, nil when the job has none yet.
	Manifest    *jobdir.Manifest `json:"manifest,omitempty"`
	HasManifest bool             `json:"has_manifest"`
	// Lock is what the lock file says, nil when there is none; Running is
	// true when a process holds the lock now.
	Lock    *jobdir.LockInfo `json:"lock,omitempty"`
	Running bool             `json:"running"`
	// StateKeys are the spider state's keys, sorted.
	StateKeys []string `json:"state_keys,omitempty"`
	StateErr  string   `json:"state_error,omitempty"`
	// Pending counts the requests in the disk queue; Buckets details them.
	Pending int      `json:"pending"`
	Buckets []Bucket `json:"buckets,omitempty"`
	// QueueLayout is LayoutStore, LayoutFiles, or "" when the job has no
	// disk queue yet; Store describes the queue store, when there is one.
	QueueLayout string      `json:"queue_layout,omitempty"`
	Store       *QueueStore `json:"queue_store,omitempty"`
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

// QueueStore is what Inspect finds in a job's queue store.
type QueueStore struct {
	// Segments is the number of its segment files.
	Segments int `json:"segments"`
	// Unclaimed are its buckets that the bucket journal does not list: a
	// resume drops them. They are normally buckets the journal removed once
	// drained, whose drop from the store a stop or crash came before.
	Unclaimed []StoreBucket `json:"unclaimed,omitempty"`
	// Drops says what a resume would drop while reading the store (torn
	// tails, corrupt frames, missing chunks); Verify details it.
	Drops []string `json:"drops,omitempty"`
	// Err says why the store could not be read, when it could not; a resume
	// would refuse the job.
	Err string `json:"error,omitempty"`
}

// StoreBucket is a bucket of the queue store.
type StoreBucket struct {
	Key     string `json:"key"`
	Kind    string `json:"kind"`
	Pending int    `json:"pending"`
}

// Inspect reads the job directory dir and reports what it holds.
func Inspect(dir string) (*Report, error) {
	rep := &Report{Dir: dir}
	if err := rep.readCommon(dir); err != nil {
		return nil, err
	}
	view, err := openView(dir)
	if err != nil {
		return nil, err
	}
	rep.QueueLayout = view.layout()
	if view.hasStore {
		qs := &QueueStore{}
		rep.Store = qs
		st, err := view.openStore(func(file string, off, bytes int64, records int, what string) {
			qs.Drops = append(qs.Drops, fmt.Sprintf("%s at offset %d: %s (%d bytes, %d records)", filepath.Base(file), off, what, bytes, records))
		})
		if err != nil {
			qs.Err = err.Error()
		} else {
			qs.Segments = st.Segments()
			for _, u := range view.unclaimed {
				qs.Unclaimed = append(qs.Unclaimed, StoreBucket{Key: u.Key, Kind: kindName(u.LIFO), Pending: u.Len})
			}
			st.Close()
		}
	}
	for _, b := range view.buckets {
		ib := Bucket{Bucket: b.Bucket, Kind: b.kind}
		switch {
		case b.stored:
			ib.StoreKey, ib.Pending = b.rel, b.pending
		case b.kind == "missing" && rep.Store != nil && rep.Store.Err != "":
			ib.Err = "the queue store cannot be read"
		default:
			if n, err := filequeue.Len(b.Path); err != nil {
				ib.Err = err.Error()
			} else {
				ib.Pending = n
			}
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
		return fmt.Errorf("jobtools: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrNotJobDir, dir)
	}
	m, ok, err := jobdir.ReadManifest(dir)
	if err != nil {
		return err
	}
	if ok {
		rep.Manifest, rep.HasManifest = &m, true
		if err := m.Check(dir, ""); err != nil {
			return err
		}
	} else if _, err := os.Stat(filepath.Join(dir, jobdir.ScrapySeenFile)); err != nil {
		return fmt.Errorf("%w: %s has no %s", ErrNotJobDir, dir, jobdir.ManifestFile)
	}
	lock, running, err := jobdir.ReadLock(dir)
	rep.Running = running
	if err == nil && lock.PID != 0 {
		rep.Lock = &lock
	}
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
	case dupefilters.IsForeignSeenFile(err):
		// A resume keeps it aside and starts with none; verify says so.
		rep.FingerprintsFrom = jobdir.FingerprintsFile + " (not a fingerprint file: damaged)"
	default:
		return err
	}
	rep.Bytes, rep.Files = DiskUsage(dir)
	return nil
}

// DiskUsage returns the bytes and the number of the files under dir;
// entries that cannot be read are left out.
func DiskUsage(dir string) (bytes int64, files int) {
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			bytes += info.Size()
			files++
		}
		return nil
	})
	return bytes, files
}
