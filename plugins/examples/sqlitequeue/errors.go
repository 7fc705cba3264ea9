package main

import "errors"

// Errors of the queue store.
var (
	errEmptyKey      = errors.New("sqlitequeue: empty key (a disk queue needs a directory)")
	errKindMismatch  = errors.New("sqlitequeue: queue file holds another kind of queue")
	errFormatVersion = errors.New("sqlitequeue: unknown queue file format version")
	errCorrupt       = errors.New("sqlitequeue: the job store's tables disagree (restore the job directory from a backup, or delete the file to start the job's queue afresh)")
)
