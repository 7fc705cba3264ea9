package queuestore

// Has reports whether dir, a persistent priority queue's directory,
// holds a queue store (its checkpoint, queue.index). A job without one whose
// bucket journal lists buckets keeps each bucket as a file or directory.
func Has(dir string) bool { return hasStore(dir) }

// IsFile reports whether name, a file name in a persistent priority
// queue's directory, belongs to its queue store: the checkpoint, a
// checkpoint being written (a crash can leave one; the next checkpoint
// replaces it) or a segment. Tools that look for stray files use it.
func IsFile(name string) bool {
	if name == IndexFile || name == IndexFile+".tmp" {
		return true
	}
	_, ok := parseStoreSegName(name)
	return ok
}
