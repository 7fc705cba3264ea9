package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/frontier-go/frontier/plugins/sdk"
)

// formatVersion is the version of the queue file's schema, kept in its meta
// table; a file of another version is refused.
const formatVersion = "1"

// fileName is the queue file inside a queue's key directory.
const fileName = "queue.sqlite3"

// kind is what a queue file holds; it fixes the pop order.
type kind int

const (
	kindFifo kind = iota + 1
	kindLifo
	kindPriority      // higher priority first, FIFO within a priority
	kindPriorityStart // as kindPriority, regular before start at equal priority
)

func (k kind) String() string {
	switch k {
	case kindFifo:
		return "fifo"
	case kindLifo:
		return "lifo"
	case kindPriority:
		return "priority"
	default:
		return "priority-start"
	}
}

func (k kind) orderBy() string {
	switch k {
	case kindFifo:
		return "id"
	case kindLifo:
		return "id DESC"
	case kindPriority:
		return "priority DESC, id"
	default:
		return "priority DESC, start, id"
	}
}

// queue is a queue stored in one SQLite database: pending rows in one table,
// in-flight rows in another, moved in the same transaction, so the id (the
// place in the queue) survives a pop and a release. Ids come from
// AUTOINCREMENT and are never reused.
type queue struct {
	db       *sql.DB
	kind     kind
	pending  int
	inFlight int
	stmts    statements
	push     *sql.Stmt // record, priority, start
	pop      *sql.Stmt // limit: id, record, redelivered in pop order
	take     *sql.Stmt // bound or id list: pending -> inflight
	drop     *sql.Stmt // bound or id list: delete from pending
	ack      *sql.Stmt // id list: delete from inflight
	back     *sql.Stmt // id list: inflight -> pending
	unflight *sql.Stmt // id list: delete from inflight (after back)
}

var (
	_ sdk.Queue       = (*queue)(nil)
	_ sdk.BatchWriter = (*queue)(nil)
)

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	record BLOB NOT NULL,
	priority INTEGER NOT NULL DEFAULT 0,
	start INTEGER NOT NULL DEFAULT 0,
	redelivered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS inflight (
	id INTEGER PRIMARY KEY,
	record BLOB NOT NULL,
	priority INTEGER NOT NULL,
	start INTEGER NOT NULL,
	redelivered INTEGER NOT NULL
);`

// dsn builds a modernc.org/sqlite data source name for path: the WAL
// journal, the configured synchronous level, and an exclusive lock held
// while the file is open, which spares a lock and unlock per transaction
// and keeps a second process off the file. Pages keep SQLite's default size:
// a scheduler may open thousands of small queues (one per priority and
// download slot), and an empty file is a few pages.
func dsn(path, synchronous string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?_pragma=journal_mode(WAL)&_pragma=locking_mode(EXCLUSIVE)" +
		"&_pragma=synchronous(" + synchronous + ")&_pragma=busy_timeout(5000)&_txlock=immediate"
}

// openQueue opens or creates the queue file in the directory key. What was
// in flight when it was last closed (or its process died) becomes pending
// again, marked redelivered.
func openQueue(key string, k kind, synchronous string) (*queue, error) {
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
	q, err := newQueue(db, k)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitequeue: %s: %w", path, err)
	}
	return q, nil
}

// openMemoryQueue opens a queue that lives in memory only, for the
// scheduler's memory priority queue.
func openMemoryQueue(k kind) (*queue, error) {
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: %w", err)
	}
	q, err := newQueue(db, k)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitequeue: memory queue: %w", err)
	}
	return q, nil
}

func newQueue(db *sql.DB, k kind) (*queue, error) {
	// One connection: calls are serialised anyway, and an in-memory
	// database lives as long as its connection.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	q := &queue{db: db, kind: k}
	err := q.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(schema); err != nil {
			return err
		}
		if k == kindPriority || k == kindPriorityStart {
			if _, err := tx.Exec(`CREATE INDEX IF NOT EXISTS pending_order ON pending(` + k.orderBy() + `)`); err != nil {
				return err
			}
		}
		if err := checkMeta(tx, "format", formatVersion, errFormatVersion); err != nil {
			return err
		}
		if err := checkMeta(tx, "kind", k.String(), errKindMismatch); err != nil {
			return err
		}
		// Recovery: whatever is in flight goes back to its place, marked
		// redelivered.
		if _, err := tx.Exec(`INSERT INTO pending (id, record, priority, start, redelivered)
			SELECT id, record, priority, start, 1 FROM inflight`); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM inflight`); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT count(*) FROM pending`).Scan(&q.pending)
	})
	if err != nil {
		return nil, err
	}
	// Popped rows are the lowest ids (FIFO) or the highest (LIFO) of the
	// pending table, so a bound selects them; a priority queue's are listed.
	sel := `id IN (SELECT value FROM json_each(?))`
	switch k {
	case kindFifo:
		sel = `id <= ?`
	case kindLifo:
		sel = `id >= ?`
	}
	if err := q.stmts.prepare(db, []stmt{
		{&q.push, `INSERT INTO pending (record, priority, start) VALUES (?, ?, ?)`},
		{&q.pop, `SELECT id, record, redelivered FROM pending ORDER BY ` + k.orderBy() + ` LIMIT ?`},
		{&q.take, `INSERT INTO inflight (id, record, priority, start, redelivered)
			SELECT id, record, priority, start, redelivered FROM pending WHERE ` + sel},
		{&q.drop, `DELETE FROM pending WHERE ` + sel},
		{&q.ack, `DELETE FROM inflight WHERE id IN (SELECT value FROM json_each(?))`},
		{&q.back, `INSERT INTO pending (id, record, priority, start, redelivered)
			SELECT id, record, priority, start, redelivered FROM inflight WHERE id IN (SELECT value FROM json_each(?))`},
		{&q.unflight, `DELETE FROM inflight WHERE id IN (SELECT value FROM json_each(?))`},
	}); err != nil {
		q.stmts.close()
		return nil, err
	}
	return q, nil
}

// checkMeta records key=want in a new file, or checks it in an old one.
func checkMeta(tx *sql.Tx, key, want string, mismatch error) error {
	var have string
	err := tx.QueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&have)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.Exec(`INSERT INTO meta (key, value) VALUES (?, ?)`, key, want)
		return err
	case err != nil:
		return err
	case have != want:
		return fmt.Errorf("%w: %s is %q, this queue needs %q", mismatch, key, have, want)
	}
	return nil
}

func (q *queue) tx(fn func(*sql.Tx) error) error {
	tx, err := q.db.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// idList renders ids as a JSON array for json_each.
func idList(ids []uint64) string {
	b := make([]byte, 0, len(ids)*8+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, id, 10)
	}
	return string(append(b, ']'))
}

// Push adds entries in one transaction.
func (q *queue) Push(entries []sdk.Entry) error { return q.Write(nil, nil, entries) }

// Ack deletes in-flight rows.
func (q *queue) Ack(ids []uint64) error { return q.Write(ids, nil, nil) }

// Release moves in-flight rows back to pending, at their old place.
func (q *queue) Release(ids []uint64) error { return q.Write(nil, ids, nil) }

// Write applies acknowledgements, releases and pushes in one transaction.
func (q *queue) Write(ack, release []uint64, push []sdk.Entry) error {
	var acked, released int64
	err := q.tx(func(tx *sql.Tx) error {
		if len(ack) > 0 {
			res, err := tx.Stmt(q.ack).Exec(idList(ack))
			if err != nil {
				return fmt.Errorf("ack: %w", err)
			}
			acked, _ = res.RowsAffected()
		}
		if len(release) > 0 {
			l := idList(release)
			res, err := tx.Stmt(q.back).Exec(l)
			if err != nil {
				return fmt.Errorf("release: %w", err)
			}
			released, _ = res.RowsAffected()
			if _, err := tx.Stmt(q.unflight).Exec(l); err != nil {
				return fmt.Errorf("release: %w", err)
			}
		}
		if len(push) > 0 {
			st := tx.Stmt(q.push)
			for _, e := range push {
				if _, err := st.Exec(e.Record, e.Priority, e.Start); err != nil {
					return fmt.Errorf("push: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	q.inFlight -= int(acked + released)
	q.pending += int(released) + len(push)
	return nil
}

// Pop moves up to max rows, in the queue's order, to the in-flight table.
func (q *queue) Pop(max int) ([]sdk.Delivery, error) {
	if max <= 0 || q.pending == 0 {
		return nil, nil
	}
	var out []sdk.Delivery
	err := q.tx(func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := tx.Stmt(q.pop).Query(max)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d sdk.Delivery
			if err := rows.Scan(&d.ID, &d.Record, &d.Redelivered); err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		var arg any
		switch q.kind {
		case kindFifo, kindLifo:
			arg = int64(out[len(out)-1].ID) // the last popped is the bound
		default:
			ids := make([]uint64, len(out))
			for i, d := range out {
				ids[i] = d.ID
			}
			arg = idList(ids)
		}
		res, err := tx.Stmt(q.take).Exec(arg)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != int64(len(out)) {
			return fmt.Errorf("moved %d rows in flight, popped %d", n, len(out))
		}
		_, err = tx.Stmt(q.drop).Exec(arg)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pop: %w", err)
	}
	q.pending -= len(out)
	q.inFlight += len(out)
	return out, nil
}

// Len returns the counts kept since open.
func (q *queue) Len() sdk.State { return sdk.State{Pending: q.pending, InFlight: q.inFlight} }

// statements are a queue's prepared statements, closed together.
type statements []*sql.Stmt

// stmt is a statement to prepare into a queue's field.
type stmt struct {
	dst **sql.Stmt
	sql string
}

// prepare prepares each statement into its field. After an error the set
// holds those prepared before it, for close.
func (s *statements) prepare(db *sql.DB, list []stmt) error {
	for _, p := range list {
		st, err := db.Prepare(p.sql)
		if err != nil {
			return err
		}
		*p.dst = st
		*s = append(*s, st)
	}
	return nil
}

func (s *statements) close() error {
	var errs []error
	for _, st := range *s {
		errs = append(errs, st.Close())
	}
	*s = nil
	return errors.Join(errs...)
}

// Close closes the database; rows in flight stay in flight until reopened.
func (q *queue) Close() error {
	return errors.Join(q.stmts.close(), q.db.Close())
}
