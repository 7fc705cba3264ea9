package jobtools

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/builtin/queues/queuestore"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// Finding is one thing Verify found about a file.
type Finding struct {
	File string `json:"file"`
	// Offset is where the problem starts in File, -1 when it is not about a
	// place in the file.
	Offset int64 `json:"offset"`
	// DropBytes and DropRecords are what a resume drops because of it.
	DropBytes   int64 `json:"drop_bytes,omitempty"`
	DropRecords int   `json:"drop_records,omitempty"`
	// Fatal is true when a resume would refuse the job.
	Fatal bool `json:"fatal,omitempty"`
	// Kind classifies the damage: KindTorn, KindCorrupt, KindMissing,
	// KindRebuilt, or "" for the other findings.
	Kind string `json:"kind,omitempty"`
	What string `json:"what"`
}

// Kinds of damage (Finding.Kind).
const (
	// KindTorn is the torn tail of writes a crash interrupted.
	KindTorn = "torn_tail"
	// KindCorrupt is a damaged stretch that valid records follow: skipped,
	// the records after it kept.
	KindCorrupt = "corrupt"
	// KindMissing is a file lost that nothing can rebuild.
	KindMissing = "missing"
	// KindRebuilt is an index a resume rebuilds from the data, losing nothing.
	KindRebuilt = "rebuilt"
)

// Verification is what Verify found.
type Verification struct {
	Dir      string    `json:"dir"`
	Files    int       `json:"files_checked"`
	Records  int       `json:"records_read"`
	Findings []Finding `json:"findings"`
	// DropBytes and DropRecords sum what a resume would drop.
	DropBytes   int64 `json:"drop_bytes"`
	DropRecords int   `json:"drop_records"`
	// Fatal is true when a resume would refuse the job.
	Fatal bool `json:"fatal"`
}

// OK reports whether a resume would take everything in the job directory.
func (v *Verification) OK() bool { return len(v.Findings) == 0 }

func (v *Verification) add(f Finding) {
	v.Findings = append(v.Findings, f)
	v.DropBytes += f.DropBytes
	v.DropRecords += f.DropRecords
	v.Fatal = v.Fatal || f.Fatal
}

// Verify checks every file of the job directory dir, reading every record,
// and reports what a resume would drop (torn tails, corrupt records, stale
// files, buckets of the queue store the bucket journal does not list) or
// refuse (a newer format, a corrupt manifest, state or queue store). It
// changes nothing. progress, when not nil, is called from Verify's goroutine
// as the disk queue's records are read, with the records read so far and
// the pending requests the bucket journal's buckets hold.
func Verify(dir string, progress func(records, total int64)) (*Verification, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("jobtools: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNotJobDir, dir)
	}
	c := &verifier{Verification: &Verification{Dir: dir}, progress: progress}
	c.head()
	c.inFlight()
	c.fingerprints()
	c.queue()
	return c.Verification, nil
}

// verifier is one run of Verify.
type verifier struct {
	*Verification
	progress func(records, total int64)
	total    int64 // pending requests in the buckets
	done     int64 // their records read so far
}

func (v *verifier) path(name string) string { return filepath.Join(v.Dir, name) }

func (v *verifier) exists(name string) bool { _, err := os.Stat(v.path(name)); return err == nil }

// tick counts one record of the disk queue read, for progress.
func (v *verifier) tick() {
	v.done++
	if v.progress != nil {
		v.progress(v.done, v.total)
	}
}

// head checks the manifest, the lock and the spider state.
func (v *verifier) head() {
	dir, path, exists := v.Dir, v.path, v.exists
	// Manifest.
	if exists(jobdir.ManifestFile) {
		v.Files++
		m, _, err := jobdir.ReadManifest(dir)
		if err == nil {
			err = m.Check(dir, "")
		}
		if err != nil {
			v.add(Finding{File: path(jobdir.ManifestFile), Offset: -1, Fatal: true, What: err.Error()})
		} else if inferred := inferPriorityQueue(dir); inferred != "" && m.PriorityQueue != inferred && !queues.IsBuiltinPriorityQueue(m.PriorityQueue) {
			v.add(Finding{File: path(jobdir.ManifestFile), Offset: -1, Fatal: true, Kind: KindCorrupt, What: fmt.Sprintf(
				"damaged: names priority queue %q, which no built-in priority queue is, while the queue's data is %s's; `frontier jobdir repair` rewrites it", m.PriorityQueue, inferred)})
		}
	} else if exists(jobdir.InFlightFile) || exists(jobdir.FingerprintsFile) || exists(filepath.Join(jobdir.QueueDir, jobdir.BucketJournalFile)) {
		v.add(Finding{File: path(jobdir.ManifestFile), Offset: -1, Fatal: true, What: "missing: the other files' format is unknown"})
	} else if exists(filepath.Join(jobdir.QueueDir, "active.json")) {
		v.add(Finding{File: path(jobdir.QueueDir), Offset: -1, Fatal: true, What: "Scrapy's request queue (pickles), which frontier cannot read"})
	}

	// Lock.
	if exists(jobdir.LockFile) {
		v.Files++
		info, held, err := jobdir.ReadLock(dir)
		switch {
		case err != nil:
			v.add(Finding{File: path(jobdir.LockFile), Offset: -1, What: err.Error() + " (a resume takes it over)"})
		case held:
			v.add(Finding{File: path(jobdir.LockFile), Offset: -1, Fatal: true, What: fmt.Sprintf("held by PID %d on %s: the job is running", info.PID, info.Host)})
		}
	}

	// Spider state.
	if exists(jobdir.StateFile) {
		v.Files++
		if _, err := jobdir.LoadState(dir); err != nil {
			v.add(Finding{File: path(jobdir.StateFile), Offset: -1, Fatal: true, What: err.Error()})
		}
	}
}

// inFlight checks the in-flight journal and every record in it.
func (v *verifier) inFlight() {
	path := v.path(jobdir.InFlightFile)
	b, err := os.ReadFile(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		v.add(Finding{File: path, Offset: -1, Fatal: true, What: err.Error()})
		return
	}
	if exists {
		v.Files++
	}
	if !v.exists(jobdir.ManifestFile) && !exists {
		return
	}
	if why, _ := jobdir.InFlightLoss(b, exists); why != "" {
		// Every job opened has one (its first open writes it): its loss
		// cannot be rebuilt from anything.
		kept := ""
		if exists {
			kept = fmt.Sprintf(", the file kept aside in %s<UTC>/", jobdir.DamagedDirPrefix)
		}
		v.add(Finding{File: path, Offset: -1, DropBytes: int64(len(b)), Kind: KindMissing,
			What: "lost: " + why + ": the requests in flight at the last stop are lost (how many is unknown); a resume starts a new journal" + kept})
		return
	}
	ifs, err := jobdir.DecodeInFlight(b)
	v.Records += ifs.Records
	if err != nil {
		v.add(Finding{File: path, Offset: ifs.Valid, Fatal: true, What: err.Error()})
		return
	}
	if ifs.Dropped > 0 {
		v.add(Finding{File: path, Offset: ifs.Valid, DropBytes: ifs.Dropped,
			Kind: KindTorn, What: "torn tail (writes a crash interrupted; they were never acknowledged)"})
	}
	for _, r := range ifs.Corrupt {
		v.add(Finding{File: path, Offset: r.Off, DropBytes: r.Len, Kind: KindCorrupt,
			What: "corrupt stretch skipped, the records after it kept (damage, not a crash): a delivery lost there is a request lost, an acknowledgement lost there brings a finished request back"})
	}
	for _, d := range ifs.InFlight {
		if _, err := framework.DecodeRequest(d.Record, nil); err != nil {
			v.add(Finding{File: path, Offset: -1, Fatal: true,
				What: fmt.Sprintf("request in flight (delivery %d) does not decode: %v", d.ID, err)})
		}
	}
}

// fingerprints checks the duplicate filter's file, or Scrapy's.
func (v *verifier) fingerprints() {
	path, exists := v.path, v.exists
	// Fingerprints.
	if exists(jobdir.FingerprintsFile) {
		v.Files++
		rep, err := dupefilters.ReadSeenFile(path(jobdir.FingerprintsFile))
		v.Records += rep.Frames
		switch {
		case err != nil:
			v.add(Finding{File: path(jobdir.FingerprintsFile), Offset: -1, Fatal: true, What: err.Error()})
		case rep.Dropped > 0:
			what := "corrupt frames skipped (their requests may be crawled twice)"
			if rep.TornTail {
				what = "torn tail (writes a crash interrupted; their requests may be crawled twice)"
			}
			v.add(Finding{File: path(jobdir.FingerprintsFile), Offset: rep.DroppedAt, DropBytes: rep.Dropped, What: what})
		}
	} else if f, err := os.Open(path(jobdir.ScrapySeenFile)); err == nil {
		v.Files++
		imp, err := dupefilters.CountScrapySeen(f)
		f.Close()
		switch {
		case err != nil:
			v.add(Finding{File: path(jobdir.ScrapySeenFile), Offset: -1, Fatal: true, What: err.Error()})
		case imp.Invalid > 0 || imp.TornLastLine:
			v.add(Finding{File: path(jobdir.ScrapySeenFile), Offset: -1, DropRecords: imp.Invalid,
				What: fmt.Sprintf("Scrapy's file: %d invalid lines (first: line %d), torn last line: %t; an import skips them", imp.Invalid, imp.FirstInvalid, imp.TornLastLine)})
		}
	}
}

// queue checks the disk priority queue: its bucket journal, every bucket,
// every record.
func (v *verifier) queue() {
	key := v.path(jobdir.QueueDir)
	journal := filepath.Join(key, jobdir.BucketJournalFile)
	if !v.exists(filepath.Join(jobdir.QueueDir, jobdir.BucketJournalFile)) && !queuestore.Has(key) {
		if fi, err := os.Stat(key); err != nil || !fi.IsDir() {
			return
		}
	}
	view, err := openView(v.Dir)
	if err != nil {
		v.add(Finding{File: journal, Offset: -1, Fatal: true, What: err.Error()})
		return
	}
	switch {
	case view.journalLost:
		v.add(Finding{File: journal, Offset: -1, Kind: KindRebuilt, What: fmt.Sprintf(
			"missing: a resume rebuilds it from the buckets the queue's data holds (%d buckets)", len(view.rebuilt))})
	case view.foreign != nil:
		v.Files++
		v.add(Finding{File: journal, Offset: -1, Kind: KindRebuilt, What: fmt.Sprintf(
			"not a bucket journal (%v): a resume keeps it aside in %s<UTC>/ and rebuilds it from the buckets the queue's data holds (%d buckets)",
			view.foreign, jobdir.DamagedDirPrefix, len(view.rebuilt))})
	case len(view.rebuilt) > 0:
		v.Files++
		v.add(Finding{File: journal, Offset: -1, Kind: KindRebuilt, What: fmt.Sprintf(
			"does not list %d buckets the queue's data holds (cut or damaged): a resume adds them back (%s)",
			len(view.rebuilt), strings.Join(view.rebuilt, ", "))})
	case v.exists(filepath.Join(jobdir.QueueDir, jobdir.BucketJournalFile)):
		v.Files++
	}
	for _, err := range view.skipped {
		v.add(Finding{File: journal, Offset: -1, What: fmt.Sprintf("a bucket of the queue's data cannot be named, a resume leaves it: %v", err)})
	}
	v.Records += view.journal.Records
	if view.journal.Dropped > 0 {
		v.add(Finding{File: journal, Offset: view.journal.Valid, DropBytes: view.journal.Dropped, Kind: KindTorn, What: "torn tail (writes a crash interrupted)"})
	}
	for _, r := range view.journal.Corrupt {
		v.add(Finding{File: journal, Offset: r.Off, DropBytes: r.Len, Kind: KindCorrupt,
			What: "corrupt stretch skipped, the records after it kept (damage, not a crash): a bucket created or removed there may be missed or come back"})
	}
	for _, name := range view.journal.Removed {
		if b, err := queues.ParseBucket(filepath.Join(v.Dir, jobdir.QueueDir), name); err == nil {
			if _, err := os.Stat(b.Path); err == nil {
				v.add(Finding{File: b.Path, Offset: -1, What: "drained bucket whose files a resume deletes"})
			}
		}
	}
	for _, o := range view.orphans {
		v.add(Finding{File: o, Offset: -1, What: "not a bucket of the bucket journal: a resume ignores it"})
	}
	store := v.openStore(view)
	if store != nil {
		defer store.Close()
	}
	for _, b := range view.buckets {
		v.total += int64(b.pending)
	}
	for _, b := range view.buckets {
		switch {
		case b.stored:
			v.verifyStored(store, view.key, &b)
		case b.kind != "missing":
			v.verifyFile(b.Path)
		}
	}
}

// openStore opens the queue store of view, when there is one, and reports
// what a resume would drop from it; nil when there is none or it cannot be
// read.
func (v *verifier) openStore(view *queueView) *queuestore.Store {
	if !view.hasStore {
		return nil
	}
	v.Files++ // the checkpoint
	store, err := view.openStore(func(file string, off, bytes int64, records int, what string) {
		v.add(Finding{File: file, Offset: off, DropBytes: bytes, DropRecords: records, Kind: storeKind(what), What: "queue store: " + what})
	})
	if err != nil {
		v.add(Finding{File: view.key, Offset: -1, Fatal: true, What: err.Error()})
		return nil
	}
	v.Files += store.Segments()
	for _, u := range view.unclaimed {
		v.add(Finding{File: view.key, Offset: -1, DropRecords: u.Len, What: fmt.Sprintf(
			"bucket %s of the queue store is not in the bucket journal: a resume drops it (requests: %d; normally a bucket the journal removed once drained, whose drop from the store a stop or crash came before)",
			u.Key, u.Len)})
	}
	return store
}

// verifyFile reads every record of a bucket kept in its own file or
// directory.
func (v *verifier) verifyFile(path string) {
	v.Files++
	rep, err := filequeue.Verify(path, func(rec filequeue.Record) error {
		v.tick()
		_, err := framework.DecodeRequest(rec.Payload, nil)
		return err
	})
	v.Records += rep.Records
	if err != nil {
		if !errors.Is(err, disk.ErrVersion) && !errors.Is(err, fs.ErrPermission) {
			// What the resume does with a bucket it cannot read.
			v.add(Finding{File: path, Offset: -1, Kind: KindCorrupt, DropBytes: fileBytes(path), What: fmt.Sprintf(
				"cannot be read (%v): a resume keeps it aside in %s<UTC>/ and resumes the other buckets; its requests are lost (how many is unknown)",
				err, jobdir.DamagedDirPrefix)})
			return
		}
		v.add(Finding{File: path, Offset: -1, Fatal: true, What: err.Error()})
		return
	}
	if !rep.OK() {
		what := "unreadable bytes or records (torn tail, corruption)"
		if len(rep.Problems) > 0 {
			what = strings.Join(rep.Problems, "; ")
		}
		v.add(Finding{File: path, Offset: -1, DropBytes: rep.DroppedBytes, DropRecords: rep.DroppedRecords + rep.Undecodable, What: what})
	}
}

// verifyStored reads every record of bucket b of the queue store st, in
// the directory key, and reports the chunks that cannot be read and the
// records that do not decode.
func (v *verifier) verifyStored(st *queuestore.Store, key string, b *viewBucket) {
	read, undecodable := 0, 0
	var first error
	err := st.Records(b.rel, func(delivery uint64, rec []byte) error {
		read++
		v.tick()
		if _, err := framework.DecodeRequest(rec, nil); err != nil {
			undecodable++
			if first == nil {
				first = fmt.Errorf("delivery %d: %w", delivery, err)
			}
		}
		return nil
	})
	v.Records += read
	if err != nil {
		v.add(Finding{File: key, Offset: -1, DropRecords: b.pending - read,
			What: fmt.Sprintf("bucket %s of the queue store: unreadable chunks, which a resume drops with their records: %v", b.rel, err)})
	}
	if undecodable > 0 {
		v.add(Finding{File: key, Offset: -1, DropRecords: undecodable,
			What: fmt.Sprintf("bucket %s of the queue store: %d records do not decode (a resume skips them); the first: %v", b.rel, undecodable, first)})
	}
}

// storeKind classifies what the queue store reports.
func storeKind(what string) string {
	switch {
	case strings.Contains(what, "torn"):
		return KindTorn
	case strings.Contains(what, "rebuilt"):
		return KindRebuilt
	case strings.Contains(what, "missing"):
		return KindMissing
	}
	return KindCorrupt
}

// inferPriorityQueue returns the built-in priority queue whose data the
// job's queue directory holds, or "" when it holds no bucket.
func inferPriorityQueue(dir string) string {
	key := filepath.Join(dir, jobdir.QueueDir)
	var st *queuestore.Store
	if queuestore.Has(key) {
		if s, err := queuestore.Read(key, func(string, int64, int64, int, string) {}); err == nil {
			st = s
			defer st.Close()
		}
	}
	if queues.InferDAPQ(key, st) {
		return queues.DownloaderAwareName
	}
	if names, err := queues.RebuildBucketNames(key, false, st); err == nil && len(names) > 0 {
		return queues.PriorityName
	}
	if data, err := os.ReadFile(filepath.Join(key, jobdir.BucketJournalFile)); err == nil {
		if bs, err := jobdir.DecodeBuckets(data); err == nil && len(bs.Live) > 0 {
			return queues.PriorityName
		}
	}
	return ""
}

// fileBytes returns the bytes of the file, or of the files in the
// directory, at path.
func fileBytes(path string) int64 {
	var n int64
	_ = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
