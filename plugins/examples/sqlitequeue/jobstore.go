package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/frontier-go/frontier/plugins/sdk"
)

// jobStore keeps every bucket of a job's FIFO or LIFO queues in one SQLite
// database, sqlitequeue-fifo.sqlite3 (or -lifo) in the job directory: one
// row per request, with the bucket as an integer column indexed with the
// row id, which orders each bucket. Each Write is one transaction whatever
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

	insert    *sql.Stmt // bucket, record
	newBucket *sql.Stmt // name -> id
	ack       *sql.Stmt // id list: delete
	mark      *sql.Stmt // popped, id list
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

var _ sdk.Store = (*jobStore)(nil)

const jobSchema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS entries (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	bucket INTEGER NOT NULL,
	record BLOB NOT NULL,
	popped INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_bucket ON entries(bucket, id);`

// jobStoreVersion is the version of the job store's schema, in its meta
// table; a file of another version is refused.
const jobStoreVersion = "2"

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
	db, err := sql.Open("sqlite", dsn(path, synchronous))
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
		{&s.insert, `INSERT INTO entries (bucket, record) VALUES (?, ?)`},
		{&s.newBucket, `INSERT INTO buckets (name) VALUES (?) RETURNING id`},
		{&s.ack, `DELETE FROM entries WHERE id IN (SELECT value FROM json_each(?))`},
		{&s.mark, `UPDATE entries SET popped = ? WHERE id IN (SELECT value FROM json_each(?))`},
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

// inFlightIDs keeps the ids of list that b has in flight, as JSON for
// json_each.
func inFlightIDs(b *storeBucket, list []uint64) ([]int64, string) {
	var kept []int64
	for _, id := range list {
		if _, ok := b.inflight[int64(id)]; ok {
			kept = append(kept, int64(id))
		}
	}
	u := make([]uint64, len(kept))
	for i, id := range kept {
		u[i] = uint64(id)
	}
	return kept, idList(u)
}

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
			if len(w.Ack) > 0 {
				ids, list := inFlightIDs(b, w.Ack)
				if len(ids) > 0 {
					if _, err := tx.Stmt(s.ack).Exec(list); err != nil {
						return err
					}
				}
				c.acked = ids
			}
			if len(w.Release) > 0 {
				ids, list := inFlightIDs(b, w.Release)
				if len(ids) > 0 {
					if _, err := tx.Stmt(s.mark).Exec(0, list); err != nil {
						return err
					}
				}
				c.back = ids
			}
			for _, e := range w.Push {
				if _, err := insert.Exec(b.id, e.Record); err != nil {
					return err
				}
			}
			c.pushed = len(w.Push)
			changes = append(changes, c)
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
	b := s.b[bucket]
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
	err := withTx(s.db, func(tx *sql.Tx) error {
		rows, err := tx.Query(q, args...)
		if err != nil {
			return err
		}
		for rows.Next() && len(out) < max {
			var id int64
			var rec []byte
			var popped bool
			if err := rows.Scan(&id, &rec, &popped); err != nil {
				rows.Close()
				return err
			}
			if _, busy := b.inflight[id]; busy {
				continue
			}
			out = append(out, sdk.Delivery{ID: uint64(id), Record: rec, Redelivered: popped})
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		ids := make([]uint64, len(out))
		for i, d := range out {
			ids[i] = d.ID
		}
		_, err = tx.Stmt(s.mark).Exec(1, idList(ids))
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, d := range out {
		b.inflight[int64(d.ID)] = struct{}{}
	}
	b.pending -= len(out)
	if !s.lifo && len(out) > 0 && !b.holes {
		b.after = int64(out[len(out)-1].ID)
	}
	return out, nil
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
