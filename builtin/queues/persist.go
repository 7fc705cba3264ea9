package queues

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/builtin/queues/queuestore"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// Persistent priority queues (PriorityQueueConfig.Job set) keep a bucket
// journal (jobdir.BucketJournal) at Key/buckets.journal. A bucket's name in
// the journal is its key suffix ("0", "-3", "2s"); in the downloader-aware
// queue, followed by "/" and the download slot ("0/example.com"), whose
// directory is PathSafe(slot).
//
// Ordering, with the scheduler's in-flight journal (package jobdir):
//   - a bucket is recorded before its queue can write anything, so queue
//     data is never on disk in a bucket the journal does not know;
//   - a drained bucket is recorded as removed, and its files deleted, only by
//     Flush, which the scheduler calls after it has recorded the requests
//     popped from it as in flight: a pop never becomes durable (the files
//     gone) before the request is recorded.

// WalkPending calls fn with the record of every pending request this
// queue keeps in the job directory: from the queue store, or from each
// bucket's files read as a resume reads them. errors.ErrUnsupported when
// the queue is in memory or its buckets are queues that have no files.
func (pq *ScrapyPriorityQueue) WalkPending(fn func(record []byte) error) error {
	if pq.disk == nil {
		return errors.ErrUnsupported
	}
	if pq.disk.store != nil {
		if !pq.disk.owner {
			return errors.ErrUnsupported
		}
		return pq.disk.store.EachRecord(fn)
	}
	return pq.walkBucketFiles(fn)
}

// walkBucketFiles is WalkPending for buckets kept as files.
func (pq *ScrapyPriorityQueue) walkBucketFiles(fn func(record []byte) error) error {
	var errs []error
	for _, m := range []map[int]*bucket{pq.reg, pq.start} {
		for _, b := range m {
			f, ok := b.q.(interface{ Path() string })
			if !ok {
				return errors.ErrUnsupported
			}
			var fnErr error
			_, err := filequeue.Verify(f.Path(), func(r filequeue.Record) error {
				fnErr = fn(r.Payload)
				return fnErr
			})
			if fnErr != nil {
				return fnErr
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// WalkPending is ScrapyPriorityQueue.WalkPending over every slot.
func (q *DownloaderAwarePriorityQueue) WalkPending(fn func(record []byte) error) error {
	if q.disk == nil {
		return errors.ErrUnsupported
	}
	if q.disk.store != nil {
		return q.disk.store.EachRecord(fn)
	}
	var errs []error
	for _, slots := range []map[string]*ScrapyPriorityQueue{q.slots, q.draining} {
		for _, pq := range slots {
			if err := pq.walkBucketFiles(fn); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// pqDisk is the persistent side of a ScrapyPriorityQueue.
type pqDisk struct {
	journal *jobdir.BucketJournal
	buckets framework.QueueStore // where the built-in disk queues keep the buckets, shared with the other slots
	store   *queuestore.Store    // buckets, when the job keeps them in a queue store; nil for a job whose buckets are files
	owner   bool                 // the queue owns the journal and the store (false inside a downloader-aware queue)
	slot    string               // inside a downloader-aware queue: the slot named in bucket names
	dirty   map[*bucket]struct{}
	drained []*bucket // emptied buckets to close (and delete) at the next Flush
	// removed are the directories whose entries drained buckets' files
	// left, not yet fsynced; shared with the other slots of a
	// downloader-aware queue.
	removed *removedDirs
}

// removedDirs are directories from which a drained bucket's files (or an
// emptied slot's directory) were removed, and whose removal is not yet
// durable: a power cut would bring those files back, with requests already
// handed out. That is harmless while the bucket journal records the bucket
// as removed (a resume deletes them again), so they are fsynced only before
// the journal could stop saying so: before it records a creation (of that
// bucket, bringing its old files back to life, or any other) and before it
// is compacted (which forgets the removals).
type removedDirs struct{ dirs map[string]struct{} }

// note records that entries of dir were removed.
func (r *removedDirs) note(dir string) {
	if r.dirs == nil {
		r.dirs = map[string]struct{}{}
	}
	r.dirs[filepath.Clean(dir)] = struct{}{}
}

// sync fsyncs every noted directory; one removed since is replaced by its
// parent, whose entry for it is what must be durable.
func (r *removedDirs) sync() error {
	for dir := range r.dirs {
		target := dir
		for {
			if _, err := os.Stat(target); err == nil {
				break
			}
			parent := filepath.Dir(target)
			if parent == target {
				break
			}
			target = parent
		}
		if err := jobdir.SyncDir(target); err != nil {
			return fmt.Errorf("queues: fsync %s after removing drained buckets: %w", target, err)
		}
		delete(r.dirs, dir)
	}
	return nil
}

// addBucket records the creation of bucket name in the journal, once the
// removals of drained buckets' files are durable.
func (d *pqDisk) addBucket(name string) error {
	if err := d.removed.sync(); err != nil {
		return err
	}
	return d.journal.Add(name)
}

// compactJournal compacts the journal when it has grown large, once the
// removals it would forget are durable.
func compactJournal(j *jobdir.BucketJournal, removed *removedDirs) error {
	if len(removed.dirs) > 0 && j.CompactDue() {
		if err := removed.sync(); err != nil {
			return err
		}
	}
	return j.MaybeCompact()
}

// queueConfig is what the downstream queue of the bucket with key is built
// from: the job directory and, persistent, where the job keeps its buckets
// (its queue store, or its per-file queues).
func (pq *ScrapyPriorityQueue) queueConfig(key string) framework.QueueConfig {
	cfg := framework.QueueConfig{Key: key, Job: pq.cfg.Job}
	if pq.disk != nil {
		cfg.Store = pq.disk.buckets
	}
	return cfg
}

// name returns b's name in the bucket journal.
func (d *pqDisk) name(b *bucket) string {
	n := bucketSuffix(b.prio, b.isStart)
	if !d.owner {
		n += "/" + d.slot
	}
	return n
}

// Bucket is a persistent priority queue's bucket, as its bucket journal
// names it.
type Bucket struct {
	// Priority is the requests' priority (Request.Priority).
	Priority int
	// Start is true for a bucket of start requests.
	Start bool
	// Slot is the download slot (downloader-aware queue), or "".
	Slot string
	// Path is the downstream queue's key: a file (LIFO) or a directory (FIFO)
	// for the built-in disk queues.
	Path string
}

// ParseBucket returns the bucket a journal name designates in the
// persistent priority queue whose key is key: a name with a slot
// ("0/example.com") belongs to the downloader-aware queue.
func ParseBucket(key, name string) (Bucket, error) {
	_, _, hasSlot := strings.Cut(name, "/")
	p, isStart, slot, err := parseBucketName(name, hasSlot)
	if err != nil {
		return Bucket{}, err
	}
	b := Bucket{Priority: -p, Start: isStart, Slot: slot, Path: filepath.Join(key, bucketSuffix(p, isStart))}
	if hasSlot {
		b.Path = filepath.Join(key, PathSafe(slot), bucketSuffix(p, isStart))
	}
	return b, nil
}

// parseBucketName splits a journal name into its priority, start flag and
// slot (inDAPQ: the name must have a slot; otherwise it must not).
func parseBucketName(name string, inDAPQ bool) (p int, isStart bool, slot string, err error) {
	suffix, slot, hasSlot := strings.Cut(name, "/")
	if hasSlot != inDAPQ {
		other := "ScrapyPriorityQueue"
		if hasSlot {
			other = "DownloaderAwarePriorityQueue"
		}
		return 0, false, "", fmt.Errorf("%w: bucket %q was written by %s", jobdir.ErrPriorityQueueMismatch, name, other)
	}
	digits, isStart := strings.CutSuffix(suffix, "s")
	p, perr := strconv.Atoi(digits)
	if perr != nil || bucketSuffix(p, isStart) != suffix {
		return 0, false, "", fmt.Errorf("%w: bad bucket name %q", jobdir.ErrCorruptJournal, name)
	}
	return p, isStart, slot, nil
}

// mkdirDurable creates dir (mkdir -p) and, when it was missing, fsyncs its
// parent: a bucket's files are fsynced into it, and a power cut must not
// take the directory, and so them, away.
func mkdirDurable(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return jobdir.SyncDir(filepath.Dir(filepath.Clean(dir)))
}

// openBucketJournal opens the bucket journal of a persistent priority queue
// at key, with the job's fsync policy; cleanup deletes the files of a
// bucket the journal says was drained. It opens where the buckets live too:
// the queue store, or, when the job keeps its buckets as files
// (filesLayout), the per-file queues' store, which owns their pool and
// delivery identifiers.
//
// The data is the truth, the journal only names buckets: every bucket the
// data holds that the journal neither lists nor removed (a journal lost,
// cut, damaged, or another file in its place) is added back
// (UnlistedBuckets) and logged at warning. A file that is no bucket journal
// is kept aside in the job's damaged-<UTC>/ directory first.
func openBucketJournal(c *framework.Crawler, job *framework.JobConfig, key string, dapq bool, cleanup func(name string) error) (*jobdir.BucketJournal, []string, framework.QueueStore, error) {
	if err := mkdirDurable(key); err != nil {
		return nil, nil, nil, fmt.Errorf("queues: %w", err)
	}
	path := filepath.Join(key, jobdir.BucketJournalFile)
	logger := c.Logger.With().Str("component", "priority queue").Logger()
	prior, err := readBucketJournal(path, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	// A removed bucket whose files hold records above its removal's mark
	// was created again after it (a cut journal lost the creation): its
	// files are kept, and added back below as a bucket the data holds.
	var recreated []string
	if !queuestore.Has(key) {
		recreated = RecreatedBuckets(key, nil, prior)
	}
	j, live, err := jobdir.OpenBuckets(path, job.Fsync, logger, func(name string) error {
		if slices.Contains(recreated, name) {
			return nil
		}
		return cleanup(name)
	})
	if err != nil {
		return nil, nil, nil, err
	}
	hasBuckets := len(live) > 0
	if !hasBuckets && !queuestore.Has(key) {
		// A job whose buckets are files and whose journal lists none.
		rels, _ := bucketFiles(key, dapq)
		hasBuckets = len(rels) > 0
	}
	cfg := disk.ConfigFromJob(job, c)
	var buckets framework.QueueStore
	if filesLayout(job, key, hasBuckets) {
		var files *filequeue.Store
		files, err = filequeue.NewStore(cfg, nil)
		buckets = files
	} else {
		var st *queuestore.Store
		st, err = queuestore.Open(key, cfg)
		buckets = st
	}
	if err != nil {
		return nil, nil, nil, abandon(j, nil, err)
	}
	if m, ok := buckets.(interface{ LastID() uint64 }); ok {
		j.SetMark(m.LastID)
	}
	if st := logStore(buckets); st != nil {
		recreated = RecreatedBuckets(key, st, prior)
	}
	if len(recreated) > 0 {
		logger.Warn().Str("file", path).Strs("buckets", recreated).
			Msg("The bucket journal says these buckets were drained, but their data holds requests pushed after that (the journal lost their creation, cut or damaged): kept")
	}
	removed := slices.DeleteFunc(slices.Clone(prior.Removed), func(name string) bool { return slices.Contains(recreated, name) })
	extra, err := addUnlisted(j, key, dapq, logStore(buckets), live, removed, logger)
	if err != nil {
		return nil, nil, nil, abandon(j, logStore(buckets), err)
	}
	return j, append(live, extra...), buckets, nil
}

// readBucketJournal decodes the bucket journal at path for what it says was
// removed. A file that is not a bucket journal (a whole record of a type it
// never writes: another file in its place) is moved aside into the job's
// damaged-<UTC>/ directory and logged at warning: the journal is then
// rebuilt from the data. A missing file says nothing.
func readBucketJournal(path string, logger zerolog.Logger) (jobdir.BucketState, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return jobdir.BucketState{}, nil
	}
	if err != nil {
		return jobdir.BucketState{}, fmt.Errorf("queues: %w", err)
	}
	bs, err := jobdir.DecodeBuckets(data)
	if err == nil {
		return bs, nil
	}
	if !errors.Is(err, jobdir.ErrCorruptJournal) {
		return jobdir.BucketState{}, fmt.Errorf("queues: %s: %w", path, err)
	}
	dst, merr := jobdir.MoveAside(filepath.Dir(filepath.Dir(path)), path, false)
	if merr != nil {
		return jobdir.BucketState{}, fmt.Errorf("queues: %s: %w (and it cannot be moved aside: %w)", path, err, merr)
	}
	logger.Warn().Str("file", path).Str("kept_in", dst).Err(err).
		Msg("The bucket journal is not one (damaged, or another file in its place): moved aside, rebuilt from the buckets the queue's data holds")
	return jobdir.BucketState{}, nil
}

// addUnlisted adds to the journal j the buckets the data at key holds that
// it neither lists (live) nor removed, and returns them. A job's first open
// finds none and nothing is logged; otherwise the rebuild is logged at
// warning, and each bucket whose name cannot be told too (it stays where it
// is, not resumed).
func addUnlisted(j *jobdir.BucketJournal, key string, dapq bool, st *queuestore.Store, live, removed []string, logger zerolog.Logger) ([]string, error) {
	names, skipped := UnlistedBuckets(key, dapq, st, live, removed)
	for _, err := range skipped {
		logger.Warn().Err(err).Msg("A bucket of the queue's data cannot be named: left where it is, not resumed")
	}
	for _, name := range names {
		if err := j.Add(name); err != nil {
			return nil, err
		}
	}
	if len(names) > 0 {
		logger.Warn().Str("file", filepath.Join(key, jobdir.BucketJournalFile)).Strs("buckets", names).
			Msg("The bucket journal did not list buckets the queue's data holds (lost, cut or damaged): added back")
	}
	return names, nil
}

// logStore returns buckets when it is a queue store, nil otherwise.
func logStore(buckets framework.QueueStore) *queuestore.Store {
	st, _ := buckets.(*queuestore.Store)
	return st
}

// filesLayout reports whether the persistent priority queue at key keeps its
// buckets as files rather than in a store: a job that has a store keeps it;
// one whose journal lists buckets (hasBuckets) and has no store was started
// with files (JOBDIR_QUEUE_LAYOUT=files, or format 1); a new job follows
// JOBDIR_QUEUE_LAYOUT.
func filesLayout(job *framework.JobConfig, key string, hasBuckets bool) bool {
	if queuestore.Has(key) {
		return false
	}
	return hasBuckets || job.QueueLayout == framework.LayoutFiles
}

// removeFiles deletes what a closed, empty downstream queue may have left
// at key (its Close may have deleted them already), noting the directory
// whose entries changed; a bucket of the store has no files of its own.
func (d *pqDisk) removeFiles(q framework.Queue, key string) error {
	if _, ok := q.(*queuestore.Queue); ok {
		return nil
	}
	d.removed.note(filepath.Dir(key))
	return os.RemoveAll(key)
}

// removeDurably deletes path, when it exists, and fsyncs its directory: a
// resume deletes what drained buckets left before it compacts the journal
// that says they were drained.
func removeDurably(path string) error {
	if _, err := os.Lstat(path); err != nil {
		return nil
	}
	if err := os.RemoveAll(path); err != nil {
		return err
	}
	return jobdir.SyncDir(filepath.Dir(path))
}

// abandon closes what a failed resume opened and returns err.
func abandon(j *jobdir.BucketJournal, st *queuestore.Store, err error) error {
	j.Close()
	if st != nil {
		st.Close()
	}
	return err
}

// claimed ends a resume: the store drops the buckets no live journal entry
// claimed (drained ones whose drop a crash interrupted).
func claimed(st *queuestore.Store, c *framework.Crawler) {
	if st == nil {
		return
	}
	if gone := st.DropUnclaimed(); len(gone) > 0 {
		c.Logger.Info().Strs("buckets", gone).Msg("Dropped drained buckets left in the queue store")
	}
}

// openJournal makes a standalone queue persistent: it opens the bucket
// journal and restores the buckets it lists.
func (pq *ScrapyPriorityQueue) openJournal() error {
	j, live, buckets, err := openBucketJournal(pq.c, pq.cfg.Job, pq.cfg.Key, false, func(name string) error {
		p, isStart, _, err := parseBucketName(name, false)
		if err != nil {
			return err
		}
		return removeDurably(filepath.Join(pq.cfg.Key, bucketSuffix(p, isStart)))
	})
	if err != nil {
		return err
	}
	st := logStore(buckets)
	pq.disk = &pqDisk{journal: j, buckets: buckets, store: st, owner: true, dirty: map[*bucket]struct{}{}, removed: &removedDirs{}}
	fail := func(err error) error { return abandon(j, st, err) }
	var bs []restoring
	for _, name := range live {
		p, isStart, _, err := parseBucketName(name, false)
		var r restoring
		if err == nil {
			r, err = pq.opening(p, isStart)
		}
		if err != nil {
			return fail(fmt.Errorf("queues: resume %s: %w", pq.cfg.Key, err))
		}
		bs = append(bs, r)
	}
	loadLens(bs)
	for _, r := range bs {
		if err := r.pq.restored(r); err != nil {
			return fail(fmt.Errorf("queues: resume %s: %w", pq.cfg.Key, err))
		}
	}
	claimed(st, pq.c)
	if err := j.Flush(false); err != nil {
		return fail(err)
	}
	return nil
}

// restoring is a bucket being restored: its queue is built, its length
// read (by loadLens, for many buckets at once), then it is kept or dropped.
type restoring struct {
	pq  *ScrapyPriorityQueue
	b   *bucket
	key string
	n   int
}

// opening builds the queue of an existing bucket, without reading it.
func (pq *ScrapyPriorityQueue) opening(p int, isStart bool) (restoring, error) {
	key := pq.cfg.Key + "/" + bucketSuffix(p, isStart)
	factory := pq.cfg.Downstream
	if isStart {
		if pq.cfg.Start == nil {
			return restoring{}, fmt.Errorf("bucket %s holds start requests, but there is no start queue (SCHEDULER_START_DISK_QUEUE is null); resume with the settings the job was started with", key)
		}
		factory = pq.cfg.Start
	}
	q, err := factory(pq.ctx, pq.c, pq.queueConfig(key))
	if err != nil {
		return restoring{}, fmt.Errorf("open bucket %s: %w", key, err)
	}
	return restoring{pq: pq, b: &bucket{q: q, prio: p, isStart: isStart}, key: key}, nil
}

// restored keeps a restored bucket that holds requests and drops an empty
// one. A bucket whose files cannot be read (not a queue's: garbage, another
// file in their place) is dropped too, its files kept aside in the job's
// damaged-<UTC>/ directory, never deleted, and logged at warning; one
// written by a newer frontier refuses the resume.
func (pq *ScrapyPriorityQueue) restored(r restoring) error {
	if r.n > 0 {
		pq.insert(r.b)
		pq.n += r.n
		return nil
	}
	pq.disk.journal.Remove(pq.disk.name(r.b))
	if u, ok := r.b.q.(interface{ LoadError() error }); ok {
		if lerr := u.LoadError(); lerr != nil {
			if errors.Is(lerr, disk.ErrVersion) {
				return errors.Join(lerr, r.b.q.Close())
			}
			err := r.b.q.Close()
			dst, merr := jobdir.MoveAside("", r.key, false)
			if merr != nil {
				return errors.Join(err, fmt.Errorf("queues: bucket %s cannot be read (%w) nor kept aside: %w", r.key, lerr, merr))
			}
			pq.c.Logger.Warn().Err(lerr).Str("bucket", r.key).Str("kept_in", dst).
				Msg("A bucket's files cannot be read (damaged, or another file in their place): its requests are lost (how many is unknown); the files are kept aside")
			return err
		}
	}
	return errors.Join(r.b.q.Close(), pq.disk.removeFiles(r.b.q, r.key))
}

// loadLens reads the lengths of restored buckets' queues, several at a
// time: a disk queue reads its files at its first Len, and a resume of
// thousands of buckets waits on the disk for each.
func loadLens(rs []restoring) {
	if len(rs) > 0 {
		if _, ok := rs[0].b.q.(*queuestore.Queue); ok {
			// The store knows every length already.
			for i := range rs {
				rs[i].n = rs[i].b.q.Len()
			}
			return
		}
	}
	workers := min(len(rs), 4*runtime.GOMAXPROCS(0))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(rs) {
					return
				}
				rs[i].n = rs[i].b.q.Len()
			}
		}()
	}
	wg.Wait()
}

// touch marks b as written to or popped from since the last Flush.
func (pq *ScrapyPriorityQueue) touch(b *bucket) {
	if pq.disk != nil && !b.dirty {
		b.dirty = true
		pq.disk.dirty[b] = struct{}{}
	}
}

// drain records b as emptied; its queue is closed by the next Flush.
func (d *pqDisk) drain(b *bucket) {
	d.journal.Remove(d.name(b))
	delete(d.dirty, b)
	b.dirty = false
	d.drained = append(d.drained, b)
}

// revive takes back the drained bucket of priority p, when there is one not
// yet closed, for a push.
func (d *pqDisk) revive(p int, isStart bool) *bucket {
	for i, b := range d.drained {
		if b.prio == p && b.isStart == isStart {
			d.drained = append(d.drained[:i], d.drained[i+1:]...)
			return b
		}
	}
	return nil
}

// popsDeferred reports whether a flush under job leaves the pops of drained
// buckets (their removals from the bucket journal, their drops from the
// store or deleted files) for a later flush: under JOBDIR_FSYNC=interval,
// between two ticks of the job's shared clock (recordio.FsyncPolicy.Deferred),
// the in-flight journal's records of the deliveries are not yet fsynced, and
// a removal written now could reach the disk before them at a power cut,
// losing the requests. The next tick's flush, or close (final), writes them.
func popsDeferred(job *framework.JobConfig, final bool) bool {
	return !final && job != nil && job.Fsync.Deferred()
}

// flush writes the journal's removals (owner only), flushes the buckets used
// since the last flush, then closes the drained ones; between ticks
// (popsDeferred), the removals and drained buckets wait.
func (d *pqDisk) flush(pq *ScrapyPriorityQueue, final bool) error {
	deferPops := popsDeferred(pq.cfg.Job, final)
	if d.owner && !deferPops {
		if err := d.journal.Flush(false); err != nil {
			return err
		}
	}
	if err := d.flushBuckets(pq, deferPops); err != nil {
		return err
	}
	if d.owner && d.store != nil {
		if err := d.store.Flush(); err != nil {
			return err
		}
	}
	if d.owner && len(d.drained) == 0 && !deferPops {
		return compactJournal(d.journal, d.removed)
	}
	return nil
}

// flushBuckets flushes the dirty buckets and closes the drained ones (unless
// deferPops). A drained bucket whose files cannot be deleted stays drained
// (and the journal uncompacted) until a later flush succeeds.
func (d *pqDisk) flushBuckets(pq *ScrapyPriorityQueue, deferPops bool) error {
	var errs []error
	for b := range d.dirty {
		if _, ok := b.q.(*queuestore.Queue); ok {
			delete(d.dirty, b) // the store's own flush writes every bucket at once
			b.dirty = false
			continue
		}
		if f, ok := b.q.(framework.Flusher); ok {
			if err := f.Flush(); err != nil {
				errs = append(errs, err)
				continue
			}
			if deferPops {
				continue // flushed again at the tick, which commits its pops
			}
		}
		delete(d.dirty, b)
		b.dirty = false
	}
	if len(errs) > 0 || deferPops {
		return errors.Join(errs...)
	}
	kept := d.drained[:0]
	for _, b := range d.drained {
		key := pq.cfg.Key + "/" + bucketSuffix(b.prio, b.isStart)
		empty := b.q.Len() == 0
		err := b.q.Close()
		if empty {
			// Close deletes an empty disk queue's files; make sure whatever
			// the downstream queue is.
			err = errors.Join(err, d.removeFiles(b.q, key))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("queues: close drained bucket %s: %w", key, err))
			kept = append(kept, b)
		}
	}
	d.drained = kept
	return errors.Join(errs...)
}

// close flushes, records the empty buckets as drained, and closes every
// bucket and (owner) the journal.
func (d *pqDisk) close(pq *ScrapyPriorityQueue) error {
	err := d.flush(pq, true)
	for _, m := range []map[int]*bucket{pq.reg, pq.start} {
		for _, b := range m {
			// A bucket whose queue keeps requests in flight (an Acker)
			// still holds them: it stays listed, so that they come back.
			if b.q.Len() == 0 && b.inflight == 0 {
				d.journal.Remove(d.name(b))
			}
		}
	}
	err = errors.Join(err, pq.closeBuckets())
	if d.owner {
		if d.store != nil {
			err = errors.Join(err, d.store.Close())
		}
		err = errors.Join(err, d.journal.Flush(true), d.journal.Close())
	}
	return err
}

// dapqDisk is the persistent side of a DownloaderAwarePriorityQueue: one
// bucket journal for all its slots.
type dapqDisk struct {
	journal *jobdir.BucketJournal
	buckets framework.QueueStore // where the slots' buckets live
	store   *queuestore.Store    // buckets, when a queue store; nil for a job whose buckets are files
	// dirty are slot queues used since the last Flush, or holding drained
	// buckets not yet closed.
	dirty map[*ScrapyPriorityQueue]struct{}
	// dropped are emptied slots whose buckets are closed, and directory
	// removed, at the next Flush.
	dropped map[string]*ScrapyPriorityQueue
	removed *removedDirs // shared with the slots' pqDisk
}

// touch marks a slot queue as used since the last Flush.
func (q *DownloaderAwarePriorityQueue) touch(pq *ScrapyPriorityQueue) {
	if q.disk != nil && !pq.touched {
		pq.touched = true
		q.disk.dirty[pq] = struct{}{}
	}
}

func (q *DownloaderAwarePriorityQueue) slotDir(slot string) string {
	return filepath.Join(q.cfg.Key, PathSafe(slot))
}

// openJournal makes the queue persistent: it opens the bucket journal and
// restores the slots and buckets it lists.
func (q *DownloaderAwarePriorityQueue) openJournal() error {
	j, live, buckets, err := openBucketJournal(q.c, q.cfg.Job, q.cfg.Key, true, func(name string) error {
		p, isStart, slot, err := parseBucketName(name, true)
		if err != nil {
			return err
		}
		err = removeDurably(filepath.Join(q.slotDir(slot), bucketSuffix(p, isStart)))
		if os.Remove(q.slotDir(slot)) == nil { // only when empty: other buckets may live there
			err = errors.Join(err, jobdir.SyncDir(q.cfg.Key))
		}
		return err
	})
	if err != nil {
		return err
	}
	st := logStore(buckets)
	d := &dapqDisk{journal: j, buckets: buckets, store: st, dirty: map[*ScrapyPriorityQueue]struct{}{}, dropped: map[string]*ScrapyPriorityQueue{}, removed: &removedDirs{}}
	q.disk = d
	fail := func(err error) error { return abandon(j, st, err) }
	bySlot := map[string]*ScrapyPriorityQueue{}
	var order []string
	var bs []restoring
	for _, name := range live {
		p, isStart, slot, err := parseBucketName(name, true)
		if err != nil {
			return fail(fmt.Errorf("queues: resume %s: %w", q.cfg.Key, err))
		}
		pq, ok := bySlot[slot]
		if !ok {
			if pq, err = d.resumeSlot(q, slot); err != nil {
				return fail(err)
			}
			bySlot[slot] = pq
			order = append(order, slot)
		}
		r, err := pq.opening(p, isStart)
		if err != nil {
			return fail(fmt.Errorf("queues: resume %s: %w", q.cfg.Key, err))
		}
		bs = append(bs, r)
	}
	loadLens(bs)
	for _, r := range bs {
		if err := r.pq.restored(r); err != nil {
			return fail(fmt.Errorf("queues: resume %s: %w", q.cfg.Key, err))
		}
	}
	for _, slot := range order {
		pq := bySlot[slot]
		if pq.Len() == 0 {
			if os.Remove(q.slotDir(slot)) == nil {
				d.removed.note(q.slotDir(slot))
			}
			continue
		}
		q.slots[slot] = pq
		q.n += pq.Len()
		if q.view == nil {
			q.addQueued(slot)
		}
	}
	claimed(st, q.c)
	if err := j.Flush(false); err != nil {
		return fail(err)
	}
	return nil
}

// openSlot returns the queue of a new slot, or takes back the emptied one
// not yet closed.
func (d *dapqDisk) openSlot(q *DownloaderAwarePriorityQueue, slot string) (*ScrapyPriorityQueue, error) {
	if pq, ok := d.dropped[slot]; ok {
		delete(d.dropped, slot)
		return pq, nil
	}
	// Without a store, the slot's buckets are files or directories inside
	// its directory.
	if d.store == nil {
		if err := mkdirDurable(q.slotDir(slot)); err != nil {
			return nil, fmt.Errorf("queues: %w", err)
		}
	}
	return d.resumeSlot(q, slot)
}

// resumeSlot returns the queue of a slot whose directory exists.
func (d *dapqDisk) resumeSlot(q *DownloaderAwarePriorityQueue, slot string) (*ScrapyPriorityQueue, error) {
	cfg := q.cfg
	cfg.Key = q.slotDir(slot)
	pq, err := emptySPQ(q.ctx, q.c, cfg)
	if err != nil {
		return nil, err
	}
	pq.disk = &pqDisk{journal: d.journal, buckets: d.buckets, store: d.store, slot: slot, dirty: map[*bucket]struct{}{}, removed: d.removed}
	return pq, nil
}

func (d *dapqDisk) dropSlot(slot string, pq *ScrapyPriorityQueue) {
	delete(d.dirty, pq)
	pq.touched = false
	d.dropped[slot] = pq
}

// flush writes the journal's removals, flushes the slot queues used since
// the last flush, closes drained buckets and removes emptied slots'
// directories; the journal is compacted once nothing drained is left.
// Between ticks (popsDeferred), the removals, drained buckets and emptied
// slots wait.
func (d *dapqDisk) flush(q *DownloaderAwarePriorityQueue, final bool) error {
	deferPops := popsDeferred(q.cfg.Job, final)
	if !deferPops {
		if err := d.journal.Flush(false); err != nil {
			return err
		}
	}
	var errs []error
	for pq := range d.dirty {
		err := pq.disk.flushBuckets(pq, deferPops)
		errs = append(errs, err)
		if err == nil && len(pq.disk.drained) == 0 && len(pq.disk.dirty) == 0 {
			delete(d.dirty, pq)
			pq.touched = false
		}
	}
	for slot, pq := range d.dropped {
		if deferPops {
			errs = append(errs, pq.disk.flushBuckets(pq, true))
			continue
		}
		err := pq.disk.flushBuckets(pq, false)
		errs = append(errs, err)
		if err == nil && len(pq.disk.drained) == 0 {
			delete(d.dropped, slot)
			// An emptied slot leaves an empty directory behind (Scrapy
			// #5275); remove it, ignoring failure as Scrapy does.
			if os.Remove(q.slotDir(slot)) == nil {
				d.removed.note(q.slotDir(slot))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if d.store != nil {
		if err := d.store.Flush(); err != nil {
			return err
		}
	}
	if len(d.dirty) == 0 && len(d.dropped) == 0 && !deferPops {
		return compactJournal(d.journal, d.removed)
	}
	return nil
}

// close flushes, records empty buckets as drained, closes every slot queue
// and the journal.
func (d *dapqDisk) close(q *DownloaderAwarePriorityQueue) error {
	err := d.flush(q, true)
	err = errors.Join(err, q.closeSlots())
	for slot, pq := range d.dropped {
		err = errors.Join(err, pq.Close())
		_ = os.Remove(q.slotDir(slot))
		delete(d.dropped, slot)
	}
	if d.store != nil {
		err = errors.Join(err, d.store.Close())
	}
	return errors.Join(err, d.journal.Flush(true), d.journal.Close())
}
