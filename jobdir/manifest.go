package jobdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"
)

// ManifestFile is the name of the format manifest in a job directory.
const ManifestFile = "frontier-job.json"

// FormatVersion is the job-directory format this build writes and the newest
// it reads. docs/jobdir.md describes each version: format 2 added the queue
// store (requests.queue/queue.*); format 3 added the mark of the bucket
// journal's removals. A job of an older format is read as it is, and its
// manifest is rewritten in this format when it is opened, so that a build
// that reads only the old format refuses it from then on.
const FormatVersion = 3

// Manifest is a job directory's format manifest, written once when the job is
// created.
type Manifest struct {
	// Format is the job-directory format version.
	Format int `json:"format"`
	// PriorityQueue is the registry name of the SCHEDULER_PRIORITY_QUEUE the
	// job was started with; the queues on disk are laid out for it.
	PriorityQueue string `json:"priority_queue"`
	// CreatedBy names the program and version that created the job.
	CreatedBy string `json:"created_by"`
	// Created is when the job was created.
	Created time.Time `json:"created"`
	// Feeds is set once a crawl of the job has written a feed commit log
	// (feeds.log): its loss is then a loss, not a job without feeds.
	Feeds bool `json:"feeds,omitempty"`
}

// ParseManifest decodes a manifest. It checks the fields every version has;
// whether the format version is readable is [Manifest.Check]'s business.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrCorruptManifest, err)
	}
	if m.Format < 1 {
		return Manifest{}, fmt.Errorf("%w: format %d is not a format version", ErrCorruptManifest, m.Format)
	}
	return m, nil
}

// Check reports whether this build can resume a job with manifest m under
// the priority queue named pq ("" skips that check).
func (m Manifest) Check(dir, pq string) error {
	if m.Format > FormatVersion {
		return fmt.Errorf("%w: %s was written in format %d by %s; this build (%s) reads formats up to %d: resume it with a newer frontier",
			ErrFutureFormat, dir, m.Format, m.CreatedBy, BuildVersion(), FormatVersion)
	}
	if pq != "" && m.PriorityQueue != pq {
		return fmt.Errorf("%w: %s was started with SCHEDULER_PRIORITY_QUEUE=%s and cannot be resumed with %s (the queues on disk are laid out for the first); resume with the same priority queue, or start a new JOBDIR",
			ErrPriorityQueueMismatch, dir, m.PriorityQueue, pq)
	}
	return nil
}

// ReadManifest reads dir's manifest; ok is false when there is none.
func ReadManifest(dir string) (m Manifest, ok bool, err error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, fmt.Errorf("jobdir: read %s: %w", path, err)
	}
	m, err = ParseManifest(b)
	if err != nil {
		return Manifest{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return m, true, nil
}

func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("jobdir: manifest: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o644)
}

// BuildVersion names this build of frontier, as written in a manifest's
// created_by: "frontier <module version>".
func BuildVersion() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == modulePath {
				v = d.Version
			}
		}
		if bi.Main.Path == modulePath && bi.Main.Version != "" {
			v = bi.Main.Version
		}
	}
	return "frontier " + v
}

const modulePath = "github.com/frontier-go/frontier"

// WriteManifest replaces dir's manifest with m, atomically; for a repair
// that rewrites a damaged one (keep the old one aside first).
func WriteManifest(dir string, m Manifest) error { return writeManifest(dir, m) }
