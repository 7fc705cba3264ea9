package feed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// Options configures [Open].
type Options struct {
	// Job is the crawl's job directory; nil: no job directory, feeds are
	// plain appends or overwrites and there is no commit log.
	Job *framework.JobConfig
	// Fields are the fields exported and their order (FEED_EXPORT_FIELDS);
	// nil: every field of each item, and a CSV header of the first item's
	// fields.
	Fields []string
	// Logger receives the feeds' warnings; its zero value is silent.
	Logger zerolog.Logger
	// CompactBytes is the commit log size past which a Commit rewrites the
	// log to hold its last record only; 0: DefaultCompactBytes.
	CompactBytes int64
	// Stdout is where a feed to "-" goes; nil: os.Stdout.
	Stdout io.Writer
}

// Set is the open feeds of a crawl and, with a job directory, their commit
// log. See the package documentation for the order of calls.
//
// A Set is safe for concurrent use. Add and Commit are meant for one
// goroutine (the engine's committer), since a Commit commits every item
// added before it; Done and Items may be called from any goroutine and do
// not wait for a Commit's writes.
type Set struct {
	mu        sync.Mutex
	feeds     []*feed
	job       *framework.JobConfig
	fields    []string
	log       zerolog.Logger
	logPath   string
	logFile   *os.File
	logSize   int64
	compactAt int64
	seq       uint64
	lastFrame []byte  // the last record written, what a compaction keeps
	others    []entry // entries of feed files of earlier runs not open now, kept as they are
	pendItems int64
	committed int64     // items committed, recorded (over the job's runs)
	unsynced  time.Time // first commit not fsynced yet
	failed    error
	closed    bool

	items atomic.Int64 // committed, for Items

	// synced, when set (by tests), is called with a file's path after each
	// fsync of it.
	synced func(path string)

	// logDamaged says why the commit log's last records may be lost (a
	// torn tail, which damage can look like, or a corrupt stretch); ""
	// when it read whole. Feed bytes a resume would then cut are kept aside.
	logDamaged string

	doneMu   sync.Mutex
	carried  map[uint64]struct{} // done identifiers of the previous run not yet asked for
	retiring []uint64            // asked for since the last record was written
}

// Open opens every feed and, with a job directory, recovers the commit log:
// each feed file the last commit record names is cut back to its committed
// length, and the record's done identifiers are kept for [Set.Done]. A new
// -O feed is truncated; a -o feed continues after what its file holds (a
// JSON file's closing "]" is cut by the first commit or put back by
// Close). Open then writes a commit record of this state, so that a crash
// before the first Commit resumes from it.
//
// Every feed file is opened (its folder created, as Scrapy does) before
// any is changed: a path that cannot be written, a JSON file that -o cannot
// continue, or a CSV file whose header is not Fields is an error naming it
// and nothing is truncated.
func Open(specs []Spec, opts Options) (*Set, error) {
	s := &Set{
		job:       opts.Job,
		fields:    opts.Fields,
		log:       opts.Logger.With().Str("component", "feed").Logger(),
		compactAt: opts.CompactBytes,
		carried:   map[uint64]struct{}{},
	}
	if s.compactAt <= 0 {
		s.compactAt = DefaultCompactBytes
	}
	out := opts.Stdout
	if out == nil {
		out = os.Stdout
	}
	var last *record
	if s.job != nil {
		if err := os.MkdirAll(s.job.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("feed: JOBDIR=%q: %w", s.job.Dir, err)
		}
		s.logPath = filepath.Join(s.job.Dir, LogName)
		removeTemp(s.job.Dir)
		r, err := s.readLog()
		if err != nil {
			return nil, err
		}
		last = r
	}
	if err := s.openFeeds(specs, out, last); err != nil {
		s.closeFiles()
		return nil, err
	}
	if last != nil {
		s.seq, s.committed = last.Seq, last.Items
		for _, id := range last.Done {
			s.carried[id] = struct{}{}
		}
	}
	s.items.Store(s.committed)
	if s.job != nil {
		if err := s.openLog(); err != nil {
			s.closeFiles()
			return nil, err
		}
		if err := s.markManifest(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// markManifest records in the job's manifest, when it has one, that the
// job writes a commit log, so that its loss can be told from a job without
// feeds.
func (s *Set) markManifest() error {
	m, ok, err := jobdir.ReadManifest(s.job.Dir)
	if err != nil || !ok || m.Feeds {
		return nil // a damaged manifest is the job's business, not the feeds'
	}
	m.Feeds = true
	if err := jobdir.WriteManifest(s.job.Dir, m); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	return nil
}

// openLog starts the commit log afresh with a record of the state Open
// left the feeds in, the previous run's done identifiers carried in it.
func (s *Set) openLog() error {
	s.doneMu.Lock()
	r := s.record(s.committed, nil)
	s.doneMu.Unlock()
	b, err := appendFrame(nil, r)
	if err != nil {
		return err
	}
	if err := s.rewriteLog(b); err != nil {
		return err
	}
	s.seq, s.lastFrame = r.Seq, b
	return nil
}

// readLog reads the commit log's last record; nil when there is none.
func (s *Set) readLog() (*record, error) {
	b, err := os.ReadFile(s.logPath)
	if errors.Is(err, os.ErrNotExist) {
		if m, ok, merr := jobdir.ReadManifest(s.job.Dir); merr == nil && ok && m.Feeds {
			s.logDamaged = "missing, though the job wrote one"
			s.log.Error().Str("file", s.logPath).
				Msg("commit log missing, though the job wrote one: which items were committed is lost; the feeds continue as a new job's, what a feed file would lose kept aside")
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("feed: read %s: %w", s.logPath, err)
	}
	sc, err := readLog(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.logPath, err)
	}
	for _, off := range sc.Corrupt {
		s.log.Error().Str("file", s.logPath).Int64("offset", off).
			Msg("commit log damaged: skipped bytes that are not a record, kept the records after them")
		s.logDamaged = fmt.Sprintf("corrupt bytes at offset %d", off)
	}
	if sc.Torn > 0 {
		s.log.Info().Str("file", s.logPath).Int64("offset", sc.TornAt).Int64("bytes", sc.Torn).
			Msg("commit log ends in a record cut short by a crash: dropped it")
		s.logDamaged = fmt.Sprintf("%d bytes at offset %d that are not a whole record", sc.Torn, sc.TornAt)
	}
	if s.logDamaged != "" {
		// The log is rewritten by Open: the damaged one is kept, never lost.
		if dst, err := jobdir.MoveAside(s.job.Dir, s.logPath, true); err == nil {
			s.log.Warn().Str("file", s.logPath).Str("kept_as", dst).Msg("commit log kept aside before it is rewritten")
		} else {
			return nil, fmt.Errorf("feed: %s is damaged (%s) and could not be kept aside before the resume rewrites it: %w", s.logPath, s.logDamaged, err)
		}
	}
	if !sc.ok {
		return nil, nil
	}
	return &sc.Last, nil
}

// openFeeds opens the feed files, then sets each one's state: from the
// last record (cut back to its committed length), or afresh.
func (s *Set) openFeeds(specs []Spec, out io.Writer, last *record) error {
	seen := map[string]string{}
	for _, sp := range specs {
		if !validFormat(sp.Format) || sp.Path == "" {
			return fmt.Errorf("%w: %q: want a path and a format (%s)", ErrSpec, sp.String(), formatList)
		}
		f := &feed{spec: sp, out: out, log: s.log}
		if sp.Path != Stdout {
			abs, err := filepath.Abs(sp.Path)
			if err != nil {
				return fmt.Errorf("%w %s: %w", ErrOpen, sp, err)
			}
			f.abs = abs
		}
		key := f.abs
		if key == "" {
			key = Stdout
		}
		if prev, ok := seen[key]; ok {
			return fmt.Errorf("%w: %s and %s are both %s", ErrDuplicate, prev, sp.Path, key)
		}
		seen[key] = sp.Path
		s.feeds = append(s.feeds, f)
		if f.abs == "" {
			if s.job != nil {
				s.log.Warn().Str("feed", sp.String()).
					Msg("a feed to standard output is not exactly once: after a crash and a resume it can repeat items")
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(f.abs), 0o755); err != nil {
			return fmt.Errorf("%w %s: %w", ErrOpen, sp, err)
		}
		file, err := os.OpenFile(f.abs, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrOpen, sp, err)
		}
		f.f = file
		st, err := file.Stat()
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrOpen, sp, err)
		}
		f.fileSize = st.Size()
	}
	// Plan every feed's state before changing any file.
	type plan struct {
		f   *feed
		run func() error
	}
	plans := make([]plan, 0, len(s.feeds))
	var recorded []entry
	if last != nil {
		recorded = last.Feeds
	}
	used := make([]bool, len(recorded))
	for _, f := range s.feeds {
		if f.f == nil {
			continue
		}
		i := slices.IndexFunc(recorded, func(e entry) bool { return e.Path == f.abs })
		switch {
		case i >= 0:
			used[i] = true
			if recorded[i].Format != f.spec.Format {
				return fmt.Errorf("%w: %s was written as %s by this job; it cannot continue as %s (use another file, or a new JOBDIR)",
					ErrFormatChanged, f.spec.Path, recorded[i].Format, f.spec.Format)
			}
			plans = append(plans, plan{f, s.resumeFeed(f, recorded[i])})
		case f.spec.Overwrite:
			plans = append(plans, plan{f, func() error {
				f.committed = state{header: s.fields}
				if f.fileSize == 0 {
					return nil
				}
				if err := s.keepFeedAside(f, 0); err != nil {
					return err
				}
				f.fileSize, f.dirty = 0, true
				return f.f.Truncate(0)
			}})
		default:
			st, err := appendState(f.f, f.spec.Path, f.spec.Format, f.fileSize, s.fields)
			if err != nil {
				return err
			}
			plans = append(plans, plan{f, func() error { f.committed = st; return nil }})
		}
	}
	for i, e := range recorded {
		if !used[i] {
			s.others = append(s.others, e)
		}
	}
	for _, p := range plans {
		if err := p.run(); err != nil {
			return fmt.Errorf("%w %s: %w", ErrOpen, p.f.spec, err)
		}
	}
	for _, f := range s.feeds {
		f.cur = f.committed
	}
	return nil
}

// resumeFeed returns the step that continues f where the commit record e
// left it: the file cut back to the committed length, or, when the file is
// shorter, continued at its end with a warning.
func (s *Set) resumeFeed(f *feed, e entry) func() error {
	return func() error {
		st := stateOf(e)
		if s.fields != nil && e.HeaderWritten && !slices.Equal(e.Header, s.fields) {
			s.log.Warn().Str("feed", f.spec.Path).Strs("header", e.Header).Strs("fields", s.fields).
				Msg("FEED_EXPORT_FIELDS differs from the header the job wrote: the CSV feed keeps its header")
		}
		switch {
		case f.fileSize > e.Length:
			if err := s.keepFeedAside(f, e.Length); err != nil {
				return err
			}
			s.log.Info().Str("feed", f.spec.Path).Int64("committed", e.Length).Int64("size", f.fileSize).
				Msg("feed resumed at its committed length: cut what was written after the last commit (a JSON array's closing bracket, or items of requests not finished)")
			if err := f.f.Truncate(e.Length); err != nil {
				return err
			}
			f.fileSize, f.dirty = e.Length, true
		case f.fileSize < e.Length:
			s.log.Warn().Str("feed", f.spec.Path).Int64("committed", e.Length).Int64("size", f.fileSize).
				Msg("feed file is shorter than its committed length (changed outside the crawl, or a power cut under JOBDIR_FSYNC=interval or never): items are missing, the feed continues at the file's end")
			st.length = f.fileSize
			if f.fileSize == 0 {
				st.headerWritten, st.json = false, jsonNone
			}
		}
		if f.spec.Format != JSON && st.length > 0 {
			// A file that ends inside a line: cut short, or appended to (-o)
			// when it did not end with a newline.
			last, err := byteAt(f.f, st.length-1)
			if err != nil {
				return err
			}
			st.newline = last != '\n'
		}
		f.committed = st
		return nil
	}
}

// keepFeedAside keeps the bytes of feed f past length, which the resume
// is about to cut, in the job directory's damaged-<UTC>/ as
// <file name>.cut-<length>. They are items written after the last commit
// (a crash), or, when commit records were lost (a damaged log, or one cut
// exactly at a record's end, which nothing can tell from a crash), items
// that were committed. They are not kept in the feed, since their requests
// may be crawled again and write them twice, and not deleted either. A JSON
// array's closing bracket alone is not kept.
func (s *Set) keepFeedAside(f *feed, length int64) error {
	if s.job == nil || f.fileSize <= length {
		return nil
	}
	cut := make([]byte, f.fileSize-length)
	if _, err := f.f.ReadAt(cut, length); err != nil {
		return fmt.Errorf("read the %d bytes past the committed length %d: %w", len(cut), length, err)
	}
	if t := bytes.TrimSpace(cut); len(t) == 0 || (f.spec.Format == JSON && string(t) == "]" && s.logDamaged == "") {
		return nil
	}
	name := fmt.Sprintf("%s.cut-%d", filepath.Base(f.abs), length)
	dst, err := jobdir.KeepBytesAside(s.job.Dir, name, cut)
	if err != nil {
		return fmt.Errorf("the %d bytes past the committed length %d could not be kept aside before they are cut: %w", len(cut), length, err)
	}
	ev := s.log.Info()
	msg := "feed bytes past the last commit (items of requests not finished) are cut; a copy is kept"
	if s.logDamaged != "" {
		ev = s.log.Warn()
		msg = fmt.Sprintf("the commit log is damaged (%s): the feed is cut back to its last intact commit, and the bytes cut may be committed items; a copy is kept", s.logDamaged)
	}
	ev.Str("feed", f.spec.Path).Str("kept_as", dst).Int64("cut_to", length).Int64("size", f.fileSize).Msg(msg)
	return nil
}

// Add encodes item for every feed and buffers it until the next Commit.
// The JSON is encoding/json's (a struct's fields in order, a map's keys
// sorted, no HTML escaping). An item that does not encode, or that is not
// a JSON object when a CSV feed or Fields needs one, is an error wrapping
// ErrItem, and no feed takes it.
func (s *Set) Add(item any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	b, err := encodeJSON(item)
	if err != nil {
		return err
	}
	var fields []field
	if s.fields != nil || slices.ContainsFunc(s.feeds, func(f *feed) bool { return f.spec.Format == CSV }) {
		if fields, err = objectFields(b); err != nil {
			return err
		}
	}
	for _, f := range s.feeds {
		f.add(b, fields, s.fields)
	}
	s.pendItems++
	return nil
}

// usable returns why the Set cannot be used, or nil.
func (s *Set) usable() error {
	switch {
	case s.closed:
		return ErrClosed
	case s.failed != nil:
		return fmt.Errorf("%w: %w", ErrFailed, s.failed)
	}
	return nil
}

// Commit makes the items added since the last Commit part of the feeds,
// together with done, the delivery identifiers of the requests that
// produced them (Request.Delivery). It writes every feed's buffered bytes
// to its file, fsyncs them if the fsync policy says so now, then appends a
// commit record (each feed's committed length, item count and format
// state, and done) to the commit log and fsyncs it under the same
// decision. Without a job directory it only writes the buffered bytes.
//
// When Commit returns nil, the items are in the files and, after a crash,
// stay there (under the policy's guarantee) and Done reports done. An
// error is final: the files are cut back to the last commit, and every
// later call but Close and Done fails with ErrFailed.
func (s *Set) Commit(done []uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	pending := s.pendItems > 0 || slices.ContainsFunc(s.feeds, func(f *feed) bool { return f.pend.Len() > 0 })
	if !pending && len(done) == 0 {
		return nil
	}
	for _, f := range s.feeds {
		if err := f.write(f.pend.Bytes()); err != nil {
			return s.fail(fmt.Errorf("feed: write %s: %w", f.spec.Path, err), false)
		}
		f.cur.length = f.committed.length + int64(f.pend.Len())
	}
	if s.job != nil {
		if err := s.appendRecord(done); err != nil {
			return s.fail(err, true)
		}
	}
	for _, f := range s.feeds {
		f.committed = f.cur
		f.pend.Reset()
	}
	s.committed += s.pendItems
	s.pendItems = 0
	s.items.Store(s.committed)
	if s.job != nil && s.logSize > s.compactAt {
		if err := s.compact(); err != nil {
			s.compactAt = 2 * s.logSize
			s.log.Warn().Err(err).Str("file", s.logPath).Int64("size", s.logSize).
				Msg("commit log compaction failed: the log keeps growing, the next try is at twice its size")
		}
	}
	return nil
}

// appendRecord appends the commit record of the current state to the log,
// fsyncing the feeds, then the log, when the policy says so.
func (s *Set) appendRecord(done []uint64) error {
	now := time.Now()
	if s.unsynced.IsZero() {
		s.unsynced = now
	}
	sync := s.job.Fsync.Due(s.unsynced, now)
	if sync {
		if err := s.syncFeeds(); err != nil {
			return err
		}
	}
	s.doneMu.Lock()
	retiring := len(s.retiring)
	r := s.record(s.committed+s.pendItems, done)
	s.doneMu.Unlock()
	b, err := appendFrame(nil, r)
	if err != nil {
		return err
	}
	if _, err := s.logFile.WriteAt(b, s.logSize); err != nil {
		return fmt.Errorf("feed: write %s at offset %d: %w", s.logPath, s.logSize, err)
	}
	if sync {
		if err := s.syncLog(); err != nil {
			return err
		}
		s.unsynced = time.Time{}
	}
	s.logSize += int64(len(b))
	s.seq, s.lastFrame = r.Seq, b
	s.doneMu.Lock()
	s.retiring = slices.Delete(s.retiring, 0, retiring)
	s.doneMu.Unlock()
	return nil
}

// record returns the next commit record: every feed's current state,
// items, and done with the identifiers carried from the previous run (not
// yet asked for, or asked for since the last record). Call with doneMu held.
func (s *Set) record(items int64, done []uint64) record {
	r := record{Seq: s.seq + 1, Items: items, Feeds: slices.Clone(s.others)}
	for _, f := range s.feeds {
		if f.f != nil {
			r.Feeds = append(r.Feeds, f.entry(f.cur))
		}
	}
	r.Done = append(slices.Clone(done), s.retiring...)
	for id := range s.carried {
		r.Done = append(r.Done, id)
	}
	return r
}

// fail cuts every feed back to its last commit (and, when the record may
// have been written, the log back to its last record), and makes err final.
func (s *Set) fail(err error, logWritten bool) error {
	errs := []error{err}
	if logWritten {
		if terr := s.logFile.Truncate(s.logSize); terr != nil {
			errs = append(errs, fmt.Errorf("feed: cut %s back to offset %d: %w", s.logPath, s.logSize, terr))
		}
	}
	for _, f := range s.feeds {
		if cerr := f.cutBack(); cerr != nil {
			errs = append(errs, fmt.Errorf("feed: cut %s back to its committed length %d: %w", f.spec.Path, f.committed.length, cerr))
		}
	}
	s.pendItems = 0
	s.failed = errors.Join(errs...)
	return s.failed
}

// compact fsyncs the feeds, then replaces the log with its last record.
func (s *Set) compact() error {
	if err := s.syncFeeds(); err != nil {
		return err
	}
	return s.rewriteLog(s.lastFrame)
}

// rewriteLog replaces the commit log with frame, one commit record
// (temporary file, fsync, rename, fsync of the directory), and opens it for
// appending. Open calls it to start from a clean log; Commit when the log
// passes its size.
func (s *Set) rewriteLog(frame []byte) error {
	if err := jobdir.WriteFileAtomic(s.logPath, frame, 0o644); err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	lf, err := os.OpenFile(s.logPath, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("feed: open %s: %w", s.logPath, err)
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
	s.logFile, s.logSize, s.unsynced = lf, int64(len(frame)), time.Time{}
	return nil
}

// Done reports whether the last commit record of the previous run listed
// delivery: the request's items are in the feeds already, so the engine
// finishes it (Scheduler.Finish) without fetching it and without adding
// its items again. A true answer is given once per identifier. Without a
// job directory Done is always false.
func (s *Set) Done(delivery uint64) bool {
	s.doneMu.Lock()
	defer s.doneMu.Unlock()
	if _, ok := s.carried[delivery]; !ok {
		return false
	}
	delete(s.carried, delivery)
	s.retiring = append(s.retiring, delivery)
	return true
}

// ForgetDone drops the identifiers of the previous run's last record that
// Done was not asked about. The engine may call it once every request
// handed out again after the crash has been handed out (the scheduler
// hands them out first); without it they are carried in every record of
// the run, which costs a few bytes each.
func (s *Set) ForgetDone() {
	s.doneMu.Lock()
	defer s.doneMu.Unlock()
	clear(s.carried)
}

// Items returns how many items were committed: with a job directory, over
// all the runs of the job (recorded with each commit), else by this Set.
// An item counts once however many feeds it went to; items added and not
// yet committed do not count.
func (s *Set) Items() int64 { return s.items.Load() }

// Sync fsyncs what the commits since the last fsync wrote, the feeds
// before the log. The engine may call it when the crawl is idle, so that
// the interval policy does not leave the last commit unsynced for long.
func (s *Set) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	return s.syncAll()
}

// syncAll fsyncs every written feed file, then the log.
func (s *Set) syncAll() error {
	if s.job == nil || s.unsynced.IsZero() {
		return nil
	}
	if err := s.syncFeeds(); err != nil {
		return err
	}
	if err := s.syncLog(); err != nil {
		return err
	}
	s.unsynced = time.Time{}
	return nil
}

// syncFeeds fsyncs every feed file written since its last fsync.
func (s *Set) syncFeeds() error {
	for _, f := range s.feeds {
		if !f.dirty || f.f == nil {
			continue
		}
		if err := f.sync(); err != nil {
			return err
		}
		if s.synced != nil {
			s.synced(f.abs)
		}
	}
	return nil
}

// syncLog fsyncs the commit log.
func (s *Set) syncLog() error {
	if err := s.logFile.Sync(); err != nil {
		return fmt.Errorf("feed: fsync %s: %w", s.logPath, err)
	}
	if s.synced != nil {
		s.synced(s.logPath)
	}
	return nil
}

// Close finishes and closes the feed files and the log. It writes the
// JSON array's closing "]" after the committed length (a resume cuts it
// and continues the array) and, with a job directory, fsyncs what the
// commits wrote, whatever the policy. Close does not commit: items added
// since the last Commit are dropped (their requests are not finished, so a
// resume fetches them again) and a warning says how many. Close after
// Close returns nil.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.failed == nil {
		if s.pendItems > 0 {
			s.log.Warn().Int64("items", s.pendItems).Msg("feeds closed with items not committed: dropped (their requests were not finished)")
		}
		for _, f := range s.feeds {
			f.pend.Reset()
			if err := f.write([]byte(f.suffix())); err != nil {
				errs = append(errs, fmt.Errorf("feed: finish %s: %w", f.spec.Path, err))
			}
			if s.job != nil && f.f != nil {
				f.dirty = true
			}
		}
		if s.job != nil {
			s.unsynced = time.Now()
			errs = append(errs, s.syncAll())
		}
	}
	errs = append(errs, s.closeFiles())
	return errors.Join(errs...)
}

// closeFiles closes the feed files and the log.
func (s *Set) closeFiles() error {
	var errs []error
	for _, f := range s.feeds {
		if f.f != nil {
			if err := f.f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("feed: close %s: %w", f.spec.Path, err))
			}
			f.f = nil
		}
	}
	if s.logFile != nil {
		if err := s.logFile.Close(); err != nil {
			errs = append(errs, fmt.Errorf("feed: close %s: %w", s.logPath, err))
		}
		s.logFile = nil
	}
	return errors.Join(errs...)
}
