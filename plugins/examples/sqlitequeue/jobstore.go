package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/frontier-go/frontier/plugins/sdk"
)

// jobStore keeps every bucket of a job's FIFO or LIFO queues in one SQLite
// database, sqlitequeue-fifo.sqlite3 (or -lifo) in the job directory: one
// row per request in a table keyed by the request's id (the rowid), which
// SQLite assigns (AUTOINCREMENT: it grows across the store and is never
// reused; an insert appends without looking the id up first). Rows are in push order,
// whatever their bucket: a round trip's pushes append to the end of the
// table, a few pages whatever the number of buckets they go to, where a
// table clustered by bucket (format 4) had a commit write a page per bucket
// pushed to, which at a million requests over ten thousand buckets was a
// page per request. Which rows a bucket holds, in order, is kept in memory
// (8 bytes per pending request, read back from the table when the store
// opens); a pop reads its rows by id. Each Sync (the writes and the pops of
// a round trip, for every bucket it touches) is one transaction; a killed
// process loses nothing a Sync returned for.
//
// Which rows are in flight is known in memory. What was handed out is
// kept on disk, in the transaction of the pop, so that after a restart
// every row not acknowledged is pending again and those handed out before
// come back marked redelivered: a FIFO bucket, always popped from its
// smallest pending id, keeps a watermark (buckets.popped_upto: every row
// of the bucket up to it was handed out), one update per bucket and pop
// instead of one per row; a LIFO pop marks its rows (popped = 1), and a
// released row is unmarked (popped = -1: not handed out, whatever the
// watermark says). An acknowledged row is logged in the Sync and deleted
// while the store is idle (acklog.go).
type jobStore struct {
	db     *sql.DB
	lifo   bool
	path   string
	stmts  statements
	b      map[string]*storeBucket
	next   int64 // the next entry id
	broken error // a failed Sync left the memory state unknown
	args   []any // scratch for insertMany

	// mu keeps the database to one user at a time: a Sync (the SDK calls
	// the store's methods one at a time) or the deleter of acknowledged
	// entries (acklog.go), which waits on idle while syncing counts a
	// Sync waiting or running.
	mu      sync.Mutex
	idle    *sync.Cond
	syncing atomic.Int32
	closing bool
	wake    chan struct{} // a Sync left rows in the log
	// deleterDone is closed when the deleter returns.
	deleterDone chan struct{}
	ackRows     []ackRow // the log's rows, oldest first
	backlog     int      // ids in the log
	nextSeq     int64    // the next log row's key

	insert     *sql.Stmt // bucket, record
	insertMany *sql.Stmt // insertChunk x (bucket, record)
	newBucket  *sql.Stmt // name -> id
	logAck     *sql.Stmt // seq, [id, ...]
	applyAck   *sql.Stmt // seq: delete the entries it lists
	dropAck    *sql.Stmt // seq
	mark       *sql.Stmt // popped, [id, ...]
	watermark  *sql.Stmt // [[bucket, popped_upto], ...]
	read       *sql.Stmt // [id, ...]: records, lengths, marked positions and flags, count
}

// insertChunk is how many rows one INSERT statement adds: a statement per
// row costs more in database/sql and SQLite's VM than the row itself.
const insertChunk = 32

// storeBucket is a bucket's state in memory.
type storeBucket struct {
	id int64
	// pending holds the ids of the bucket's pending rows, ascending: FIFO
	// pops take the front, LIFO pops the back.
	pending  []int64
	inflight map[int64]struct{}
	// mark is the bucket's watermark on disk (popped_upto); openMark is
	// what it was when the store was opened: rows up to it not marked
	// otherwise were handed out by an earlier run.
	mark, openMark int64
}

var (
	_ sdk.Store       = (*jobStore)(nil)
	_ sdk.BatchPopper = (*jobStore)(nil)
	_ sdk.Syncer      = (*jobStore)(nil)
)

const jobSchema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	popped_upto INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY AUTOINCREMENT, ` + entryColumns + `);
CREATE TABLE IF NOT EXISTS acked (seq INTEGER PRIMARY KEY, ids TEXT NOT NULL);`

// entryColumns are the entries table's columns after its id, in formats 5
// and 6.
const entryColumns = `bucket INTEGER NOT NULL, record BLOB NOT NULL, popped INTEGER NOT NULL DEFAULT 0`

// jobStoreVersion is the version of the job store's schema, in its meta
// table; a file of version 3 (no watermark), 4 (rows clustered by bucket)
// or 5 (ids kept in the meta table, no log of acknowledgements) is
// upgraded in place, a file of another version is refused. A version 5
// program refuses a file of version 6, whose log it would not read.
const jobStoreVersion = "6"

// openJobStore opens or creates the store of a job in the directory key.
func openJobStore(key string, lifo bool, synchronous string) (*jobStore, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	if err := os.MkdirAll(key, 0o755); err != nil {
		return nil, fmt.Errorf("sqlitequeue: %w", err)
	}
	k := kindFifo
	if lifo {
		k = kindLifo
	}
	path := filepath.Join(key, "sqlitequeue-"+k.String()+".sqlite3")
	// Pushes append to the table's end, but pops and acknowledgements
	// touch rows all over it (each bucket is popped at its own pace): the
	// page cache holds 16 MiB (SQLite's default is 2 MiB), which keeps the
	// pages a round trip revisits. A larger one cost more than it saved:
	// the driver's C allocator takes and returns each page of it with a
	// system call, and a 64 MiB cache made a million-request round trip
	// slower by a third, its close by a second. The WAL is checkpointed
	// every 16,384 pages (64 MiB), not every 1,000 (SQLite's default), so
	// that a page written by many Syncs is copied into the database once.
	// A statement that changes many rows keeps a statement journal of the
	// pages it touches (to undo itself alone on an error): in memory
	// (temp_store), not in a temporary file written page by page; it is
	// no crash journal. Reads go through a memory map of the file (up to
	// 1 GiB of address space; the pages are the system's file cache, not
	// the plugin's memory): a large job's table outgrows the page cache,
	// and a read that misses it is then no system call.
	db, err := sql.Open("sqlite", dsn(path, synchronous)+"&_pragma=cache_size(-16384)&_pragma=wal_autocheckpoint(16384)&_pragma=temp_store(memory)&_pragma=mmap_size(1073741824)")
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &jobStore{db: db, lifo: lifo, path: path, b: map[string]*storeBucket{}, nextSeq: 1}
	s.idle = sync.NewCond(&s.mu)
	if err := s.init(k); err != nil {
		s.stmts.close()
		db.Close()
		return nil, fmt.Errorf("sqlitequeue: %s: %w", path, err)
	}
	if startDeleter {
		s.wake, s.deleterDone = make(chan struct{}, 1), make(chan struct{})
		go s.deleteAcked()
	}
	return s, nil
}

// format returns the format in the meta table of a file, "" for a new one.
func format(tx *sql.Tx) (string, error) {
	var have string
	err := tx.QueryRow(`SELECT value FROM meta WHERE key = 'format'`).Scan(&have)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return have, err
}

// upgrade runs stmts in tx when the file is of format from; the last of
// them marks the file with the next format.
func upgrade(tx *sql.Tx, from string, stmts ...string) error {
	if have, err := format(tx); err != nil || have != from {
		return err
	}
	for _, q := range stmts {
		if _, err := tx.Exec(q); err != nil {
			return fmt.Errorf("upgrading from format %s: %w", from, err)
		}
	}
	return nil
}

// copyEntries are the statements that copy the entries table into a new
// one keyed by id, ids given by the store (format 5) or by SQLite (format
// 6, autoincrement): the same rows, ids and marks, in id order.
func copyEntries(autoincrement bool) []string {
	key := "INTEGER PRIMARY KEY"
	if autoincrement {
		key += " AUTOINCREMENT"
	}
	return []string{
		`CREATE TABLE entries_new (id ` + key + `, ` + entryColumns + `)`,
		`INSERT INTO entries_new (id, bucket, record, popped) SELECT id, bucket, record, popped FROM entries ORDER BY id`,
		`DROP TABLE entries`,
		`ALTER TABLE entries_new RENAME TO entries`,
	}
}

// upgradeV3 adds the watermark column to a file of version 3, whose rows
// mean the same in version 4 (popped 0 or 1, no watermark).
func upgradeV3(tx *sql.Tx) error {
	return upgrade(tx, "3",
		`ALTER TABLE buckets ADD COLUMN popped_upto INTEGER NOT NULL DEFAULT 0`,
		`UPDATE meta SET value = '4' WHERE key = 'format'`)
}

// upgradeV4 copies the rows of a file of version 4, clustered by (bucket,
// id), into a table keyed by id: the same rows, the same ids and marks, in
// the order version 5 keeps them. It runs in the transaction that opens
// the store: a crash in the middle leaves the file of version 4.
func upgradeV4(tx *sql.Tx) error {
	return upgrade(tx, "4", append(copyEntries(false),
		`UPDATE meta SET value = '5' WHERE key = 'format'`)...)
}

// upgradeV5 copies the rows of a file of version 5 into a table whose ids
// SQLite gives, the next one where the meta table's next_id said, and
// marks the file as version 6; the log of acknowledgements is empty
// (jobSchema created it). It runs in the transaction that opens the store.
func upgradeV5(tx *sql.Tx) error {
	return upgrade(tx, "5", append(copyEntries(true),
		`DELETE FROM sqlite_sequence WHERE name = 'entries'`,
		`INSERT INTO sqlite_sequence (name, seq) SELECT 'entries', max(CAST(value AS INTEGER) - 1, coalesce((SELECT max(id) FROM entries), 0)) FROM meta WHERE key = 'next_id'`,
		`DELETE FROM meta WHERE key = 'next_id'`,
		`UPDATE meta SET value = '6' WHERE key = 'format'`)...)
}

// init creates or checks the schema, prepares the statements and loads the
// buckets' rows.
func (s *jobStore) init(k kind) error {
	err := withTx(s.db, func(tx *sql.Tx) error {
		if _, err := tx.Exec(jobSchema); err != nil {
			return err
		}
		for _, up := range []func(*sql.Tx) error{upgradeV3, upgradeV4, upgradeV5} {
			if err := up(tx); err != nil {
				return err
			}
		}
		if err := checkMeta(tx, "format", jobStoreVersion, errFormatVersion); err != nil {
			return err
		}
		if err := checkMeta(tx, "kind", k.String(), errKindMismatch); err != nil {
			return err
		}
		// The id SQLite gives the next row: past the largest it gave, and
		// past every row in the table.
		if err := tx.QueryRow(`SELECT 1 + max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0), coalesce((SELECT max(id) FROM entries), 0))`).Scan(&s.next); err != nil {
			return err
		}
		if err := applyAckLog(tx); err != nil {
			return err
		}
		return s.load(tx)
	})
	if err != nil {
		return err
	}
	// OR FAIL: an insert of many rows needs no statement journal (a
	// failure fails the whole transaction anyway).
	values := strings.TrimSuffix(strings.Repeat("(?, ?), ", insertChunk), ", ")
	return s.stmts.prepare(s.db, []stmt{
		{&s.insert, `INSERT INTO entries (bucket, record) VALUES (?, ?)`},
		{&s.insertMany, `INSERT OR FAIL INTO entries (bucket, record) VALUES ` + values},
		{&s.newBucket, `INSERT INTO buckets (name) VALUES (?) RETURNING id`},
		{&s.logAck, `INSERT INTO acked (seq, ids) VALUES (?, ?)`},
		{&s.applyAck, `DELETE FROM entries WHERE id IN (SELECT value FROM json_each((SELECT ids FROM acked WHERE seq = ?)))`},
		{&s.dropAck, `DELETE FROM acked WHERE seq = ?`},
		{&s.mark, `UPDATE entries SET popped = ? WHERE id IN (SELECT value FROM json_each(?))`},
		{&s.watermark, `UPDATE buckets SET popped_upto = w.value ->> 1 FROM json_each(?) AS w WHERE buckets.id = w.value ->> 0`},
		// One row of lists, not a row per entry (as load reads): the
		// records concatenated and their lengths, in the order of the
		// list of ids (json_each drives the loop), and the positions and
		// flags of the rows marked popped (few: LIFO rows and released
		// ones). A row missing from the table leaves the count short.
		{&s.read, `SELECT group_concat(e.record, x''), json_group_array(length(e.record)),
			json_group_array(j.key) FILTER (WHERE e.popped != 0), json_group_array(e.popped) FILTER (WHERE e.popped != 0), count(*)
			FROM json_each(?) AS j CROSS JOIN entries AS e ON e.id = j.value`},
	})
}

// load reads the buckets and the ids of their rows, in order: every row
// is pending when the store opens.
func (s *jobStore) load(tx *sql.Tx) error {
	byID := map[int64]*storeBucket{}
	rows, err := tx.Query(`SELECT id, name, popped_upto FROM buckets`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, mark int64
		var name string
		if err := rows.Scan(&id, &name, &mark); err != nil {
			rows.Close()
			return err
		}
		b := &storeBucket{id: id, inflight: map[int64]struct{}{}, mark: mark, openMark: mark}
		s.b[name] = b
		byID[id] = b
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	// A row of two lists per chunk of entries, not a row per entry: a
	// million rows cost more in database/sql than in SQLite (and one list
	// of them all, more in growing it).
	read, err := tx.Prepare(`SELECT json_group_array(bucket), json_group_array(id), count(*), max(id)
		FROM (SELECT bucket, id FROM entries WHERE id > ? ORDER BY id LIMIT ?)`)
	if err != nil {
		return err
	}
	defer read.Close()
	for after := int64(0); ; {
		var bucketList, idList []byte
		var n int
		var last sql.NullInt64
		if err := read.QueryRow(after, loadChunk).Scan(&bucketList, &idList, &n, &last); err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if err := s.loadChunk(byID, bucketList, idList, n); err != nil {
			return err
		}
		after = last.Int64
	}
	for _, b := range s.b {
		slices.Sort(b.pending) // sorted already, as read
	}
	return nil
}

// loadChunk is how many entries load reads per query.
const loadChunk = 65536

// loadChunk appends the n ids of idList to the pending lists of the
// buckets bucketList names, entry by entry (JSON arrays of integers).
func (s *jobStore) loadChunk(byID map[int64]*storeBucket, bucketList, idList []byte, n int) error {
	for range n {
		bucket, err := nextListed(&bucketList, "fewer buckets than entries read")
		if err != nil {
			return err
		}
		id, err := nextListed(&idList, "fewer ids than entries read")
		if err != nil {
			return err
		}
		b := byID[bucket]
		if b == nil {
			return fmt.Errorf("%w: entry %d is in bucket %d, which the buckets table lacks", errCorrupt, id, bucket)
		}
		b.pending = append(b.pending, id)
	}
	return nil
}

// nextInt reads the next integer of a JSON array of integers, as
// json_group_array writes it ("[1,2,3]"), and advances list past it; ok is
// false at the array's end.
func nextInt(list *[]byte) (n int64, ok bool, err error) {
	l := *list
	if len(l) > 0 && (l[0] == '[' || l[0] == ',') {
		l = l[1:]
	}
	if len(l) == 0 || l[0] == ']' {
		*list = nil
		return 0, false, nil
	}
	i := 0
	for i < len(l) && l[i] != ',' && l[i] != ']' {
		i++
	}
	n, err = strconv.ParseInt(string(l[:i]), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: reading the entries: %w", errCorrupt, err)
	}
	*list = l[i:]
	return n, true, nil
}

// Buckets returns the counts of the buckets holding entries.
func (s *jobStore) Buckets() map[string]sdk.State {
	out := map[string]sdk.State{}
	for name, b := range s.b {
		if len(b.pending)+len(b.inflight) > 0 {
			out[name] = sdk.State{Pending: len(b.pending), InFlight: len(b.inflight)}
		}
	}
	return out
}

// Len returns a bucket's counts.
func (s *jobStore) Len(bucket string) sdk.State {
	b := s.b[bucket]
	if b == nil {
		return sdk.State{}
	}
	return sdk.State{Pending: len(b.pending), InFlight: len(b.inflight)}
}

// bucket returns the bucket named name, creating its row in tx if needed.
func (s *jobStore) bucket(tx *sql.Tx, name string) (*storeBucket, error) {
	if b := s.b[name]; b != nil {
		return b, nil
	}
	var id int64
	if err := tx.Stmt(s.newBucket).QueryRow(name).Scan(&id); err != nil {
		return nil, err
	}
	b := &storeBucket{id: id, inflight: map[int64]struct{}{}}
	s.b[name] = b
	return b, nil
}

// inFlightIDs keeps the ids of list that b has in flight, once each.
func inFlightIDs(b *storeBucket, list []uint64) []int64 {
	var kept []int64
	for _, id := range list {
		if _, ok := b.inflight[int64(id)]; ok {
			kept = append(kept, int64(id))
		}
	}
	if len(kept) > 1 {
		slices.Sort(kept)
		kept = slices.Compact(kept)
	}
	return kept
}

// rowIDs is a JSON array of ids for json_each, so that one statement
// acknowledges, marks or reads rows of many buckets.
type rowIDs struct {
	buf []byte
	n   int
}

func (l *rowIDs) add(ids ...int64) {
	for _, id := range ids {
		if l.n == 0 {
			l.buf = append(l.buf[:0], '[')
		} else {
			l.buf = append(l.buf, ',')
		}
		l.buf = strconv.AppendInt(l.buf, id, 10)
		l.n++
	}
}

func (l *rowIDs) json() string { return string(l.buf) + "]" }

// sortedIDs renders ids, sorted in place, as a JSON array for a statement
// that deletes or marks them: SQLite builds an index of the list, and
// ascending keys go in at its end; the rows are then visited in the
// table's order.
func sortedIDs(ids []int64) string {
	slices.Sort(ids)
	var l rowIDs
	l.add(ids...)
	return l.json()
}

// change is what a Sync's writes did to one bucket, applied to the memory
// state once they are in the database.
type change struct {
	b       *storeBucket
	acked   []int64
	back    []int64
	pushed  []int64 // ids of the pushed rows, ascending
	name    string
	created bool // the Sync created the bucket
}

// Write applies the writes of every bucket in one transaction; the
// in-memory state changes only once it committed.
func (s *jobStore) Write(ws []sdk.BucketWrite) error {
	_, err := s.Sync(ws, nil)
	return err
}

// Pop hands out up to max entries of bucket in the store's order, marking
// them popped in one transaction.
func (s *jobStore) Pop(bucket string, max int) ([]sdk.Delivery, error) {
	out, err := s.Sync(nil, []sdk.PopRequest{{Bucket: bucket, Max: max}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// PopMany pops from many buckets in one transaction.
func (s *jobStore) PopMany(reqs []sdk.PopRequest) ([][]sdk.Delivery, error) {
	return s.Sync(nil, reqs)
}

// Sync applies ws, then pops what reqs ask for, in one transaction. The
// memory state changes once it committed; if it fails after the writes
// were applied in memory (for the pops to see them), the store refuses
// every later call and must be reopened, which reads the database's state.
func (s *jobStore) Sync(ws []sdk.BucketWrite, reqs []sdk.PopRequest) ([][]sdk.Delivery, error) {
	s.syncing.Add(1)
	s.mu.Lock()
	defer func() {
		s.syncing.Add(-1)
		s.idle.Broadcast()
		s.mu.Unlock()
	}()
	if s.broken != nil {
		return nil, s.broken
	}
	var changes []change
	var out [][]sdk.Delivery
	var marks []popMark
	var log ackLog
	applied := false
	err := withTx(s.db, func(tx *sql.Tx) error {
		var err error
		if changes, err = s.writeTx(tx, ws, &log); err != nil || len(reqs) == 0 {
			return err
		}
		s.applyWrites(changes)
		applied = len(changes) > 0 // a failed pop alone leaves the memory state as it was
		out, marks, err = s.popManyTx(tx, reqs)
		return err
	})
	if err != nil {
		if applied {
			s.broken = fmt.Errorf("sqlitequeue: %s: a sync failed after its writes were applied in memory; reopen the job: %w", s.path, err)
			return nil, s.broken
		}
		s.dropCreated(changes)
		return nil, err
	}
	if !applied {
		s.applyWrites(changes)
	}
	s.commitAckLog(log)
	for i, r := range reqs {
		if b := s.b[r.Bucket]; b != nil && len(out[i]) > 0 {
			s.popped(b, out[i])
		}
	}
	for _, m := range marks {
		m.b.mark = m.upto
	}
	return out, nil
}

// writeTx runs the SQL of ws in tx and returns what it changes in memory.
// Buckets it creates are in s.b already (dropCreated removes them).
func (s *jobStore) writeTx(tx *sql.Tx, ws []sdk.BucketWrite, l *ackLog) ([]change, error) {
	var changes []change
	var acks, releases []int64
	var pushes []pushRow
	next := s.next
	for _, w := range ws {
		_, existed := s.b[w.Bucket]
		if !existed && len(w.Push) == 0 {
			continue // acks and releases of an unknown bucket: ignored
		}
		b, err := s.bucket(tx, w.Bucket)
		if err != nil {
			return changes, err
		}
		c := change{b: b, name: w.Bucket, created: !existed}
		c.acked = inFlightIDs(b, w.Ack)
		acks = append(acks, c.acked...)
		c.back = inFlightIDs(b, w.Release)
		if len(c.acked) > 0 {
			c.back = slices.DeleteFunc(c.back, func(id int64) bool { _, found := slices.BinarySearch(c.acked, id); return found })
		}
		releases = append(releases, c.back...)
		for _, e := range w.Push {
			pushes = append(pushes, pushRow{bucket: b.id, record: e.Record})
			c.pushed = append(c.pushed, next)
			next++
		}
		changes = append(changes, c)
	}
	// Acknowledgements and releases touch entries in flight only, pushes
	// add new ones: all the store's acknowledgements go to the log (a
	// few rows), all its releases in one statement.
	if len(acks) > 0 {
		if err := s.logAcks(tx, acks, l); err != nil {
			return changes, err
		}
	}
	if len(releases) > 0 {
		if _, err := tx.Stmt(s.mark).Exec(-1, sortedIDs(releases)); err != nil {
			return changes, err
		}
	}
	if len(pushes) > 0 {
		if err := s.insertRows(tx, pushes); err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// pushRow is a row to insert.
type pushRow struct {
	bucket int64
	record []byte
}

// insertRows inserts rows, insertChunk rows per statement, and checks that
// SQLite gave them the ids s.next, s.next+1, ..., which the memory state
// holds (AUTOINCREMENT gives each row one more than the last).
func (s *jobStore) insertRows(tx *sql.Tx, rows []pushRow) error {
	want := s.next + int64(len(rows)) - 1
	var res sql.Result
	if len(rows) >= insertChunk {
		many := tx.Stmt(s.insertMany)
		for len(rows) >= insertChunk {
			args := s.args[:0]
			for _, r := range rows[:insertChunk] {
				args = append(args, r.bucket, r.record)
			}
			s.args = args
			var err error
			if res, err = many.Exec(args...); err != nil {
				return err
			}
			rows = rows[insertChunk:]
		}
		clear(s.args)
	}
	if len(rows) > 0 {
		one := tx.Stmt(s.insert)
		for _, r := range rows {
			var err error
			if res, err = one.Exec(r.bucket, r.record); err != nil {
				return err
			}
		}
	}
	last, err := res.LastInsertId()
	if err == nil && last != want {
		err = fmt.Errorf("%w: the last row pushed got id %d, not %d", errCorrupt, last, want)
	}
	return err
}

// applyWrites applies changes to the memory state.
func (s *jobStore) applyWrites(changes []change) {
	for _, c := range changes {
		s.next += int64(len(c.pushed))
		for _, id := range c.acked {
			delete(c.b.inflight, id)
		}
		for _, id := range c.back {
			delete(c.b.inflight, id)
		}
		c.b.pending = append(c.b.pending, c.pushed...)
		if len(c.back) > 0 {
			// Released rows go back to their place (ids are the order).
			c.b.pending = append(c.b.pending, c.back...)
			slices.Sort(c.b.pending)
		}
	}
}

// dropCreated forgets the buckets created by a failed transaction.
func (s *jobStore) dropCreated(changes []change) {
	for _, c := range changes {
		if c.created && s.b[c.name] == c.b {
			delete(s.b, c.name)
		}
	}
}

// popMark is a bucket's new watermark, set in memory once the pop
// committed.
type popMark struct {
	b    *storeBucket
	upto int64
}

// popManyTx reads what reqs ask for in tx and keeps on disk that it was
// handed out: the FIFO watermark of the buckets popped, a mark on LIFO
// rows and on rows a release had unmarked.
func (s *jobStore) popManyTx(tx *sql.Tx, reqs []sdk.PopRequest) ([][]sdk.Delivery, []popMark, error) {
	var want rowIDs
	taken := make([][]int64, len(reqs))
	var took map[*storeBucket]int // entries taken so far, by bucket
	for i, r := range reqs {
		b := s.b[r.Bucket]
		taken[i] = s.take(b, r.Max, took[b])
		want.add(taken[i]...)
		if len(taken[i]) > 0 {
			if took == nil {
				took = make(map[*storeBucket]int, len(reqs))
			}
			took[b] += len(taken[i])
		}
	}
	out := make([][]sdk.Delivery, len(reqs))
	if want.n == 0 {
		return out, nil, nil
	}
	flags, err := s.readRows(tx, want.json(), taken, out)
	if err != nil {
		return nil, nil, err
	}
	var marks []int64
	var wms []popMark
	for i, r := range reqs {
		if len(out[i]) == 0 {
			continue
		}
		b := s.b[r.Bucket]
		for j, d := range out[i] {
			// A FIFO row is under the watermark; it still needs a mark
			// if a release unmarked it.
			if flags[i][j] != 1 && (s.lifo || flags[i][j] == -1) {
				marks = append(marks, int64(d.ID))
			}
			d.Redelivered = flags[i][j] == 1 || (flags[i][j] == 0 && int64(d.ID) <= b.openMark)
			out[i][j] = d
		}
		if last := taken[i][len(taken[i])-1]; !s.lifo && last > b.mark {
			// A bucket asked for twice took more the second time.
			k := -1
			if took[b] > len(taken[i]) {
				k = slices.IndexFunc(wms, func(m popMark) bool { return m.b == b })
			}
			if k >= 0 {
				wms[k].upto = last
			} else {
				wms = append(wms, popMark{b: b, upto: last})
			}
		}
	}
	if len(wms) > 0 {
		list := []byte{'['}
		for i, m := range wms {
			if i > 0 {
				list = append(list, ',')
			}
			list = append(list, '[')
			list = strconv.AppendInt(list, m.b.id, 10)
			list = append(list, ',')
			list = strconv.AppendInt(list, m.upto, 10)
			list = append(list, ']')
		}
		list = append(list, ']')
		if _, err := tx.Stmt(s.watermark).Exec(string(list)); err != nil {
			return nil, nil, err
		}
	}
	if len(marks) > 0 {
		if _, err := tx.Stmt(s.mark).Exec(1, sortedIDs(marks)); err != nil {
			return nil, nil, err
		}
	}
	return out, wms, nil
}

// take returns the ids of up to max rows of b in pop order, leaving out
// the skip rows that earlier requests of the same Sync took.
func (s *jobStore) take(b *storeBucket, max, skip int) []int64 {
	if b == nil || max <= 0 {
		return nil
	}
	n := min(max, len(b.pending)-skip)
	if n <= 0 {
		return nil
	}
	if !s.lifo {
		return b.pending[skip : skip+n : skip+n]
	}
	top := len(b.pending) - skip
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = b.pending[top-1-i]
	}
	return ids
}

// readRows reads the rows listed in want (the JSON array of the ids in
// taken, in order) into out, and returns their popped flags. The records
// of out share one buffer.
func (s *jobStore) readRows(tx *sql.Tx, want string, taken [][]int64, out [][]sdk.Delivery) ([][]int, error) {
	var recs, lens, at, popped []byte
	var n int
	if err := tx.Stmt(s.read).QueryRow(want).Scan(&recs, &lens, &at, &popped, &n); err != nil {
		return nil, err
	}
	return splitRows(recs, lens, at, popped, n, taken, out)
}

// splitRows splits recs, the records of the n rows read of those listed in
// taken, concatenated, by their lengths (lens, a JSON array) into out, and
// returns the rows' popped flags: 0 but for the positions listed in at,
// whose flags popped lists (JSON arrays, positions ascending in the list
// of all the rows asked for). Fewer rows read than asked for is corrupt.
func splitRows(recs, lens, at, popped []byte, n int, taken [][]int64, out [][]sdk.Delivery) ([][]int, error) {
	asked := 0
	for _, ids := range taken {
		asked += len(ids)
	}
	if n != asked {
		return nil, fmt.Errorf("%w: %d of the %d rows to pop are missing from the table", errCorrupt, asked-n, asked)
	}
	flags := make([][]int, len(taken))
	for i, ids := range taken {
		flags[i] = make([]int, len(ids))
		for _, id := range ids {
			size, err := nextListed(&lens, "fewer lengths than rows to pop")
			if err != nil {
				return nil, err
			}
			if size < 0 || size > int64(len(recs)) {
				return nil, fmt.Errorf("%w: row %d: record of %d bytes, %d left to read", errCorrupt, id, size, len(recs))
			}
			out[i] = append(out[i], sdk.Delivery{ID: uint64(id), Record: recs[:size:size]})
			recs = recs[size:]
		}
	}
	if len(recs) > 0 {
		return nil, fmt.Errorf("%w: %d bytes of records past the rows to pop", errCorrupt, len(recs))
	}
	// The marked rows, by their position in the list asked for.
	i, first := 0, 0
	for {
		pos, ok, err := nextInt(&at)
		if err != nil || !ok {
			return flags, err
		}
		flag, err := nextListed(&popped, "fewer flags than marked rows to pop")
		if err != nil {
			return nil, err
		}
		for i < len(taken) && pos >= int64(first+len(taken[i])) {
			first += len(taken[i])
			i++
		}
		if i == len(taken) || pos < int64(first) {
			return nil, fmt.Errorf("%w: a marked row at %d of the %d asked for", errCorrupt, pos, asked)
		}
		flags[i][pos-int64(first)] = int(flag)
	}
}

// nextListed reads the next integer of a JSON array that must have one;
// short says what is corrupt when it has none.
func nextListed(list *[]byte, short string) (int64, error) {
	n, ok, err := nextInt(list)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", errCorrupt, short)
	}
	return n, err
}

// popped records ds, popped from b, as in flight.
func (s *jobStore) popped(b *storeBucket, ds []sdk.Delivery) {
	for _, d := range ds {
		b.inflight[int64(d.ID)] = struct{}{}
	}
	if s.lifo {
		b.pending = b.pending[:len(b.pending)-len(ds)]
	} else {
		b.pending = b.pending[len(ds):]
	}
}

// Flush makes the writes durable: every Write committed, and with
// synchronous normal a commit survives a killed process; a checkpoint is
// SQLite's business.
func (s *jobStore) Flush() error { return nil }

// Close stops the deleter and closes the database; rows in flight stay
// marked popped and are pending again, redelivered, when the store is
// opened next, which also applies what is left in the log.
func (s *jobStore) Close() error {
	s.stopDeleter()
	return errors.Join(s.stmts.close(), s.db.Close())
}

// buckets lists the store's bucket names, sorted, for tests.
func (s *jobStore) bucketNames() []string {
	var out []string
	for n := range s.b {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// withTx runs fn in a transaction, committed when fn succeeds.
func withTx(db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
