package dupefilters

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// diskState is an RFPDupeFilter's job-directory side: new fingerprints are
// buffered and written only by Flush and Close, never on the filter's own
// initiative, because the scheduler flushes the request queues first: a
// fingerprint must never be durable before the request it describes, or a
// crash could leave a request both lost and "seen".
type diskState struct {
	dir     string
	policy  jobdir.FsyncPolicy
	file    *seenFile
	pending []framework.Fingerprint
	closed  bool
	// unordered counts fingerprints in the file not in set order: a clean
	// close rewrites the file in set order when they are many.
	unordered int
}

// rewriteMin is the number of fingerprints out of set order from which a
// clean close rewrites the fingerprint file (when they are also a tenth of it).
const rewriteMin = 64 << 10

// Stats keys of the persistent dupefilter.
const (
	// StatLoaded is the number of fingerprints loaded from the job directory.
	StatLoaded = "dupefilter/loaded"
	// StatDroppedBytes counts bytes of the fingerprint file skipped as torn or corrupt.
	StatDroppedBytes = "dupefilter/dropped_bytes"
)

func (f *RFPDupeFilter) recordNew(fp framework.Fingerprint) {
	if f.disk.file != nil {
		f.disk.pending = append(f.disk.pending, fp)
	}
}

// openDisk loads JOBDIR/requests.fingerprints, importing Scrapy's
// requests.seen first when the job has one and no fingerprint file.
func (f *RFPDupeFilter) openDisk() error {
	d := &f.disk
	if d.dir == "" || d.file != nil {
		return nil
	}
	path := filepath.Join(d.dir, jobdir.FingerprintsFile)
	if err := f.importScrapy(path); err != nil {
		return err
	}
	start := time.Now()
	file, set, rep, err := openSeenFile(path, d.policy)
	if err != nil {
		return err
	}
	switch {
	case rep.MovedAside != "":
		f.log.Warn().Str("file", path).Str("kept_as", rep.MovedAside).Int64("dropped_bytes", rep.Dropped).
			Msg("The fingerprint file is not one (garbage or another file copied over it): kept aside, the job goes on with no fingerprints; requests seen before may be crawled again")
		if f.stats != nil {
			f.stats.Inc(StatDroppedBytes, rep.Dropped)
		}
	case rep.Dropped > 0:
		f.log.Warn().Str("file", path).Int64("offset", rep.DroppedAt).Int64("dropped_bytes", rep.Dropped).Bool("torn_tail", rep.TornTail).
			Msg("Dropped unreadable bytes of the fingerprint file; their requests may be crawled again")
		if f.stats != nil {
			f.stats.Inc(StatDroppedBytes, rep.Dropped)
		}
	}
	// Fingerprints recorded before Open (none in a scheduler) are kept.
	f.seen.Each(func(fp framework.Fingerprint) bool {
		if set.Add(&fp) {
			d.pending = append(d.pending, fp)
		}
		return true
	})
	f.seen = set
	d.file = file
	d.unordered = rep.Unordered
	if n := rep.Fingerprints; n > 0 {
		f.log.Info().Int("fingerprints", n).Dur("took", time.Since(start)).Msgf("Loaded %d fingerprints from %s", n, path)
	}
	if f.stats != nil {
		f.stats.Set(StatLoaded, int64(rep.Fingerprints))
	}
	return nil
}

// importScrapy converts JOBDIR/requests.seen when the job has no fingerprint
// file yet.
func (f *RFPDupeFilter) importScrapy(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	src := filepath.Join(f.disk.dir, jobdir.ScrapySeenFile)
	if _, err := os.Stat(src); err != nil {
		return nil
	}
	imp, err := ImportScrapySeen(f.disk.dir, src)
	if err != nil {
		return err
	}
	ev := f.log.Info()
	if imp.Invalid > 0 || imp.TornLastLine {
		ev = f.log.Warn()
	}
	ev.Str("file", src).Int("fingerprints", imp.Fingerprints).Int("lines", imp.Lines).Int("salvaged", imp.Salvaged).
		Int("invalid_lines", imp.Invalid).Bool("torn_last_line", imp.TornLastLine).
		Msgf("Imported %d fingerprints from Scrapy's %s into %s", imp.Fingerprints, jobdir.ScrapySeenFile, jobdir.FingerprintsFile)
	return nil
}

// Flush writes the fingerprints recorded since the last Flush in one write,
// fsynced as JOBDIR_FSYNC says. The scheduler calls it after flushing its
// queues. It first lets a growth of the in-memory set that runs in the
// background finish, so that a flushed filter holds one table: the memory
// it keeps at rest.
func (f *RFPDupeFilter) Flush() error {
	f.seen.settle()
	return f.flush(false)
}

func (f *RFPDupeFilter) flush(force bool) error {
	d := &f.disk
	if d.file == nil {
		if d.closed {
			return fmt.Errorf("dupefilters: %w", framework.ErrClosed)
		}
		return nil
	}
	if err := d.file.append(d.pending, force); err != nil {
		return err
	}
	d.unordered += len(d.pending)
	d.pending = d.pending[:0]
	return nil
}

func (f *RFPDupeFilter) closeDisk() error {
	d := &f.disk
	if d.file == nil {
		return nil
	}
	err := f.flush(true)
	err = errors.Join(err, d.file.close())
	if err == nil && d.unordered >= rewriteMin && d.unordered*10 >= f.seen.Len() {
		// Only an optimisation of the next load: a failure leaves the file
		// as it was, valid.
		start := time.Now()
		if werr := writeOrdered(d.file.path, f.seen); werr != nil {
			f.log.Warn().Err(werr).Msg("Could not rewrite the fingerprint file in set order; the next start loads it more slowly")
		} else {
			f.log.Debug().Int("fingerprints", f.seen.Len()).Dur("took", time.Since(start)).Msg("Rewrote the fingerprint file in set order")
		}
	}
	d.file, d.pending, d.closed = nil, nil, true
	return err
}
