package queuestore

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/internal/recordio"
)

// The queue store's files (docs/jobdir-queues.md, "The queue store"): in the
// disk priority queue's directory, segments named queue.<n>.log and one
// checkpoint, queue.index.
const (
	// IndexFile is the name of the store's checkpoint.
	IndexFile      = "queue.index"
	storeSegPrefix = "queue."
	storeSegSuffix = ".log"

	storeSegMagic   = "frontier.queue.segment"
	storeIndexMagic = "frontier.queue.index"
	// storeVersion is the format written. Format 2 declares again, at the
	// start of each segment, every bucket declared before it; format 1
	// segments are read as they are.
	storeVersion = 2
	// storeOldestVersion is the oldest format read.
	storeOldestVersion = 1
)

// Record types of the store's segments (the first payload byte).
const (
	recSegHeader = 'H' // magic, version, uvarint segment number
	recBucket    = 'B' // uvarint bucket, kind byte, key: a bucket declared
	recChunk     = 'C' // uvarint bucket, uvarint chunk, uvarint count, records; frame ID: delivery ID of record 0
	recLive      = 'L' // uvarint bucket, then (uvarint chunk, uvarint live) pairs: chunks' live counts
	recDrop      = 'X' // uvarint bucket: the bucket is gone, with every chunk
)

// Record types of the checkpoint, besides recSegHeader's counterpart.
const (
	idxHeader = 'H' // magic, version, uvarints: replay segment, replay offset, next bucket, next segment, max delivery ID
	idxBucket = 'B' // uvarint bucket, kind byte, uvarint next chunk, key
	idxChunks = 'K' // uvarint bucket, uvarint n, n × chunk (uvarints: no, seg, off, size, count, live, base)
	idxEnd    = 'E' // uvarint buckets, uvarint chunks
)

// Bucket kinds, as stored.
const (
	kindFIFO byte = 'F'
	kindLIFO byte = 'L'
)

// idxChunksMax is the payload size past which a bucket's chunk list goes on
// in another frame of the checkpoint.
const idxChunksMax = 1 << 20

// chunkRef is a chunk of a bucket's records in a segment: the frame at off
// of size bytes holding count records, of which live are still queued (a
// FIFO chunk's last live records, a LIFO chunk's first live ones).
type chunkRef struct {
	base  uint64 // delivery ID of the chunk's first record; record i has base+i
	no    uint32 // the chunk's number in its bucket, counting up
	seg   uint32
	off   uint32
	size  uint32
	count uint32
	live  uint32
}

// logPos is a position in the store's log: a segment and an offset in it.
type logPos struct {
	seg uint32
	off int64
}

func storeSegName(n uint32) string { return fmt.Sprintf("%s%08d%s", storeSegPrefix, n, storeSegSuffix) }

// parseSegName returns the number of a segment file name.
func parseStoreSegName(name string) (uint32, bool) {
	digits, ok := strings.CutPrefix(name, storeSegPrefix)
	if !ok {
		return 0, false
	}
	if digits, ok = strings.CutSuffix(digits, storeSegSuffix); !ok || len(digits) != 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	return uint32(n), err == nil && n > 0
}

// listSegments returns the segment numbers found in dir, ascending.
func listSegments(dir string) ([]uint32, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, err
	}
	var out []uint32
	for _, e := range entries {
		if n, ok := parseStoreSegName(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// hasStore reports whether dir holds a queue store: its checkpoint, or
// segments whose checkpoint is lost.
func hasStore(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); err == nil {
		return true
	}
	segs, _ := listSegments(dir)
	return len(segs) > 0
}

// appendSegHeader appends the header frame of segment n.
func appendSegHeader(dst []byte, n uint32) []byte {
	p := append([]byte{recSegHeader}, storeSegMagic...)
	p = append(p, storeVersion)
	p = binary.AppendUvarint(p, uint64(n))
	dst, _ = recordio.Append(dst, p, recordio.Meta{})
	return dst
}

// checkSegHeader checks that p is the header payload of segment n.
func checkSegHeader(p []byte, n uint32) error {
	rest, ok := cutMagic(p, recSegHeader, storeSegMagic)
	if !ok {
		return fmt.Errorf("%w: no segment header", disk.ErrNotQueue)
	}
	if rest[0] < storeOldestVersion || rest[0] > storeVersion {
		return fmt.Errorf("%w: segment format %d (this build reads %d to %d)", disk.ErrVersion, rest[0], storeOldestVersion, storeVersion)
	}
	got, k := binary.Uvarint(rest[1:])
	if k <= 0 || got != uint64(n) {
		return fmt.Errorf("%w: segment header names segment %d", disk.ErrNotQueue, got)
	}
	return nil
}

// cutMagic returns what follows type typ and magic in p, with at least one
// byte left (the version).
func cutMagic(p []byte, typ byte, magic string) ([]byte, bool) {
	if len(p) < 2+len(magic) || p[0] != typ || string(p[1:1+len(magic)]) != magic {
		return nil, false
	}
	return p[1+len(magic):], true
}

// reader reads uvarints and bytes from a payload, remembering the first error.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// u32 reads a uvarint that must fit in 32 bits.
func (r *reader) u32() uint32 {
	v := r.uvarint()
	if v > 1<<32-1 {
		r.bad = true
	}
	return uint32(v)
}

func (r *reader) byte1() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func appendChunkRef(p []byte, c chunkRef) []byte {
	for _, v := range [...]uint64{uint64(c.no), uint64(c.seg), uint64(c.off), uint64(c.size), uint64(c.count), uint64(c.live), c.base} {
		p = binary.AppendUvarint(p, v)
	}
	return p
}

func (r *reader) chunkRef() chunkRef {
	c := chunkRef{no: r.u32(), seg: r.u32(), off: r.u32(), size: r.u32(), count: r.u32(), live: r.u32(), base: r.uvarint()}
	if c.live > c.count || c.count == 0 || c.seg == 0 || c.count > maxChunkRecords(int(c.size)) {
		r.bad = true
	}
	return c
}

// maxChunkRecords is the most records n bytes of chunk hold: each takes at
// least its length byte and one byte.
func maxChunkRecords(n int) uint32 { return uint32(min(n/2, 1<<32-1)) }

// chunkBody is a parsed chunk payload (recChunk or recRelocate): its
// bucket, its number, and its count records, each a uvarint length and the
// record, with the offset of each.
type chunkBody struct {
	bucket uint64
	no     uint32
	count  uint32
	data   []byte   // the records, each a uvarint length then its bytes
	offs   []uint32 // offsets in data of each record's length
}

// parseChunk parses a chunk's payload p, whose type byte the caller has
// checked.
func parseChunk(p []byte) (chunkBody, error) {
	r := reader{b: p[1:]}
	c := chunkBody{bucket: r.uvarint(), no: r.u32(), count: r.u32()}
	if r.bad || c.count == 0 || c.count > maxChunkRecords(len(r.b)) {
		return c, fmt.Errorf("bad chunk header")
	}
	c.data = r.b
	c.offs = make([]uint32, 0, c.count)
	for off := 0; off < len(c.data); {
		n, k := binary.Uvarint(c.data[off:])
		if k <= 0 || n == 0 || uint64(len(c.data)-off-k) < n {
			return c, fmt.Errorf("bad record length at chunk byte %d", off)
		}
		c.offs = append(c.offs, uint32(off))
		off += k + int(n)
	}
	if len(c.offs) != int(c.count) {
		return c, fmt.Errorf("chunk holds %d records, its header says %d", len(c.offs), c.count)
	}
	return c, nil
}

// record returns record i of a parsed chunk.
func (c *chunkBody) record(i int) []byte {
	b := c.data[c.offs[i]:]
	n, k := binary.Uvarint(b)
	return b[k : k+int(n)]
}
