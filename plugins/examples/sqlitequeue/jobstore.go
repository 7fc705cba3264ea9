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

	"github.com/frontier-go/frontier/plugins/sdk"
)

// jobStore keeps every bucket of a job's FIFO or LIFO queues in one SQLite
// database, sqlitequeue-fifo.sqlite3 (or -lifo) in the job directory: one
// row per request in a table keyed by (bucket, id), so that a bucket is a
// range of the table in its order and a row is written once (no second
// index). Ids grow across the store (the next one is kept in the meta
// table, in the transaction that uses it) and are never reused. Each Sync
// (the writes and the pops of a round trip, for every bucket it touches)
// is one transaction; a killed process loses nothing a Sync returned for.
//
// Which rows are in flight is known in memory. What was handed out is
// kept on disk, in the transaction of the pop, so that after a restart
// every row not acknowledged is pending again and those handed out before
// come back marked redelivered: a FIFO bucket popped in order keeps a
// watermark (buckets.popped_upto: every row of the bucket up to it was
// handed out), one update per bucket and pop instead of one per row; a row
// popped out of order (LIFO, or after a release) is marked (popped = 1),
// and a released row is unmarked (popped = -1: not handed out, whatever
// the watermark says).
type jobStore struct {
	db     *sql.DB
	lifo   bool
	path   string
	stmts  statements
	ids    map[string]int64 // bucket name -> bucket id
	b      map[string]*storeBucket
	next   int64 // the next entry id
	broken error // a failed Sync left the memory state unknown
	args   []any // scratch for insertMany

	insert     *sql.Stmt // bucket, id, record
	insertMany *sql.Stmt // insertChunk x (bucket, id, record)
	newBucket  *sql.Stmt // name -> id
	ack        *sql.Stmt // [[bucket, id], ...]: delete
	ackRange   *sql.Stmt // bucket, lo, hi: delete
	mark       *sql.Stmt // popped, [[bucket, id], ...]
	watermark  *sql.Stmt // popped_upto, bucket
	setNext    *sql.Stmt // next id
	popFifo    *sql.Stmt // bucket, after, limit: id, record, popped
	popLifo    *sql.Stmt // bucket, limit: id, record, popped
}

// insertChunk is how many rows one INSERT statement adds: a statement per
// row costs more in database/sql and SQLite's VM than the row itself.
const insertChunk = 32

// storeBucket is a bucket's state in memory.
type storeBucket struct {
	id       int64
	pending  int
	inflight map[int64]struct{}
	// after (FIFO): every row of the bucket with a smaller or equal id is
	// in flight or gone, unless holes is set (a release put rows back
	// below it); then pops skip the in-flight rows they read.
	after int64
	holes bool
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
CREATE TABLE IF NOT EXISTS entries (
	bucket INTEGER NOT NULL,
	id INTEGER NOT NULL,
	record BLOB NOT NULL,
	popped INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (bucket, id)
) WITHOUT ROWID;`

// jobStoreVersion is the version of the job store's schema, in its meta
// table; a file of version 3 (no watermark) is upgraded in place, a file of
// another version is refused.
const jobStoreVersion = "4"

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
	// A job's requests are spread over thousands of buckets, each a range
	// of the table: pushes and pops touch pages all over it, so the page
	// cache is sized for a large job (64 MiB; SQLite's default is 2 MiB).
	// For the same reason a commit writes many pages to the WAL, and a
	// checkpoint (which copies them into the database and syncs it) every
	// 1,000 pages, SQLite's default, ran after nearly every Sync: the WAL
	// is checkpointed every 16,384 pages (64 MiB) instead, so that a page
	// written by many Syncs is copied once. A statement that changes many
	// rows keeps a statement journal of the pages it touches (to undo
	// itself alone on an error): in memory (temp_store), not in a
	// temporary file written page by page; it is no crash journal.
	// Reads go through a memory map of the file (up to 1 GiB of address
	// space; the pages are the system's file cache, not the plugin's
	// memory): a large job's table outgrows the page cache, and a read
	// that misses it is then no system call.
	db, err := sql.Open("sqlite", dsn(path, synchronous)+"&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(16384)&_pragma=temp_store(memory)&_pragma=mmap_size(1073741824)")
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	s := &jobStore{db: db, lifo: lifo, path: path, ids: map[string]int64{}, b: map[string]*storeBucket{}}
	if err := s.init(k); err != nil {
		s.stmts.close()
		db.Close()
		return nil, fmt.Errorf("sqlitequeue: %s: %w", path, err)
	}
	return s, nil
}

// upgradeV3 adds the watermark column to a file of version 3, whose rows
// mean the same in version 4 (popped 0 or 1, no watermark).
func upgradeV3(tx *sql.Tx) error {
	var have string
	err := tx.QueryRow(`SELECT value FROM meta WHERE key = 'format'`).Scan(&have)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && have != "3") {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`ALTER TABLE buckets ADD COLUMN popped_upto INTEGER NOT NULL DEFAULT 0`); err != nil {
		return fmt.Errorf("upgrading from format 3: %w", err)
	}
	_, err = tx.Exec(`UPDATE meta SET value = ? WHERE key = 'format'`, jobStoreVersion)
	return err
}

// init creates or checks the schema, prepares the statements and loads the
// buckets' counts.
func (s *jobStore) init(k kind) error {
	err := withTx(s.db, func(tx *sql.Tx) error {
		if _, err := tx.Exec(jobSchema); err != nil {
			return err
		}
		if err := upgradeV3(tx); err != nil {
			return err
		}
		if err := checkMeta(tx, "format", jobStoreVersion, errFormatVersion); err != nil {
			return err
		}
		if err := checkMeta(tx, "kind", k.String(), errKindMismatch); err != nil {
			return err
		}
		next := "1"
		if _, err := tx.Exec(`INSERT OR IGNORE INTO meta (key, value) VALUES ('next_id', '1')`); err != nil {
			return err
		}
		if err := tx.QueryRow(`SELECT value FROM meta WHERE key = 'next_id'`).Scan(&next); err != nil {
			return err
		}
		if _, err := fmt.Sscan(next, &s.next); err != nil || s.next < 1 {
			return fmt.Errorf("%w: next_id %q", errFormatVersion, next)
		}
		rows, err := tx.Query(`SELECT b.id, b.name, b.popped_upto, count(e.id) FROM buckets b LEFT JOIN entries e ON e.bucket = b.id GROUP BY b.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, mark int64
			var name string
			var n int
			if err := rows.Scan(&id, &name, &mark, &n); err != nil {
				return err
			}
			s.ids[name] = id
			s.b[name] = &storeBucket{id: id, pending: n, inflight: map[int64]struct{}{}, mark: mark, openMark: mark}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	// OR FAIL: an insert of many rows needs no statement journal (ids are
	// unique; a failure fails the whole transaction anyway).
	values := strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", insertChunk), ", ")
	return s.stmts.prepare(s.db, []stmt{
		{&s.insert, `INSERT INTO entries (bucket, id, record) VALUES (?, ?, ?)`},
		{&s.insertMany, `INSERT OR FAIL INTO entries (bucket, id, record) VALUES ` + values},
		{&s.newBucket, `INSERT INTO buckets (name) VALUES (?) RETURNING id`},
		{&s.ack, `DELETE FROM entries WHERE (bucket, id) IN
			(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`},
		{&s.ackRange, `DELETE FROM entries WHERE bucket = ? AND id BETWEEN ? AND ?`},
		{&s.mark, `UPDATE entries SET popped = ? WHERE (bucket, id) IN
			(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`},
		{&s.watermark, `UPDATE buckets SET popped_upto = ? WHERE id = ?`},
		{&s.setNext, `UPDATE meta SET value = ? WHERE key = 'next_id'`},
		{&s.popFifo, `SELECT id, record, popped FROM entries WHERE bucket = ? AND id > ? ORDER BY id LIMIT ?`},
		{&s.popLifo, `SELECT id, record, popped FROM entries WHERE bucket = ? ORDER BY id DESC LIMIT ?`},
	})
}

// Buckets returns the counts of the buckets holding entries.
func (s *jobStore) Buckets() map[string]sdk.State {
	out := map[string]sdk.State{}
	for name, b := range s.b {
		if b.pending+len(b.inflight) > 0 {
			out[name] = sdk.State{Pending: b.pending, InFlight: len(b.inflight)}
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
	return sdk.State{Pending: b.pending, InFlight: len(b.inflight)}
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
	s.ids[name] = id
	s.b[name] = b
	return b, nil
}

// inFlightIDs keeps the ids of list that b has in flight.
func inFlightIDs(b *storeBucket, list []uint64) []int64 {
	var kept []int64
	for _, id := range list {
		if _, ok := b.inflight[int64(id)]; ok {
			kept = append(kept, int64(id))
		}
	}
	return kept
}

// pairs is a JSON array of [bucket, id] pairs for json_each, so that one
// statement acknowledges or marks entries of many buckets.
type pairs struct {
	buf []byte
	n   int
}

func (p *pairs) add(bucket int64, ids []int64) {
	for _, id := range ids {
		if p.n == 0 {
			p.buf = append(p.buf, '[')
		} else {
			p.buf = append(p.buf, ',')
		}
		p.buf = append(p.buf, '[')
		p.buf = strconv.AppendInt(p.buf, bucket, 10)
		p.buf = append(p.buf, ',')
		p.buf = strconv.AppendInt(p.buf, id, 10)
		p.buf = append(p.buf, ']')
		p.n++
	}
}

func (p *pairs) json() string { return string(p.buf) + "]" }

// change is what a Sync's writes did to one bucket, applied to the memory
// state once they are in the database.
type change struct {
	b       *storeBucket
	acked   []int64
	back    []int64
	pushed  int
	created bool
}

// Write applies the writes of every bucket in one transaction; the
// in-memory counts change only once it committed.
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
	if s.broken != nil {
		return nil, s.broken
	}
	var changes []change
	var out [][]sdk.Delivery
	var marks []popMark
	applied := false
	err := withTx(s.db, func(tx *sql.Tx) error {
		var err error
		if changes, err = s.writeTx(tx, ws); err != nil || len(reqs) == 0 {
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
func (s *jobStore) writeTx(tx *sql.Tx, ws []sdk.BucketWrite) ([]change, error) {
	var changes []change
	var acks, releases pairs
	var pushes []pushRow
	for _, w := range ws {
		_, existed := s.b[w.Bucket]
		if !existed && len(w.Push) == 0 {
			continue // acks and releases of an unknown bucket: ignored
		}
		b, err := s.bucket(tx, w.Bucket)
		if err != nil {
			return changes, err
		}
		c := change{b: b, created: !existed}
		changes = append(changes, c)
		c.acked = inFlightIDs(b, w.Ack)
		if len(c.acked) > 0 {
			if lo, hi, ok := s.ackRangeOf(b, c.acked); ok {
				if _, err := tx.Stmt(s.ackRange).Exec(b.id, lo, hi); err != nil {
					return changes, err
				}
			} else {
				acks.add(b.id, c.acked)
			}
		}
		c.back = inFlightIDs(b, w.Release)
		releases.add(b.id, c.back)
		for _, e := range w.Push {
			pushes = append(pushes, pushRow{bucket: b.id, record: e.Record})
		}
		c.pushed = len(w.Push)
		changes[len(changes)-1] = c
	}
	// Acknowledgements and releases touch entries in flight only, pushes
	// add new ones: all the store's acknowledgements (and releases) not
	// deleted as a range go in one statement.
	if acks.n > 0 {
		if _, err := tx.Stmt(s.ack).Exec(acks.json()); err != nil {
			return changes, err
		}
	}
	if releases.n > 0 {
		if _, err := tx.Stmt(s.mark).Exec(-1, releases.json()); err != nil {
			return changes, err
		}
	}
	if len(pushes) > 0 {
		if err := s.insertRows(tx, pushes); err != nil {
			return changes, err
		}
		if _, err := tx.Stmt(s.setNext).Exec(strconv.FormatInt(s.next+int64(len(pushes)), 10)); err != nil {
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

// insertRows inserts rows with the ids s.next, s.next+1, ..., insertChunk
// rows per statement.
func (s *jobStore) insertRows(tx *sql.Tx, rows []pushRow) error {
	id := s.next
	if len(rows) >= insertChunk {
		many := tx.Stmt(s.insertMany)
		for len(rows) >= insertChunk {
			args := s.args[:0]
			for _, r := range rows[:insertChunk] {
				args = append(args, r.bucket, id, r.record)
				id++
			}
			s.args = args
			if _, err := many.Exec(args...); err != nil {
				return err
			}
			rows = rows[insertChunk:]
		}
		clear(s.args)
	}
	if len(rows) == 0 {
		return nil
	}
	one := tx.Stmt(s.insert)
	for _, r := range rows {
		if _, err := one.Exec(r.bucket, id, r.record); err != nil {
			return err
		}
		id++
	}
	return nil
}

// ackRangeOf reports whether acked (ids b has in flight) can be deleted as
// the range [lo, hi] of the bucket: a FIFO bucket popped in order holds no
// pending row up to b.after, so the range is exact when no other row of it
// is in flight.
func (s *jobStore) ackRangeOf(b *storeBucket, acked []int64) (lo, hi int64, ok bool) {
	if s.lifo || b.holes {
		return 0, 0, false
	}
	lo, hi = acked[0], acked[0]
	for _, id := range acked[1:] {
		lo, hi = min(lo, id), max(hi, id)
	}
	if hi > b.after {
		return 0, 0, false
	}
	distinct := len(acked)
	if distinct > 1 {
		sorted := slices.Clone(acked)
		slices.Sort(sorted)
		distinct = len(slices.Compact(sorted))
	}
	inRange := 0
	for id := range b.inflight {
		if id >= lo && id <= hi {
			inRange++
		}
	}
	return lo, hi, inRange == distinct
}

// applyWrites applies changes to the memory state.
func (s *jobStore) applyWrites(changes []change) {
	for _, c := range changes {
		s.next += int64(c.pushed)
		for _, id := range c.acked {
			delete(c.b.inflight, id)
		}
		for _, id := range c.back {
			delete(c.b.inflight, id)
			if id <= c.b.after {
				c.b.after = min(c.b.after, id-1)
				c.b.holes = true
			}
		}
		c.b.pending += len(c.back) + c.pushed
		if len(c.b.inflight) == 0 {
			c.b.holes = false
		}
	}
}

// dropCreated forgets the buckets created by a failed transaction.
func (s *jobStore) dropCreated(changes []change) {
	for _, c := range changes {
		if !c.created {
			continue
		}
		for name, b := range s.b {
			if b == c.b {
				delete(s.b, name)
				delete(s.ids, name)
			}
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
// handed out: the FIFO watermark of buckets popped in order, a mark on the
// other rows.
func (s *jobStore) popManyTx(tx *sql.Tx, reqs []sdk.PopRequest) ([][]sdk.Delivery, []popMark, error) {
	out := make([][]sdk.Delivery, len(reqs))
	var marks pairs
	var wms []popMark
	for i, r := range reqs {
		b := s.b[r.Bucket]
		ds, flags, err := s.popTx(tx, b, r.Max)
		if err != nil {
			return nil, nil, err
		}
		out[i] = ds
		if len(ds) == 0 {
			continue
		}
		inOrder := !s.lifo && !b.holes
		for j, d := range ds {
			// A row popped in order is under the watermark; it still
			// needs a mark if a release unmarked it.
			if flags[j] != 1 && (!inOrder || flags[j] == -1) {
				marks.add(b.id, []int64{int64(d.ID)})
			}
		}
		if last := int64(ds[len(ds)-1].ID); inOrder && last > b.mark {
			if _, err := tx.Stmt(s.watermark).Exec(last, b.id); err != nil {
				return nil, nil, err
			}
			wms = append(wms, popMark{b: b, upto: last})
		}
	}
	if marks.n > 0 {
		if _, err := tx.Stmt(s.mark).Exec(1, marks.json()); err != nil {
			return nil, nil, err
		}
	}
	return out, wms, nil
}

// popTx reads up to max entries of b in tx, with their popped flags; the
// in-memory state changes (popped) once tx committed.
func (s *jobStore) popTx(tx *sql.Tx, b *storeBucket, max int) ([]sdk.Delivery, []int, error) {
	if b == nil || b.pending == 0 || max <= 0 {
		return nil, nil, nil
	}
	var rows *sql.Rows
	var err error
	skip := len(b.inflight)
	switch {
	case s.lifo:
		rows, err = tx.Stmt(s.popLifo).Query(b.id, max+skip)
	case b.holes:
		rows, err = tx.Stmt(s.popFifo).Query(b.id, b.after, max+skip)
	default:
		rows, err = tx.Stmt(s.popFifo).Query(b.id, b.after, max)
	}
	if err != nil {
		return nil, nil, err
	}
	var out []sdk.Delivery
	var flags []int
	for rows.Next() && len(out) < max {
		var id int64
		var rec []byte
		var popped int
		if err := rows.Scan(&id, &rec, &popped); err != nil {
			rows.Close()
			return nil, nil, err
		}
		if _, busy := b.inflight[id]; busy {
			continue
		}
		redelivered := popped == 1 || (popped == 0 && id <= b.openMark)
		out = append(out, sdk.Delivery{ID: uint64(id), Record: rec, Redelivered: redelivered})
		flags = append(flags, popped)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, nil, err
	}
	return out, flags, nil
}

// popped records ds, popped from b, as in flight.
func (s *jobStore) popped(b *storeBucket, ds []sdk.Delivery) {
	for _, d := range ds {
		b.inflight[int64(d.ID)] = struct{}{}
	}
	b.pending -= len(ds)
	if !s.lifo && !b.holes {
		b.after = int64(ds[len(ds)-1].ID)
	}
}

// Flush makes the writes durable: every Write committed, and with
// synchronous normal a commit survives a killed process; a checkpoint is
// SQLite's business.
func (s *jobStore) Flush() error { return nil }

// Close closes the database; rows in flight stay marked popped and are
// pending again, redelivered, when the store is opened next.
func (s *jobStore) Close() error {
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
