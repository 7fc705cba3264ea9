package damage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// File kinds, by what the file is in a job directory.
const (
	KindManifest     = "manifest"
	KindState        = "spider.state"
	KindLock         = "lock"
	KindInFlight     = "inflight"
	KindFingerprints = "fingerprints"
	KindFeedLog      = "feeds.log"
	KindBuckets      = "buckets.journal"
	KindIndex        = "queue.index"
	KindSegment      = "segment"
	KindQueueFile    = "queue file"
	KindOther        = "other"
)

// Span is a byte range [Off, End) of a file, by its path relative to the
// job directory.
type Span struct {
	File     string
	Off, End int64
}

// FileInfo is one file of an undamaged job.
type FileInfo struct {
	Rel  string
	Kind string
	Size int64
	// Header is the size of what comes before the frames (a magic number,
	// a queue file's header); Frames are the frames after it, whole.
	Header int64
	Frames []Span
}

// Oracle says, for an undamaged job, which bytes each request needs: a
// request is recoverable after damage as long as one of its copies has
// every span it needs intact.
type Oracle struct {
	Files []*FileInfo
	// Queued are the copies of each request in the disk queues: for the
	// queue store, the chunk frame holding it, its segment's header frame
	// and the declaration of its bucket; for queue files, the frame and the
	// file's magic number.
	Queued map[string][][]Span
	// Journaled are the copies of each request in the in-flight journal (a
	// D frame each).
	Journaled map[string][][]Span
}

// File returns the file named rel, or nil.
func (o *Oracle) File(rel string) *FileInfo {
	for _, f := range o.Files {
		if f.Rel == rel {
			return f
		}
	}
	return nil
}

// kindOf classifies the file at rel.
func kindOf(rel string) string {
	rel = filepath.ToSlash(rel)
	switch rel {
	case "frontier-job.json":
		return KindManifest
	case "spider.state":
		return KindState
	case "lock":
		return KindLock
	case "requests.inflight":
		return KindInFlight
	case "requests.fingerprints":
		return KindFingerprints
	case "feeds.log":
		return KindFeedLog
	case "requests.queue/buckets.journal":
		return KindBuckets
	case "requests.queue/queue.index":
		return KindIndex
	}
	if strings.HasPrefix(rel, "requests.queue/queue.") && strings.HasSuffix(rel, ".log") {
		return KindSegment
	}
	if strings.HasPrefix(rel, "requests.queue/") {
		return KindQueueFile
	}
	return KindOther
}

// headerSize is what comes before the frames of a file of kind.
func headerSize(kind string) int64 {
	switch kind {
	case KindFingerprints:
		return 8 // "FRSEEN\x00\x01"
	case KindQueueFile:
		return 80 // magic, fixed part, two cursor slots
	case KindInFlight, KindFeedLog, KindBuckets, KindIndex, KindSegment:
		return 0
	}
	return -1 // not framed
}

// ReadOracle reads every file of the undamaged job directory dir.
func ReadOracle(dir string, sp *framework.Spider) (*Oracle, error) {
	o := &Oracle{Queued: map[string][][]Span{}, Journaled: map[string][][]Span{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fi := &FileInfo{Rel: rel, Kind: kindOf(rel), Size: int64(len(data)), Header: headerSize(kindOf(rel))}
		if fi.Header >= 0 && int64(len(data)) >= fi.Header {
			fi.Frames = frames(data, fi.Header)
		}
		o.Files = append(o.Files, fi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("damage: read oracle of %s: %w", dir, err)
	}
	sort.Slice(o.Files, func(i, j int) bool { return o.Files[i].Rel < o.Files[j].Rel })
	if err := o.readRecords(dir, sp); err != nil {
		return nil, fmt.Errorf("damage: read oracle of %s: %w", dir, err)
	}
	return o, nil
}

// frames returns the spans of the whole frames of data after off (a file
// of an undamaged job holds nothing else).
func frames(data []byte, off int64) []Span {
	var out []Span
	for off < int64(len(data)) {
		_, n, err := recordio.Next(data[off:])
		if err != nil {
			break
		}
		out = append(out, Span{Off: off, End: off + int64(n)})
		off += int64(n)
	}
	return out
}

// storeBucket is a bucket declaration of the queue store.
type storeBucket struct {
	decl []Span // B frames declaring it (segments, index)
}

// readRecords fills Queued and Journaled from the frames of the files.
func (o *Oracle) readRecords(dir string, sp *framework.Spider) error {
	buckets := map[uint64]*storeBucket{}
	bucket := func(id uint64) *storeBucket {
		if buckets[id] == nil {
			buckets[id] = &storeBucket{}
		}
		return buckets[id]
	}
	type chunkCopy struct {
		url      string
		frame    Span
		header   Span
		bucketID uint64
	}
	var chunks []chunkCopy
	var segmentDecl, indexDecl = map[uint64][]Span{}, map[uint64][]Span{}
	for _, fi := range o.Files {
		if len(fi.Frames) == 0 {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, fi.Rel))
		if err != nil {
			return err
		}
		for _, s := range fi.Frames {
			fr, _, err := recordio.Next(data[s.Off:s.End])
			if err != nil {
				return fmt.Errorf("%s at offset %d: %w", fi.Rel, s.Off, err)
			}
			span := Span{File: fi.Rel, Off: s.Off, End: s.End}
			p := fr.Payload
			switch fi.Kind {
			case KindQueueFile:
				r, err := framework.DecodeRequest(p, sp)
				if err != nil {
					return fmt.Errorf("%s at offset %d: %w", fi.Rel, s.Off, err)
				}
				magic := Span{File: fi.Rel, Off: 0, End: 8}
				o.Queued[r.URL] = append(o.Queued[r.URL], []Span{span, magic})
			case KindInFlight:
				if len(p) > 0 && p[0] == 'D' {
					_, n := binary.Uvarint(p[1:])
					if n <= 0 {
						return fmt.Errorf("%s at offset %d: bad delivery ID", fi.Rel, s.Off)
					}
					r, err := framework.DecodeRequest(p[1+n:], sp)
					if err != nil {
						return fmt.Errorf("%s at offset %d: %w", fi.Rel, s.Off, err)
					}
					o.Journaled[r.URL] = append(o.Journaled[r.URL], []Span{span})
				}
			case KindIndex:
				if len(p) > 0 && p[0] == 'B' {
					id, _ := binary.Uvarint(p[1:])
					indexDecl[id] = append(indexDecl[id], span)
				}
			case KindSegment:
				if len(p) == 0 {
					continue
				}
				switch p[0] {
				case 'B':
					id, _ := binary.Uvarint(p[1:])
					segmentDecl[id] = append(segmentDecl[id], span)
				case 'C', 'R':
					id, urls, err := chunkURLs(p[1:], sp)
					if err != nil {
						return fmt.Errorf("%s at offset %d: %w", fi.Rel, s.Off, err)
					}
					head := fi.Frames[0]
					head.File = fi.Rel
					for _, u := range urls {
						chunks = append(chunks, chunkCopy{url: u, frame: span, header: head, bucketID: id})
					}
				}
			}
		}
	}
	// A bucket is known from its declaration in a segment; when the segment
	// that declared it is gone (its chunks all dead), only the checkpoint
	// index declares it, and the index is then what the bucket's chunks
	// need: without either, a chunk names a bucket ID whose key (and so its
	// slot and priority) nothing else holds.
	for id := range segmentDecl {
		bucket(id).decl = segmentDecl[id]
	}
	for id := range indexDecl {
		if len(segmentDecl[id]) == 0 {
			bucket(id).decl = indexDecl[id]
		}
	}
	for _, c := range chunks {
		b := buckets[c.bucketID]
		if b == nil || len(b.decl) == 0 {
			o.Queued[c.url] = append(o.Queued[c.url], []Span{c.frame, c.header})
			continue
		}
		// Any one declaration of the bucket will do (a segment may declare
		// again the buckets it holds).
		for _, d := range b.decl {
			o.Queued[c.url] = append(o.Queued[c.url], []Span{c.frame, c.header, d})
		}
	}
	return nil
}

var errChunk = errors.New("malformed chunk")

// chunkURLs decodes a chunk's payload after its type byte: the bucket ID
// and the URL of every record.
func chunkURLs(p []byte, sp *framework.Spider) (uint64, []string, error) {
	id, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, nil, errChunk
	}
	p = p[n:]
	if _, n = binary.Uvarint(p); n <= 0 { // chunk number
		return 0, nil, errChunk
	}
	p = p[n:]
	count, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, nil, errChunk
	}
	p = p[n:]
	urls := make([]string, 0, count)
	for range count {
		l, n := binary.Uvarint(p)
		if n <= 0 || uint64(len(p)-n) < l {
			return 0, nil, errChunk
		}
		r, err := framework.DecodeRequest(p[n:n+int(l)], sp)
		if err != nil {
			return 0, nil, err
		}
		urls = append(urls, r.URL)
		p = p[n+int(l):]
	}
	return id, urls, nil
}

// Recoverable reports whether the request u (in flight when inFlight) has
// a copy none of whose spans overlaps damaged.
func (o *Oracle) Recoverable(u string, inFlight bool, damaged []Span) bool {
	copies := o.Queued[u]
	if inFlight {
		// An in-flight request's record in the queue is popped (dead): the
		// journal is its only live copy, and a lost journal cannot be
		// rebuilt (issue 10, item 2: its loss is reported).
		copies = o.Journaled[u]
	}
	for _, need := range copies {
		if !overlapsAny(need, damaged) {
			return true
		}
	}
	return false
}

func overlapsAny(need, damaged []Span) bool {
	for _, n := range need {
		for _, d := range damaged {
			if n.File == d.File && n.Off < d.End && d.Off < n.End {
				return true
			}
		}
	}
	return false
}
