package jobtools

import (
	"bytes"
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
	"github.com/frontier-go/frontier/engine/feed"
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
	// KindCleanup is something a resume tidies, losing nothing: a stale
	// lock taken over, a drained bucket's files deleted.
	KindCleanup = "cleanup"
)

// Lost reports whether what f describes loses data a resume cannot get
// back (requests, fingerprints, committed items) or refuses the job. A torn
// tail (writes a crash interrupted, never acknowledged), a rebuilt index
// and a cleanup lose nothing.
func (f Finding) Lost() bool {
	if f.Fatal || f.DropRecords > 0 {
		return true
	}
	switch f.Kind {
	case KindTorn, KindRebuilt, KindCleanup:
		return false
	}
	return true
}

// Verdicts (Verification.Verdict), and the exit status jobdir verify gives
// each.
const (
	// VerdictOK: a resume takes everything (exit 0).
	VerdictOK = "ok"
	// VerdictLossless: a resume loses nothing, but cuts torn tails,
	// rebuilds indexes or tidies files (exit 3).
	VerdictLossless = "lossless"
	// VerdictLoss: a resume would lose requests, fingerprints or committed
	// items (exit 1).
	VerdictLoss = "loss"
	// VerdictRefused: a resume would refuse the job (exit 1).
	VerdictRefused = "refused"
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
	// Verdict sums the findings up: VerdictOK, VerdictLossless,
	// VerdictLoss or VerdictRefused.
	Verdict string `json:"verdict"`
}

// Loss reports whether a finding loses data or refuses the job
// ([Finding.Lost]).
func (v *Verification) Loss() bool {
	for _, f := range v.Findings {
		if f.Lost() {
			return true
		}
	}
	return false
}

func (v *Verification) verdict() string {
	switch {
	case v.Fatal:
		return VerdictRefused
	case v.Loss():
		return VerdictLoss
	case !v.OK():
		return VerdictLossless
	}
	return VerdictOK
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
	c.queue()
	c.fingerprints()
	c.bloom()
	c.feeds()
	c.Verdict = c.verdict()
	return c.Verification, nil
}

// verifier is one run of Verify.
type verifier struct {
	*Verification
	progress func(records, total int64)
	total    int64 // pending requests in the buckets
	done     int64 // their records read so far
	inflight int   // requests in flight in the in-flight journal
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
			v.add(Finding{File: path(jobdir.LockFile), Offset: -1, Kind: KindCleanup, What: err.Error() + " (a resume takes it over)"})
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
	v.inflight = len(ifs.InFlight)
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

// fingerprints checks the duplicate filter's file, or Scrapy's. It runs
// after the queue and the in-flight journal, whose request counts tell a
// fingerprint file emptied by damage from a new job's.
func (v *verifier) fingerprints() {
	path, exists := v.path, v.exists
	file := path(jobdir.FingerprintsFile)
	switch {
	case exists(jobdir.FingerprintsFile):
		v.Files++
		v.seenFile(file, "")
	case exists(jobdir.ScrapySeenFile):
		v.scrapySeen()
	case exists(jobdir.ManifestFile) && !exists(dupefilters.BloomFile) && !exists(dupefilters.BloomLogFile):
		// RFPDupeFilter, the default, writes the file at the job's first
		// open; a job run with no persistent filter has none either.
		v.add(Finding{File: file, Offset: -1, Kind: KindMissing, What: fmt.Sprintf(
			"missing: every fingerprint of the job is lost (how many is unknown; %d requests are pending or in flight), so requests seen before may be crawled again; a resume starts an empty file (nothing is lost if the job ran with no persistent dupefilter)",
			v.total+int64(v.inflight))})
	}
}

// seenFile checks a file in the fingerprint file's format (the RFP
// dupefilter's, or the Bloom filter's log, named by what when not "").
func (v *verifier) seenFile(file, what string) {
	rep, err := dupefilters.ReadSeenFile(file)
	v.Records += rep.Frames
	requests := v.total + int64(v.inflight)
	switch {
	case dupefilters.IsForeignSeenFile(err):
		v.add(Finding{File: file, Offset: 0, DropBytes: rep.Bytes, Kind: KindCorrupt, What: fmt.Sprintf(
			"not a fingerprint file (garbage, or another file copied over it): a resume keeps it aside under %s<UTC>/ and starts with no fingerprints, so every fingerprint%s is lost and requests seen before may be crawled again (%v)",
			jobdir.DamagedDirPrefix, what, err)})
	case err != nil:
		v.add(Finding{File: file, Offset: -1, Fatal: true, What: err.Error()})
	case rep.Bytes < 8 && what == "":
		// Cut inside its magic: a new job's file, or a whole one cut.
		if requests > 0 || rep.Bytes > 0 {
			v.add(Finding{File: file, Offset: 0, DropBytes: rep.Bytes, Kind: KindMissing, What: fmt.Sprintf(
				"cut inside its header: it holds no fingerprint while the job holds %d requests; every fingerprint of the job is lost (how many is unknown), so requests seen before may be crawled again", requests)})
		}
	case rep.Dropped > 0 && rep.TornTail:
		v.add(Finding{File: file, Offset: rep.DroppedAt, DropBytes: rep.Dropped, Kind: KindTorn,
			What: "torn tail (writes a crash interrupted; their requests may be crawled twice)"})
	case rep.Dropped > 0:
		v.add(Finding{File: file, Offset: rep.DroppedAt, DropBytes: rep.Dropped, Kind: KindCorrupt,
			What: fmt.Sprintf("corrupt frames skipped, the frames after them kept: the fingerprints they held (about %d) are lost, their requests may be crawled twice", rep.Dropped/20)})
	case rep.Fingerprints == 0 && requests > 0 && what == "":
		// A request is flushed before its fingerprint, but the first flush
		// of a job writes both: only a cut file holds none.
		v.add(Finding{File: file, Offset: 8, Kind: KindMissing, What: fmt.Sprintf(
			"holds no fingerprint while the job holds %d requests (cut to its header): every fingerprint of the job is lost (how many is unknown), so requests seen before may be crawled again", requests)})
	}
}

// scrapySeen checks Scrapy's requests.seen, which a resume imports.
func (v *verifier) scrapySeen() {
	f, err := os.Open(v.path(jobdir.ScrapySeenFile))
	if err != nil {
		v.add(Finding{File: v.path(jobdir.ScrapySeenFile), Offset: -1, Fatal: true, What: err.Error()})
		return
	}
	defer f.Close()
	v.Files++
	imp, err := dupefilters.CountScrapySeen(f)
	switch {
	case err != nil:
		v.add(Finding{File: v.path(jobdir.ScrapySeenFile), Offset: -1, Fatal: true, What: err.Error()})
	case imp.Invalid > 0 || imp.TornLastLine:
		v.add(Finding{File: v.path(jobdir.ScrapySeenFile), Offset: -1, DropRecords: imp.Invalid,
			What: fmt.Sprintf("Scrapy's file: %d invalid lines (first: line %d), torn last line: %t; an import skips them", imp.Invalid, imp.FirstInvalid, imp.TornLastLine)})
	}
}

// bloom checks the Bloom dupefilter's checkpoint and log.
func (v *verifier) bloom() {
	cp, log := v.path(dupefilters.BloomFile), v.path(dupefilters.BloomLogFile)
	if v.exists(dupefilters.BloomFile) {
		v.Files++
		if _, _, err := dupefilters.ReadBloomCheckpoint(cp); err != nil {
			v.add(Finding{File: cp, Offset: -1, Fatal: true, What: err.Error()})
		}
	}
	if v.exists(dupefilters.BloomLogFile) {
		v.Files++
		v.seenFile(log, " added since the Bloom checkpoint")
	} else if v.exists(dupefilters.BloomFile) {
		v.add(Finding{File: log, Offset: -1, Kind: KindMissing,
			What: "missing: the fingerprints added since the Bloom checkpoint are lost (how many is unknown); a resume starts an empty log"})
	}
}

// feeds checks the feed commit log: what a resume continues from.
func (v *verifier) feeds() {
	file := v.path(feed.LogName)
	if !v.exists(feed.LogName) {
		if m, ok, err := jobdir.ReadManifest(v.Dir); err == nil && ok && m.Feeds {
			v.add(Finding{File: file, Offset: -1, Kind: KindMissing, What: "missing, though the manifest says the job wrote one: which items were committed, and which requests' output is durable, is lost; a resume continues the feeds as a new job's (a feed it overwrites is kept aside first)"})
		}
		return
	}
	v.Files++
	rep, err := feed.ReadLog(file)
	v.Records += rep.Frames
	if err != nil {
		v.add(Finding{File: file, Offset: -1, Fatal: true, What: err.Error()})
		return
	}
	back := "the resume goes back to the last whole record"
	if rep.OK {
		back += fmt.Sprintf(" (%d committed items)", rep.Items)
	} else {
		back = "no whole record is left: a resume starts the feeds as a new job does, its committed item count at 0"
	}
	kept := fmt.Sprintf("; the log, and each feed file the resume cuts back, are kept aside under %s<UTC>/", jobdir.DamagedDirPrefix)
	for _, off := range rep.Corrupt {
		v.add(Finding{File: file, Offset: off, Kind: KindCorrupt, What: "corrupt stretch skipped (damage, not a crash): commit records there are lost; " + back + kept})
	}
	if rep.Torn > 0 {
		f := Finding{File: file, Offset: rep.TornAt, DropBytes: rep.Torn, Kind: KindTorn,
			What: "torn tail: a commit record a crash cut short (never acknowledged); " + back + kept}
		if !rep.TornShort {
			f.Kind = KindCorrupt
			f.What = "damaged record past the last whole one (as long as a record, its checksum fails: damage, not a crash): the items it committed are lost from the count; " + back + kept
		}
		v.add(f)
	}
	if !rep.OK && rep.Torn == 0 && len(rep.Corrupt) == 0 {
		// The log is written whole (a record, atomically) when a crawl
		// opens it: only damage empties it.
		v.add(Finding{File: file, Offset: 0, Kind: KindMissing, What: "empty: the job's commit record is lost; " + back + "; the feed files keep what they hold, but which items were committed, and which requests' output is durable, is lost"})
	}
	for _, fd := range rep.Feeds {
		v.feedFile(fd)
	}
}

// feedFile compares a feed file with what the commit log's last record
// says of it.
func (v *verifier) feedFile(fd feed.LogFeed) {
	f, err := os.Open(fd.Path)
	if err != nil {
		v.add(Finding{File: fd.Path, Offset: -1, Kind: KindMissing, What: fmt.Sprintf(
			"feed file of the job unreadable (%v): its %d committed items are lost", err, fd.Items)})
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return
	}
	switch size := st.Size(); {
	case size < fd.Length:
		v.add(Finding{File: fd.Path, Offset: size, DropBytes: fd.Length - size, Kind: KindMissing, What: fmt.Sprintf(
			"feed file shorter than its committed length %d (%d items committed to it): committed items are missing; a resume continues at the file's end", fd.Length, fd.Items)})
	case size > fd.Length:
		tail := make([]byte, min(size-fd.Length, 64))
		n, _ := f.ReadAt(tail, fd.Length)
		if t := bytes.TrimSpace(tail[:n]); len(t) == 0 || (string(t) == "]" && fd.Format == feed.JSON) {
			return
		}
		v.add(Finding{File: fd.Path, Offset: fd.Length, DropBytes: size - fd.Length, Kind: KindTorn, What: fmt.Sprintf(
			"bytes past the last commit (%d items committed to it): items of requests a crash left unfinished, which a resume cuts and crawls again; if instead commit records were cut off the log's end (which nothing tells from a crash), they are committed items; either way a resume keeps a copy under %s<UTC>/", fd.Items, jobdir.DamagedDirPrefix)})
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
				v.add(Finding{File: b.Path, Offset: -1, Kind: KindCleanup, What: "drained bucket whose files a resume deletes"})
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
	v.storeEmpty(view)
	for _, b := range view.buckets {
		switch {
		case b.stored:
			v.verifyStored(store, view.key, &b)
		case b.kind != "missing":
			v.verifyFile(b.Path)
		}
	}
}

// storeEmpty reports a job whose bucket journal lists live buckets while
// its queue store holds no request at all: the store's segments were
// deleted or cut (the requests they held are lost, how many is unknown),
// or, far less likely, a crash came between the first write of the bucket
// journal and the first write of the store, when nothing was acknowledged.
// Verify cannot tell the two apart, so it does not say OK.
func (v *verifier) storeEmpty(view *queueView) {
	if view.layout() != LayoutStore || len(view.buckets) == 0 {
		return
	}
	for _, b := range view.buckets {
		if b.stored || b.kind != "missing" {
			return
		}
	}
	v.add(Finding{File: view.key, Offset: -1, Kind: KindMissing, What: fmt.Sprintf(
		"the bucket journal lists %d live buckets and the queue store holds none of their requests: segments deleted or cut, their requests lost (how many is unknown), unless a crash came before the store's first write",
		len(view.buckets))})
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
	drained := view.removedRels()
	for _, u := range view.unclaimed {
		if drained[u.Key] {
			v.add(Finding{File: view.key, Offset: -1, Kind: KindCleanup, What: fmt.Sprintf(
				"bucket %s of the queue store, which the bucket journal says was drained (its %d records were all popped: their pops were not durable yet, or their records damaged), is dropped by a resume",
				u.Key, u.Len)})
			continue
		}
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
	case strings.Contains(what, "rebuilt"), strings.Contains(what, "under another file's name"):
		// An index rebuilt, or a file of the store found under another's
		// name, which a resume moves back: nothing lost.
		return KindRebuilt
	case strings.Contains(what, "missing"):
		return KindMissing
	case strings.Contains(what, "whose records were all popped"):
		// A drained bucket whose drop was lost: nothing of it pending.
		return KindCleanup
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

// InferPriorityQueue returns the built-in priority queue whose data the job
// directory dir holds, or "" when it holds no bucket.
func InferPriorityQueue(dir string) string { return inferPriorityQueue(dir) }
