package jobdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
)

// Names of the other entries of a job directory, owned by other packages.
const (
	// QueueDir is the disk priority queue's key (Scrapy's requests.queue).
	QueueDir = "requests.queue"
	// FingerprintsFile holds the duplicate filter's fingerprints.
	FingerprintsFile = "requests.fingerprints"
	// ScrapySeenFile is Scrapy's text file of fingerprints, which frontier
	// imports and never writes.
	ScrapySeenFile = "requests.seen"
	// scrapyActive is the file Scrapy's disk priority queue writes at close.
	scrapyActive = "active.json"
)

// Options configure [Open].
type Options struct {
	// PriorityQueue is the registry name of the SCHEDULER_PRIORITY_QUEUE in
	// use. A new job records it; an existing job started with another one is
	// refused with an error wrapping [ErrPriorityQueueMismatch]. Empty skips
	// the check and creates no manifest (tools that only read).
	PriorityQueue string
	// CreatedBy names the program in a new manifest; BuildVersion() if empty.
	CreatedBy string
	// Fsync is the policy of the journals opened through the Job; the zero
	// value is the interval policy with the default interval.
	Fsync FsyncPolicy
	// Logger receives the log lines of opening (stale locks, torn tails).
	Logger zerolog.Logger
	// KnownPriorityQueue, when not nil, reports whether a name is a
	// registered priority queue: an existing job's manifest naming none is
	// damaged, and refused as such (ErrCorruptManifest naming the file).
	KnownPriorityQueue func(name string) bool
}

// Job is an open job directory: its lock is held until Close.
type Job struct {
	dir      string
	lock     *lock
	manifest Manifest
	created  bool
	state    map[string]any
	opts     Options
}

// Unclean reports whether the process that held the job before this one
// stopped without closing it (killed, crashed, or its machine went down):
// what it had not written, or not fsynced, may be missing.
func (j *Job) Unclean() bool { return j.lock != nil && j.lock.unclean }

// Open opens the job directory dir, creating it (mkdir -p) when missing:
// it takes the lock (a second process gets a *LockedError naming the first),
// reads the manifest or writes a new one (a job from a newer format, or
// started with another priority queue, is refused), and loads the spider
// state (empty when there is none, as Scrapy's SpiderState; a corrupt file is
// an error wrapping [ErrCorruptState]).
func Open(dir string, opts Options) (*Job, error) {
	if dir == "" {
		return nil, errors.New("jobdir: empty job directory path")
	}
	if err := mkdirAllDurable(dir); err != nil {
		return nil, fmt.Errorf("jobdir: create %s: %w", dir, err)
	}
	if opts.CreatedBy == "" {
		opts.CreatedBy = BuildVersion()
	}
	if opts.Fsync.Mode == FsyncInterval && opts.Fsync.Interval <= 0 {
		opts.Fsync.Interval = DefaultFsyncInterval
	}
	lk, err := acquireLock(dir, opts.Logger)
	if err != nil {
		return nil, err
	}
	j := &Job{dir: dir, lock: lk, opts: opts}
	if err := j.open(); err != nil {
		lk.release()
		return nil, err
	}
	return j, nil
}

func (j *Job) open() error {
	removeTempFiles(j.dir, ManifestFile, StateFile, InFlightFile, FingerprintsFile)
	m, ok, err := ReadManifest(j.dir)
	if err != nil {
		return err
	}
	if ok {
		if known := j.opts.KnownPriorityQueue; known != nil && !known(m.PriorityQueue) {
			return fmt.Errorf("%w: %s names priority queue %q, which is no registered priority queue: the manifest is damaged (or the job needs a plugin not loaded); `frontier jobdir repair` rewrites it from the queue's data",
				ErrCorruptManifest, filepath.Join(j.dir, ManifestFile), m.PriorityQueue)
		}
		if err := m.Check(j.dir, j.opts.PriorityQueue); err != nil {
			return err
		}
		if m.Format < FormatVersion {
			old := m.Format
			m.Format = FormatVersion
			if err := writeManifest(j.dir, m); err != nil {
				return err
			}
			j.opts.Logger.Info().Str("jobdir", j.dir).Int("from", old).Int("to", m.Format).
				Msg("Job directory format upgraded (its files are read as they are; builds that read only the old format will refuse it)")
		}
		j.manifest = m
	} else {
		if err := checkForeign(j.dir); err != nil {
			return err
		}
		if j.opts.PriorityQueue != "" {
			j.manifest = Manifest{
				Format:        FormatVersion,
				PriorityQueue: j.opts.PriorityQueue,
				CreatedBy:     j.opts.CreatedBy,
				Created:       time.Now().UTC().Truncate(time.Second),
			}
			if err := writeManifest(j.dir, j.manifest); err != nil {
				return err
			}
			// The directory may be new (created here or by the caller, as
			// framework.Crawler.Job does): its entry in its parent must be
			// durable before anything in it is.
			if err := SyncDir(filepath.Dir(filepath.Clean(j.dir))); err != nil {
				return err
			}
			j.created = true
		}
	}
	st, err := LoadState(j.dir)
	if err != nil {
		return err
	}
	j.state = st
	return nil
}

// checkForeign refuses a directory without a manifest that holds files whose
// format frontier cannot know: Scrapy's request queue, or frontier files
// whose manifest is gone.
func checkForeign(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, QueueDir, scrapyActive)); err == nil {
		return fmt.Errorf("%w: %s has %s/%s and pickled queues, which frontier cannot read; move %s aside to resume with only the seen fingerprints (requests.seen is imported), or start a new JOBDIR",
			ErrScrapyJob, dir, QueueDir, scrapyActive, filepath.Join(dir, QueueDir))
	}
	for _, name := range []string{InFlightFile, FingerprintsFile, filepath.Join(QueueDir, BucketJournalFile)} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%w: %s holds %s but no %s, so its format is unknown; restore the manifest or start a new JOBDIR",
				ErrMissingManifest, dir, name, ManifestFile)
		}
	}
	return nil
}

// Dir returns the job directory's path.
func (j *Job) Dir() string { return j.dir }

// Path returns the path of name inside the job directory.
func (j *Job) Path(name string) string { return filepath.Join(j.dir, name) }

// Manifest returns the job's manifest.
func (j *Job) Manifest() Manifest { return j.manifest }

// Created reports whether Open created the job (it had no manifest).
func (j *Job) Created() bool { return j.created }

// Fsync returns the fsync policy of the job's journals.
func (j *Job) Fsync() FsyncPolicy { return j.opts.Fsync }

// Logger returns the logger the job was opened with.
func (j *Job) Logger() zerolog.Logger { return j.opts.Logger }

// State returns the spider state loaded at Open.
func (j *Job) State() map[string]any { return j.state }

// SaveState writes state to spider.state atomically (at close and at
// checkpoints).
func (j *Job) SaveState(state map[string]any) error {
	if j.lock == nil {
		return ErrClosed
	}
	return SaveState(j.dir, state)
}

// OpenInFlight opens the job's in-flight journal (see [OpenInFlight]).
func (j *Job) OpenInFlight() (*InFlightJournal, InFlightState, error) {
	if j.lock == nil {
		return nil, InFlightState{}, ErrClosed
	}
	path := inFlightPath(j.dir)
	why, err := j.salvageInFlight(path)
	if err != nil {
		return nil, InFlightState{}, err
	}
	journal, st, err := OpenInFlight(path, j.opts.Fsync, j.opts.Logger)
	if err == nil && why != "" {
		// A job resumed without its journal lost the requests in flight at
		// its last stop.
		st.Lost = true
		j.opts.Logger.Warn().Str("file", path).Str("journal", why).
			Msgf("The in-flight journal is lost: the requests in flight at the last stop are lost (how many is unknown); a new journal is started, the old file kept in %s*", DamagedDirPrefix)
	}
	return journal, st, err
}

// salvageInFlight returns why the in-flight journal at path of a job opened
// before is lost (InFlightLoss), "" when it is not or the job is new; a
// lost file that exists is moved aside into damaged-<UTC>/ so that a new
// journal starts.
func (j *Job) salvageInFlight(path string) (string, error) {
	if j.created || j.manifest.Format == 0 {
		return "", nil
	}
	data, err := os.ReadFile(path)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("jobdir: read %s: %w", path, err)
	}
	why, _ := InFlightLoss(data, exists)
	if why != "" && exists {
		if _, err := MoveAside(j.dir, path, false); err != nil {
			return "", err
		}
	}
	return why, nil
}

// Close releases the lock. It writes nothing else: callers save the state
// and close the journals first.
func (j *Job) Close() error {
	if j.lock == nil {
		return nil
	}
	err := j.lock.release()
	j.lock = nil
	return err
}
