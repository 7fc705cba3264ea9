package main

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/frontier-go/frontier/plugins/sdk"
)

// dupeFileName is the duplicate filter's file inside JOBDIR.
const dupeFileName = "sqlitequeue-seen.sqlite3"

// dupeFilter remembers fingerprints: those of earlier runs in SQLite, those
// of this run in memory until Close writes them. A fingerprint must never be
// durable before the request it describes (a crash would then lose the
// request for good), and the plugin cannot know when the host's queues made
// a request durable; at close they have. A crash therefore forgets this
// run's fingerprints, which only means some requests are crawled again.
type dupeFilter struct {
	db  *sql.DB // nil without JOBDIR
	new map[string]struct{}
}

var _ sdk.DupeFilter = (*dupeFilter)(nil)

func openDupeFilter(jobDir, synchronous string) (*dupeFilter, error) {
	d := &dupeFilter{new: map[string]struct{}{}}
	if jobDir == "" {
		return d, nil
	}
	if err := os.MkdirAll(jobDir, 0o755); err != nil {
		return nil, fmt.Errorf("sqlitequeue: %w", err)
	}
	path := filepath.Join(jobDir, dupeFileName)
	db, err := sql.Open("sqlite", dsn(path, synchronous))
	if err != nil {
		return nil, fmt.Errorf("sqlitequeue: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS seen (fp BLOB PRIMARY KEY) WITHOUT ROWID`); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitequeue: %s: %w", path, err)
	}
	d.db = db
	return d, nil
}

// Seen records r's fingerprint and reports whether it was recorded before.
func (d *dupeFilter) Seen(r sdk.SeenRequest) (bool, error) {
	k := string(r.Fingerprint)
	if _, ok := d.new[k]; ok {
		return true, nil
	}
	if d.db != nil {
		var one int
		err := d.db.QueryRow(`SELECT 1 FROM seen WHERE fp = ?`, r.Fingerprint).Scan(&one)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("sqlitequeue: seen: %w", err)
		}
	}
	d.new[k] = struct{}{}
	return false, nil
}

// Close writes this run's fingerprints in one transaction.
func (d *dupeFilter) Close(string) error {
	if d.db == nil {
		return nil
	}
	err := func() error {
		tx, err := d.db.Begin()
		if err != nil {
			return err
		}
		st, err := tx.Prepare(`INSERT OR IGNORE INTO seen (fp) VALUES (?)`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for k := range d.new {
			if _, err := st.Exec([]byte(k)); err != nil {
				tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	}()
	return errors.Join(err, d.db.Close())
}
