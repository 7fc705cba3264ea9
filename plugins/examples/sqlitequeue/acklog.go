package main

import (
	"database/sql"
	"slices"
)

// The job store's acknowledgements are logged, not applied in the Sync
// that brings them: the Sync appends the ids it acknowledges to the acked
// table (a row of up to ackRowIDs ids, in a few pages at the table's end),
// and a goroutine deletes their entries while no Sync runs, one log row per
// transaction, removing the row with them. Deleting an entry costs a seek
// in the entries table and dirties its page; the acknowledgements of a
// Sync are spread all over the table, and their deletes were the largest
// part of a Sync's work: logged, they are done while the host works on
// what the last Sync popped.
//
// An entry whose id is logged is neither pending nor in flight; it stays in
// the table until its log row is applied. Opening the store applies the
// whole log first, in the transaction that reads the entries. A Sync that
// would leave more than maxAckBacklog ids logged applies the oldest rows
// itself, so the log stays bounded when the store is never idle.

// ackRowIDs is how many ids a log row holds: the deleter applies one row
// per transaction, so a Sync arriving meanwhile waits for at most that
// many deletes (about a millisecond).
const ackRowIDs = 512

// maxAckBacklog bounds the ids logged and not applied; tests lower it.
var maxAckBacklog = 65536

// startDeleter runs the deleter; tests turn it off to find the log as a
// killed process leaves it.
var startDeleter = true

// ackRow is a row of the log in memory: its key and how many ids it holds.
type ackRow struct {
	seq int64
	n   int
}

// ackLog is what a Sync does to the log, applied to the memory state once
// it committed.
type ackLog struct {
	added   []ackRow
	applied int // rows taken from the front of the log
}

// logAcks appends acks (in flight, not logged before) to the log in tx.
func (s *jobStore) logAcks(tx *sql.Tx, acks []int64, l *ackLog) error {
	slices.Sort(acks)
	seq := s.nextSeq
	for len(acks) > 0 {
		n := min(len(acks), ackRowIDs)
		var list rowIDs
		list.add(acks[:n]...)
		if _, err := tx.Stmt(s.logAck).Exec(seq, list.json()); err != nil {
			return err
		}
		l.added = append(l.added, ackRow{seq: seq, n: n})
		seq++
		acks = acks[n:]
	}
	// Over the bound: apply the oldest rows, older first, those this Sync
	// logged included.
	backlog := s.backlog
	for _, r := range l.added {
		backlog += r.n
	}
	rows := append(s.ackRows[:len(s.ackRows):len(s.ackRows)], l.added...)
	for backlog > maxAckBacklog && l.applied < len(rows) {
		if err := s.applyAckRow(tx, rows[l.applied].seq); err != nil {
			return err
		}
		backlog -= rows[l.applied].n
		l.applied++
	}
	return nil
}

// commitAckLog applies l to the memory state.
func (s *jobStore) commitAckLog(l ackLog) {
	for _, r := range l.added {
		s.ackRows = append(s.ackRows, r)
		s.backlog += r.n
		s.nextSeq = r.seq + 1
	}
	for _, r := range s.ackRows[:l.applied] {
		s.backlog -= r.n
	}
	s.ackRows = s.ackRows[l.applied:]
	if len(s.ackRows) > 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// applyAckRow deletes the entries of the log row seq, and the row.
func (s *jobStore) applyAckRow(tx *sql.Tx, seq int64) error {
	if _, err := tx.Stmt(s.applyAck).Exec(seq); err != nil {
		return err
	}
	_, err := tx.Stmt(s.dropAck).Exec(seq)
	return err
}

// applyAckLog applies the whole log in tx, as the store opens.
func applyAckLog(tx *sql.Tx) error {
	if _, err := tx.Exec(`DELETE FROM entries WHERE id IN (SELECT j.value FROM acked, json_each(acked.ids) AS j)`); err != nil {
		return err
	}
	_, err := tx.Exec(`DELETE FROM acked`)
	return err
}

// deleteAcked is the deleter: woken after a Sync that left rows in the
// log, it applies them one per transaction, stepping aside for every
// Sync, until the log is empty or the store closes. A row that fails to
// apply stays in the log for the next try (or the next open).
func (s *jobStore) deleteAcked() {
	defer close(s.deleterDone)
	for range s.wake {
		for {
			s.mu.Lock()
			for s.syncing.Load() > 0 && !s.closing {
				s.idle.Wait()
			}
			if s.closing || len(s.ackRows) == 0 {
				s.mu.Unlock()
				break
			}
			r := s.ackRows[0]
			err := withTx(s.db, func(tx *sql.Tx) error { return s.applyAckRow(tx, r.seq) })
			if err == nil {
				s.ackRows = s.ackRows[1:]
				s.backlog -= r.n
			}
			s.mu.Unlock()
			if err != nil {
				break
			}
		}
	}
}

// stopDeleter stops the deleter and waits for it; the log keeps what it
// did not apply.
func (s *jobStore) stopDeleter() {
	if s.wake == nil {
		return
	}
	s.mu.Lock()
	s.closing = true
	s.idle.Broadcast()
	s.mu.Unlock()
	close(s.wake)
	<-s.deleterDone
	s.wake = nil
}
