package queues

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/builtin/queues/queuestore"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// errFirstRecord stops a read after the first record.
var errFirstRecord = errors.New("queues: first record read")

// RebuildBucketNames lists, in the persistent priority queue at key, the
// buckets the data holds, named as the bucket journal names them: the
// queue store's buckets holding requests (st, when not nil), else the
// buckets' own files and directories. dapq is true for the downloader-aware
// queue, whose slot directories are PathSafe(slot): the slot is the
// directory's name when it only holds safe characters, else the slot of
// the bucket's first request. A lost bucket journal is rebuilt from it.
func RebuildBucketNames(key string, dapq bool, st *queuestore.Store) ([]string, error) {
	var rels []string
	if st != nil {
		for _, b := range st.Buckets() {
			if b.Len > 0 {
				rels = append(rels, b.Key)
			}
		}
	} else {
		var err error
		if rels, err = bucketFiles(key, dapq); err != nil {
			return nil, err
		}
	}
	var names []string
	for _, rel := range rels {
		name, err := bucketNameOf(key, rel, dapq, st)
		if err != nil {
			return nil, fmt.Errorf("queues: rebuild the bucket journal of %s: bucket %s: %w", key, rel, err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// UnlistedBuckets returns, named as the bucket journal names them, the
// buckets the data of the persistent priority queue at key holds (as
// RebuildBucketNames finds them) that the journal neither lists as live
// (listed) nor says were removed (removed): the store and the bucket files
// are the truth about data, the journal only names buckets, so a journal
// cut, damaged or lost loses none of them. A bucket whose name cannot be
// told (a files-layout bucket of the other priority queue, a directory
// whose requests do not decode) is skipped and its error returned in
// skipped; the rest are still returned.
func UnlistedBuckets(key string, dapq bool, st *queuestore.Store, listed, removed []string) (names []string, skipped []error) {
	var rels []string
	if st != nil {
		for _, b := range st.Buckets() {
			if b.Len > 0 {
				rels = append(rels, b.Key)
			}
		}
	} else {
		var err error
		if rels, err = bucketFiles(key, dapq); err != nil {
			return nil, []error{fmt.Errorf("queues: list the buckets of %s: %w", key, err)}
		}
	}
	known := make(map[string]bool, len(listed)+len(removed))
	for _, name := range append(slices.Clone(listed), removed...) {
		if b, err := ParseBucket(key, name); err == nil {
			if rel, err := filepath.Rel(key, b.Path); err == nil {
				known[filepath.ToSlash(rel)] = true
			}
		}
	}
	for _, rel := range rels {
		if known[rel] {
			continue
		}
		name, err := bucketNameOf(key, rel, dapq, st)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("queues: bucket %s of %s: %w", rel, key, err))
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names, skipped
}

// errAboveMark stops a read at the first record above a removal's mark.
var errAboveMark = errors.New("queues: record above the removal's mark")

// RecreatedBuckets returns, among the buckets the bucket journal bs says
// were removed, those whose data (the queue store st, when not nil, else
// the buckets' files under key) holds a pending record whose delivery
// identifier is above the mark of that removal: the bucket was created
// again after it and the journal lost that creation (cut between the two
// records). Those records are the new bucket's, not a drained bucket's
// leftovers: a resume keeps them. A removal without a mark (format 2) is
// trusted as it is. A bucket whose data cannot be read is not returned.
func RecreatedBuckets(key string, st *queuestore.Store, bs jobdir.BucketState) []string {
	var out []string
	for _, name := range bs.Removed {
		mark, ok := bs.Marks[name]
		if !ok {
			continue
		}
		b, err := ParseBucket(key, name)
		if err != nil {
			continue
		}
		found := false
		if st != nil {
			rel, rerr := filepath.Rel(key, b.Path)
			if rerr != nil {
				continue
			}
			_ = st.Records(filepath.ToSlash(rel), func(id uint64, _ []byte) error {
				if found = id > mark; found {
					return errAboveMark
				}
				return nil
			})
		} else {
			_, _ = filequeue.Verify(b.Path, func(r filequeue.Record) error {
				found = found || r.ID > mark
				return nil
			})
		}
		if found {
			out = append(out, name)
		}
	}
	return out
}

// bucketFiles lists the buckets kept as files or directories under key,
// relative to key with forward slashes.
func bucketFiles(key string, dapq bool) ([]string, error) {
	ents, err := os.ReadDir(key)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var rels []string
	for _, e := range ents {
		if !dapq {
			if _, _, _, err := parseBucketName(e.Name(), false); err == nil {
				rels = append(rels, e.Name())
			}
			continue
		}
		if !e.IsDir() || strings.HasPrefix(e.Name(), jobdir.DamagedDirPrefix) {
			continue
		}
		sub, err := os.ReadDir(filepath.Join(key, e.Name()))
		if err != nil {
			return nil, err
		}
		for _, s := range sub {
			if _, _, _, err := parseBucketName(s.Name(), false); err == nil {
				rels = append(rels, e.Name()+"/"+s.Name())
			}
		}
	}
	return rels, nil
}

// bucketNameOf returns the journal name of the bucket at rel.
func bucketNameOf(key, rel string, dapq bool, st *queuestore.Store) (string, error) {
	dir, suffix, hasDir := strings.Cut(rel, "/")
	if !dapq {
		if hasDir {
			return "", fmt.Errorf("%w: a DownloaderAwarePriorityQueue's bucket in a ScrapyPriorityQueue", jobdir.ErrPriorityQueueMismatch)
		}
		_, _, _, err := parseBucketName(rel, false)
		return rel, err
	}
	if !hasDir {
		return "", fmt.Errorf("%w: a ScrapyPriorityQueue's bucket in a DownloaderAwarePriorityQueue", jobdir.ErrPriorityQueueMismatch)
	}
	if _, _, _, err := parseBucketName(suffix, false); err != nil {
		return "", err
	}
	if i := strings.LastIndexByte(dir, '-'); i > 0 && PathSafe(dir[:i]) == dir {
		return suffix + "/" + dir[:i], nil
	}
	slot, err := firstSlot(filepath.Join(key, filepath.FromSlash(rel)), rel, st)
	if err != nil {
		return "", err
	}
	if PathSafe(slot) != dir {
		return "", fmt.Errorf("its first request's slot %q is not the directory's", slot)
	}
	return suffix + "/" + slot, nil
}

// firstSlot returns the download slot of the first request of the bucket.
func firstSlot(path, rel string, st *queuestore.Store) (string, error) {
	var slot string
	found := false
	take := func(rec []byte) error {
		r, err := framework.DecodeRequest(rec, nil)
		if err != nil {
			return err
		}
		slot, found = r.Slot(), true
		return errFirstRecord
	}
	var err error
	if st != nil {
		err = st.Records(rel, func(_ uint64, rec []byte) error { return take(rec) })
	} else {
		_, err = filequeue.Verify(path, func(r filequeue.Record) error { return take(r.Payload) })
	}
	if err != nil && !errors.Is(err, errFirstRecord) {
		return "", err
	}
	if !found {
		return "", errors.New("no request tells its download slot")
	}
	return slot, nil
}

// Registry names of the built-in priority queues, as a job's manifest
// records them.
const (
	PriorityName        = "frontier.pqueues.Priority"
	DownloaderAwareName = "frontier.pqueues.DownloaderAware"
)

// IsBuiltinPriorityQueue reports whether name is a built-in priority
// queue's registry name.
func IsBuiltinPriorityQueue(name string) bool {
	return name == PriorityName || name == DownloaderAwareName
}

// InferDAPQ reports whether the data of the persistent priority queue at
// key is the downloader-aware queue's: its buckets sit in slot directories
// (a queue store's bucket keys with a slot, or bucket files one directory
// down), or its bucket journal names slots.
func InferDAPQ(key string, st *queuestore.Store) bool {
	if st != nil {
		for _, b := range st.Buckets() {
			if strings.Contains(b.Key, "/") {
				return true
			}
		}
	}
	if data, err := os.ReadFile(filepath.Join(key, jobdir.BucketJournalFile)); err == nil {
		if bs, err := jobdir.DecodeBuckets(data); err == nil {
			for _, name := range bs.Live {
				if strings.Contains(name, "/") {
					return true
				}
			}
		}
	}
	rels, _ := bucketFiles(key, true)
	return len(rels) > 0
}
