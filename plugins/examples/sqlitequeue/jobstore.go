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

	"github.com/frontier-go/frontier/plugins/sdk"
)

// jobStore keeps every bucket of a job's FIFO or LIFO queues in one SQLite
// database, sqlitequeue-fifo.sqlite3 (or -lifo) in the job directory: one
// row per request in a table keyed by (bucket, id), so that a bucket is a
// range of the table in its order and a row is written once (no second
// index). Ids grow across the store (the next one is kept in the meta
// table, in the transaction that uses it) and are never reused. Each Write is one transaction whatever
// the number of buckets it touches, and so is each Pop; a killed process
// loses nothing a Write returned for.
//
// Which rows are in flight is known in memory; a popped row is marked
// (popped = 1) in the database in the pop's transaction, so that after a
// restart every row not acknowledged is pending again and those handed out
// before come back marked redelivered. A released row is unmarked.
type jobStore struct {
	db    *sql.DB
	lifo  bool
	path  string
	stmts statements
	ids   map[string]int64 // bucket name -> bucket id
	b     map[string]*storeBucket
	next  int64 // the next entry id

	insert    *sql.Stmt // bucket, id, record
	newBucket *sql.Stmt // name -> id
	ack       *sql.Stmt // [[bucket, id], ...]: delete
	mark      *sql.Stmt // popped, [[bucket, id], ...]
	setNext   *sql.Stmt // next id
}

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
}

var (
	_ sdk.Store       = (*jobStore)(nil)
	_ sdk.BatchPopper = (*jobStore)(nil)
)

const jobSchema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS entries (
	bucket INTEGER NOT NULL,
	id INTEGER NOT NULL,
	record BLOB NOT NULL,
	popped INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (bucket, id)
) WITHOUT ROWID;`

// jobStoreVersion is the version of the job store's schema, in its meta
// table; a file of another version is refused.
const jobStoreVersion = "3"

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
	db, err := sql.Open("sqlite", dsn(path, synchronous)+"&_pragma=cache_size(-65536)")
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

// init creates or checks the schema, prepares the statements and loads the
// buckets' counts.
func (s *jobStore) init(k kind) error {
	err := withTx(s.db, func(tx *sql.Tx) error {
		if _, err := tx.Exec(jobSchema); err != nil {
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
		rows, err := tx.Query(`SELECT b.id, b.name, count(e.id) FROM buckets b LEFT JOIN entries e ON e.bucket = b.id GROUP BY b.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var name string
			var n int
			if err := rows.Scan(&id, &name, &n); err != nil {
				return err
			}
			s.ids[name] = id
			s.b[name] = &storeBucket{id: id, pending: n, inflight: map[int64]struct{}{}}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	return s.stmts.prepare(s.db, []stmt{
		{&s.insert, `INSERT INTO entries (bucket, id, record) VALUES (?, ?, ?)`},
		{&s.newBucket, `INSERT INTO buckets (name) VALUES (?) RETURNING id`},
		{&s.ack, `DELETE FROM entries WHERE (bucket, id) IN
			(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`},
		{&s.mark, `UPDATE entries SET popped = ? WHERE (bucket, id) IN
			(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`},
		{&s.setNext, `UPDATE meta SET value = ? WHERE key = 'next_id'`},
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

// Write applies the writes of every bucket in one transaction; the
// in-memory counts change only once it committed.
func (s *jobStore) Write(ws []sdk.BucketWrite) error {
	type change struct {
		b       *storeBucket
		acked   []int64
		back    []int64
		pushed  int
		created bool
	}
	var changes []change
	next := s.next
	var acks, releases pairs
	err := withTx(s.db, func(tx *sql.Tx) error {
		insert := tx.Stmt(s.insert)
		for _, w := range ws {
			_, existed := s.b[w.Bucket]
			if s.b[w.Bucket] == nil && len(w.Push) == 0 {
				continue // acks and releases of an unknown bucket: ignored
			}
			b, err := s.bucket(tx, w.Bucket)
			if err != nil {
				return err
			}
			c := change{b: b, created: !existed}
			// Acknowledgements and releases touch entries in flight only,
			// pushes add new ones: all the store's acknowledgements (and
			// releases) go in one statement after the pushes.
			c.acked = inFlightIDs(b, w.Ack)
			acks.add(b.id, c.acked)
			c.back = inFlightIDs(b, w.Release)
			releases.add(b.id, c.back)
			for _, e := range w.Push {
				if _, err := insert.Exec(b.id, next, e.Record); err != nil {
					return err
				}
				next++
			}
			c.pushed = len(w.Push)
			changes = append(changes, c)
		}
		if acks.n > 0 {
			if _, err := tx.Stmt(s.ack).Exec(acks.json()); err != nil {
				return err
			}
		}
		if releases.n > 0 {
			if _, err := tx.Stmt(s.mark).Exec(0, releases.json()); err != nil {
				return err
			}
		}
		if next != s.next {
			if _, err := tx.Stmt(s.setNext).Exec(strconv.FormatInt(next, 10)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Buckets created in the failed transaction do not exist.
		for _, c := range changes {
			if c.created {
				for name, b := range s.b {
					if b == c.b {
						delete(s.b, name)
						delete(s.ids, name)
					}
				}
			}
		}
		return err
	}
	s.next = next
	for _, c := range changes {
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
	return nil
}

// Pop hands out up to max entries of bucket in the store's order, marking
// them popped in one transaction.
func (s *jobStore) Pop(bucket string, max int) ([]sdk.Delivery, error) {
	out, err := s.PopMany([]sdk.PopRequest{{Bucket: bucket, Max: max}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// PopMany pops from many buckets in one transaction.
func (s *jobStore) PopMany(reqs []sdk.PopRequest) ([][]sdk.Delivery, error) {
	out := make([][]sdk.Delivery, len(reqs))
	err := withTx(s.db, func(tx *sql.Tx) error {
		var marks pairs
		for i, r := range reqs {
			b := s.b[r.Bucket]
			ds, err := s.popTx(tx, b, r.Max)
			if err != nil {
				return err
			}
			out[i] = ds
			for _, d := range ds {
				marks.add(b.id, []int64{int64(d.ID)})
			}
		}
		if marks.n == 0 {
			return nil
		}
		_, err := tx.Stmt(s.mark).Exec(1, marks.json())
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, r := range reqs {
		if b := s.b[r.Bucket]; b != nil && len(out[i]) > 0 {
			s.popped(b, out[i])
		}
	}
	return out, nil
}

// popTx reads up to max entries of b in tx (PopMany marks them); the in-memory state
// changes (popped) once tx committed.
func (s *jobStore) popTx(tx *sql.Tx, b *storeBucket, max int) ([]sdk.Delivery, error) {
	if b == nil || b.pending == 0 || max <= 0 {
		return nil, nil
	}
	var q string
	var args []any
	skip := len(b.inflight)
	switch {
	case s.lifo:
		q = `SELECT id, record, popped FROM entries WHERE bucket = ? ORDER BY id DESC LIMIT ?`
		args = []any{b.id, max + skip}
	case b.holes:
		q = `SELECT id, record, popped FROM entries WHERE bucket = ? AND id > ? ORDER BY id LIMIT ?`
		args = []any{b.id, b.after, max + skip}
	default:
		q = `SELECT id, record, popped FROM entries WHERE bucket = ? AND id > ? ORDER BY id LIMIT ?`
		args = []any{b.id, b.after, max}
	}
	var out []sdk.Delivery
	rows, err := tx.Query(q, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() && len(out) < max {
		var id int64
		var rec []byte
		var popped bool
		if err := rows.Scan(&id, &rec, &popped); err != nil {
			rows.Close()
			return nil, err
		}
		if _, busy := b.inflight[id]; busy {
			continue
		}
		out = append(out, sdk.Delivery{ID: uint64(id), Record: rec, Redelivered: popped})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	return out, nil
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
