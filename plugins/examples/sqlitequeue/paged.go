package main

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/frontier-go/frontier/plugins/sdk"
)

// A FIFO or LIFO queue is stored as pages: every push batch is one row of
// the pages table (its records, each prefixed with its length as a uvarint),
// and a small marks row per page holds two bitmaps, the records handed out at
// least once ("popped") and those acknowledged ("acked"). A pop writes the
// popped bits of the pages it takes from; an acknowledgement writes the acked
// bits, and deletes the page once every record in it is acknowledged. So a
// batch of hundreds of records costs a handful of row writes, where one row
// per record would cost hundreds.
//
// Which records are in flight is known only in memory: after a restart,
// every record not acknowledged is pending again, and those whose popped bit
// is set are handed out marked redelivered. A release clears the popped bit
// again unless the record had been delivered before this run.
//
// A delivery ID is the page id shifted left by idxBits, plus the record's
// index in the page.
const (
	idxBits     = 20
	maxPageRecs = 1 << 16
)

// Record states in memory.
const (
	stPending byte = iota
	stInFlight
	stAcked
)

type page struct {
	id       int64
	state    []byte // one of st* per record
	popped   []byte // durable bitmap
	acked    []byte // durable bitmap
	redeliv  []byte // popped before this run and not acked, bitmap
	pending  int
	nacked   int
	records  [][]byte // loaded while records are pending, else nil
	dirty    bool     // marks changed in the current transaction
	hasMarks bool     // a marks row exists
}

func bit(b []byte, i int) bool { return b[i>>3]&(1<<(i&7)) != 0 }
func setBit(b []byte, i int, v bool) {
	if v {
		b[i>>3] |= 1 << (i & 7)
	} else {
		b[i>>3] &^= 1 << (i & 7)
	}
}

// pagedQueue is a FIFO or LIFO queue in pages (see above).
type pagedQueue struct {
	db       *sql.DB
	lifo     bool
	pages    []*page // by id, ascending; only pages with a record not acked
	byID     map[int64]*page
	pending  int
	inFlight int
	stmts    statements
	insert   *sql.Stmt // data, n -> id
	load     *sql.Stmt // id -> data
	mark     *sql.Stmt // upsert marks
	drop     *sql.Stmt // delete page
	unmark   *sql.Stmt // delete marks
}

var (
	_ sdk.Queue       = (*pagedQueue)(nil)
	_ sdk.BatchWriter = (*pagedQueue)(nil)
)

const pagedSchema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS marks (page INTEGER PRIMARY KEY, popped BLOB NOT NULL, acked BLOB NOT NULL);`

// openPagedQueue opens or creates the queue file in the directory key.
func openPagedQueue(key string, lifo bool, synchronous string) (*pagedQueue, error) {
	if key == "" {
		return nil, errEmptyKey
	}
	if err := os.MkdirAll(key, 0o755); err != nil {
		return nil, fmt.Errorf("sqlitequeue: %w", err)
	}
	path := filepath.Join(key, fileName)
	db, err := sql.Open("sqlite", dsn(path, synchronous))
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	q := &pagedQueue{db: db, lifo: lifo, byID: map[int64]*page{}}
	if err := q.init(); err != nil {
		q.stmts.close()
		db.Close()
		return nil, fmt.Errorf("sqlitequeue: %s: %w", path, err)
	}
	return q, nil
}

func (q *pagedQueue) init() error {
	k := kindFifo
	if q.lifo {
		k = kindLifo
	}
	err := withTx(q.db, func(tx *sql.Tx) error {
		if _, err := tx.Exec(pagedSchema); err != nil {
			return err
		}
		if err := checkMeta(tx, "format", formatVersion, errFormatVersion); err != nil {
			return err
		}
		if err := checkMeta(tx, "kind", k.String(), errKindMismatch); err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT p.id, p.n, m.page IS NOT NULL, m.popped, m.acked FROM pages p LEFT JOIN marks m ON m.page = p.id ORDER BY p.id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n int
			var marked bool
			var popped, acked []byte
			if err := rows.Scan(&id, &n, &marked, &popped, &acked); err != nil {
				return err
			}
			p, err := restorePage(id, n, marked, popped, acked)
			if err != nil {
				return err
			}
			if p.nacked == n {
				continue // fully acknowledged; deleted at the next write
			}
			q.pages = append(q.pages, p)
			q.byID[id] = p
			q.pending += p.pending
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	return q.stmts.prepare(q.db, []stmt{
		{&q.insert, `INSERT INTO pages (n, data) VALUES (?, ?)`},
		{&q.load, `SELECT data FROM pages WHERE id = ?`},
		{&q.mark, `INSERT INTO marks (page, popped, acked) VALUES (?, ?, ?)
			ON CONFLICT (page) DO UPDATE SET popped = excluded.popped, acked = excluded.acked`},
		{&q.drop, `DELETE FROM pages WHERE id = ?`},
		{&q.unmark, `DELETE FROM marks WHERE page = ?`},
	})
}

func restorePage(id int64, n int, marked bool, popped, acked []byte) (*page, error) {
	if n <= 0 || n > maxPageRecs {
		return nil, fmt.Errorf("page %d: %d records", id, n)
	}
	size := (n + 7) / 8
	p := &page{id: id, state: make([]byte, n), popped: make([]byte, size), acked: make([]byte, size), redeliv: make([]byte, size)}
	if marked {
		if len(popped) != size || len(acked) != size {
			return nil, fmt.Errorf("page %d: marks of %d and %d bytes for %d records", id, len(popped), len(acked), n)
		}
		copy(p.popped, popped)
		copy(p.acked, acked)
		p.hasMarks = true
	}
	for i := range n {
		switch {
		case bit(p.acked, i):
			p.state[i] = stAcked
			p.nacked++
		case bit(p.popped, i):
			setBit(p.redeliv, i, true)
			p.pending++
		default:
			p.pending++
		}
	}
	return p, nil
}

func withTx(db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// loadRecords reads a page's records.
func (q *pagedQueue) loadRecords(tx *sql.Tx, p *page) error {
	var data []byte
	if err := tx.Stmt(q.load).QueryRow(p.id).Scan(&data); err != nil {
		return fmt.Errorf("page %d: %w", p.id, err)
	}
	recs, err := decodePage(data, len(p.state))
	if err != nil {
		return fmt.Errorf("page %d: %w", p.id, err)
	}
	p.records = recs
	return nil
}

// decodePage splits a page's data into its n records.
func decodePage(data []byte, n int) ([][]byte, error) {
	if n <= 0 || n > maxPageRecs {
		return nil, fmt.Errorf("%d records in a page", n)
	}
	recs := make([][]byte, 0, n)
	for len(data) > 0 {
		size, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < size {
			return nil, fmt.Errorf("corrupt record %d", len(recs))
		}
		recs = append(recs, data[k:k+int(size)])
		data = data[k+int(size):]
	}
	if len(recs) != n {
		return nil, fmt.Errorf("%d records, %d expected", len(recs), n)
	}
	return recs, nil
}

// Pop hands out up to max pending records in FIFO or LIFO order.
func (q *pagedQueue) Pop(max int) ([]sdk.Delivery, error) {
	if max <= 0 || q.pending == 0 {
		return nil, nil
	}
	var out []sdk.Delivery
	var touched []*page
	err := withTx(q.db, func(tx *sql.Tx) error {
		for pi := range q.pages {
			if len(out) == max {
				break
			}
			p := q.pages[pi]
			if q.lifo {
				p = q.pages[len(q.pages)-1-pi]
			}
			if p.pending == 0 {
				continue
			}
			if p.records == nil {
				if err := q.loadRecords(tx, p); err != nil {
					return err
				}
			}
			n := len(p.state)
			for j := 0; j < n && len(out) < max; j++ {
				i := j
				if q.lifo {
					i = n - 1 - j
				}
				if p.state[i] != stPending {
					continue
				}
				out = append(out, sdk.Delivery{ID: uint64(p.id)<<idxBits | uint64(i), Record: p.records[i], Redelivered: bit(p.redeliv, i)})
				p.state[i] = stInFlight
				p.pending--
				if !bit(p.popped, i) {
					setBit(p.popped, i, true)
					p.dirty = true
				}
			}
			if p.dirty {
				touched = append(touched, p)
			}
		}
		return q.writeMarks(tx, touched)
	})
	if err != nil {
		q.rollback(touched)
		return nil, fmt.Errorf("pop: %w", err)
	}
	for _, p := range touched {
		if p.pending == 0 {
			p.records = nil
		}
	}
	q.pending -= len(out)
	q.inFlight += len(out)
	return out, nil
}

// writeMarks writes the marks of the pages changed in tx.
func (q *pagedQueue) writeMarks(tx *sql.Tx, pages []*page) error {
	for _, p := range pages {
		if !p.dirty {
			continue
		}
		p.dirty = false
		if p.nacked == len(p.state) {
			if _, err := tx.Stmt(q.drop).Exec(p.id); err != nil {
				return err
			}
			if _, err := tx.Stmt(q.unmark).Exec(p.id); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.Stmt(q.mark).Exec(p.id, p.popped, p.acked); err != nil {
			return err
		}
		p.hasMarks = true
	}
	return nil
}

// rollback makes memory match the database again after a failed
// transaction: the simplest correct way is to reload everything.
func (q *pagedQueue) rollback([]*page) {
	q.pages, q.byID, q.pending, q.inFlight = nil, map[int64]*page{}, 0, 0
	q.stmts.close()
	if err := q.init(); err != nil {
		q.pages = nil
	}
}

// Push adds entries as new pages.
func (q *pagedQueue) Push(entries []sdk.Entry) error { return q.Write(nil, nil, entries) }

// Ack acknowledges in-flight records.
func (q *pagedQueue) Ack(ids []uint64) error { return q.Write(ids, nil, nil) }

// Release returns in-flight records to their place.
func (q *pagedQueue) Release(ids []uint64) error { return q.Write(nil, ids, nil) }

// locate finds an in-flight record.
func (q *pagedQueue) locate(id uint64) (*page, int, bool) {
	p := q.byID[int64(id>>idxBits)]
	i := int(id & (1<<idxBits - 1))
	if p == nil || i >= len(p.state) || p.state[i] != stInFlight {
		return nil, 0, false
	}
	return p, i, true
}

// Write applies acknowledgements, releases and pushes in one transaction.
func (q *pagedQueue) Write(ack, release []uint64, push []sdk.Entry) error {
	var touched []*page
	var added []*page
	acked, released := 0, 0
	err := withTx(q.db, func(tx *sql.Tx) error {
		for _, id := range ack {
			p, i, ok := q.locate(id)
			if !ok {
				continue
			}
			p.state[i] = stAcked
			setBit(p.acked, i, true)
			p.nacked++
			acked++
			if !p.dirty {
				p.dirty = true
				touched = append(touched, p)
			}
		}
		for _, id := range release {
			p, i, ok := q.locate(id)
			if !ok {
				continue
			}
			p.state[i] = stPending
			p.pending++
			released++
			if r := bit(p.redeliv, i); bit(p.popped, i) != r {
				setBit(p.popped, i, r)
				if !p.dirty {
					p.dirty = true
					touched = append(touched, p)
				}
			}
		}
		if err := q.writeMarks(tx, touched); err != nil {
			return err
		}
		for len(push) > 0 {
			n := min(len(push), maxPageRecs)
			size := 0
			for _, e := range push[:n] {
				size += binary.MaxVarintLen32 + len(e.Record)
			}
			data := make([]byte, 0, size)
			recs := make([][]byte, n)
			for i, e := range push[:n] {
				data = binary.AppendUvarint(data, uint64(len(e.Record)))
				start := len(data)
				data = append(data, e.Record...)
				recs[i] = data[start:]
			}
			res, err := tx.Stmt(q.insert).Exec(n, data)
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			id, err := res.LastInsertId()
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			if uint64(id) >= 1<<(64-idxBits) {
				return errors.New("push: page ids exhausted")
			}
			size = (n + 7) / 8
			added = append(added, &page{id: id, state: make([]byte, n), popped: make([]byte, size), acked: make([]byte, size),
				redeliv: make([]byte, size), pending: n, records: recs})
			push = push[n:]
		}
		return nil
	})
	if err != nil {
		q.rollback(touched)
		return err
	}
	for _, p := range added {
		q.pages = append(q.pages, p)
		q.byID[p.id] = p
		q.pending += p.pending
	}
	q.pending += released
	q.inFlight -= acked + released
	// Forget fully acknowledged pages.
	if acked > 0 {
		q.pages = slices.DeleteFunc(q.pages, func(p *page) bool {
			if p.nacked == len(p.state) {
				delete(q.byID, p.id)
				return true
			}
			return false
		})
	}
	return nil
}

// Len returns the counts.
func (q *pagedQueue) Len() sdk.State { return sdk.State{Pending: q.pending, InFlight: q.inFlight} }

// Close closes the database. What is in flight is pending again when the
// file is next opened, marked redelivered.
func (q *pagedQueue) Close() error {
	return errors.Join(q.stmts.close(), q.db.Close())
}
