package queuestore

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// A bucket closed empty (dropped) and asked for again before the next flush:
// the flush writes the old one's drop before the new one's declaration, so
// that the replay after a crash takes the log.
func TestStoreReuseAfterClose(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	q := bucketOf(t, s, "0", false)
	disktest.MustPush(t, q, "http://x/1")
	mustFlush(t, s)
	disktest.PopURLs(t, q, 1)
	disktest.MustClose(t, q) // empty: dropped at the next flush
	disktest.MustPush(t, bucketOf(t, s, "0", false), "http://x/2")
	mustFlush(t, s)
	s2, err := Open(crashCopy(t, dir), storeTestConfig(0))
	if err != nil {
		t.Fatalf("reopen after a crash: %v", err)
	}
	disktest.SameList(t, disktest.URLsOf(popAll(t, bucketOf(t, s2, "0", false))), []string{"http://x/2"})
	mustCloseStore(t, s2)
}

// The same through DropUnclaimed at a resume.
func TestStoreReuseAfterDropUnclaimed(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	disktest.MustPush(t, bucketOf(t, s, "0", false), "http://x/1")
	mustCloseStore(t, s)
	s = openTestStore(t, dir, storeTestConfig(0))
	s.DropUnclaimed() // drops "0"
	disktest.MustPush(t, bucketOf(t, s, "0", false), "http://x/2")
	mustFlush(t, s)
	s2, err := Open(crashCopy(t, dir), storeTestConfig(0))
	if err != nil {
		t.Fatalf("reopen after a crash: %v", err)
	}
	disktest.SameList(t, disktest.URLsOf(popAll(t, bucketOf(t, s2, "0", false))), []string{"http://x/2"})
	mustCloseStore(t, s2)
}

// A flipped byte in a bucket's declaration that the log replays, in a
// segment that is not the last: the replay drops the rest of that segment
// and the frames of the bucket whose declaration went with it, reported,
// and the store still opens.
func TestStoreLostDeclaration(t *testing.T) {
	dir := t.TempDir()
	cfg := storeTestConfig(4 << 10)
	push := func(s *Store, name, prefix string, n, body int) {
		q := bucketOf(t, s, name, false)
		for i := range n {
			r := disktest.Req(t, fmt.Sprintf("http://%s/%d", prefix, i))
			r.Body = make([]byte, body)
			if err := q.Push(r); err != nil {
				t.Fatal(err)
			}
		}
		mustFlush(t, s)
	}
	s := openTestStore(t, dir, cfg)
	push(s, "a", "a", 6, 500) // 3 KiB of segment 1
	mustCloseStore(t, s)      // checkpoint: the replay starts after it
	s = openTestStore(t, dir, cfg)
	push(s, "b", "b", 2, 100) // b declared, and a chunk, in segment 1
	push(s, "b", "c", 2, 300) // b's next chunk in segment 2
	crashed := crashCopy(t, dir)
	seg1 := filepath.Join(crashed, "queue.00000001.log")
	data, _ := os.ReadFile(seg1)
	frames, _ := readLogFrames(t, data)
	for _, f := range frames {
		if f.typ == 'B' && f.key == "b" {
			flipByte(t, seg1, f.off+6)
		}
	}
	s2, err := Open(crashed, cfg)
	if err != nil {
		t.Fatalf("open: %v", err) // ErrCorrupt: chunk of unknown bucket 2
	}
	mustCloseStore(t, s2)
}

// A store whose last segment is full (one chunk larger than SegmentBytes),
// reopened, drained and closed keeps no segment.
func TestStoreSegmentLeftAfterDrain(t *testing.T) {
	dir := t.TempDir()
	cfg := storeTestConfig(4 << 10)
	s := openTestStore(t, dir, cfg)
	q := bucketOf(t, s, "q", false)
	for i := range 20 {
		r := disktest.Req(t, "http://x/"+string(rune('a'+i)))
		r.Body = make([]byte, 300)
		if err := q.Push(r); err != nil {
			t.Fatal(err)
		}
	}
	mustCloseStore(t, s) // one 6 KiB chunk in a 4 KiB segment
	s = openTestStore(t, dir, cfg)
	popAll(t, bucketOf(t, s, "q", false))
	mustCloseStore(t, s)
	if got := dirNames(t, dir); len(got) != 1 {
		t.Fatalf("after draining everything and Close: %v, want queue.index alone", got)
	}
}

// A chunk frame (checksum valid) whose header claims 2^32-1 records while
// holding one is refused, instead of a Len of 4294967295 and a Pop that
// allocates 16 GiB of record offsets.
func TestStoreHugeChunkCount(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	disktest.MustPush(t, bucketOf(t, s, "q", false), "http://x/1")
	mustFlush(t, s)
	crashed := crashCopy(t, dir)
	seg := filepath.Join(crashed, "queue.00000001.log")
	data, _ := os.ReadFile(seg)
	frames, _ := readLogFrames(t, data)
	var out []byte
	for _, f := range frames {
		fr, _, _ := recordio.Next(data[f.off:f.end])
		p := fr.Payload
		if f.typ == 'C' {
			rec, _ := framework.EncodeRequest(disktest.Req(t, "http://x/1"), nil)
			p = binary.AppendUvarint([]byte{'C'}, f.bucket)
			p = binary.AppendUvarint(p, 0)          // chunk 0
			p = binary.AppendUvarint(p, 0xFFFFFFFF) // records, it says
			p = binary.AppendUvarint(p, uint64(len(rec)))
			p = append(p, rec...)
		}
		out, _ = recordio.Append(out, p, fr.Meta)
	}
	if err := os.WriteFile(seg, out, 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(crashed, storeTestConfig(0))
	if err != nil {
		return // refusing the log is fine
	}
	defer s2.Close()
	if n := bucketOf(t, s2, "q", false).Len(); n > 1 {
		t.Fatalf("a chunk of one record counts as %d", n)
	}
}

// Peek, then Push, then Pop of a FIFO head still in the write buffer: the
// same request with the same Delivery.
func TestStorePeekPushPopDelivery(t *testing.T) {
	s := openTestStore(t, t.TempDir(), storeTestConfig(0))
	q := bucketOf(t, s, "q", false)
	disktest.MustPush(t, q, "http://x/1")
	p, _ := q.Peek()
	disktest.MustPush(t, q, "http://x/2")
	r, _ := q.Pop()
	if r.URL != p.URL || r.Delivery != p.Delivery {
		t.Fatalf("peek %s/%d, pop %s/%d", p.URL, p.Delivery, r.URL, r.Delivery)
	}
}

// Store.Records checks a chunk against the checkpoint's reference to it, as
// Pop does: a reference whose count exceeds the chunk's records is an error,
// not an index out of range (found by FuzzStoreIndex).
func TestStoreRecordsTrustsIndex(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, storeTestConfig(0))
	disktest.MustPush(t, bucketOf(t, s, "q", false), "http://x/1", "http://x/2")
	mustCloseStore(t, s)
	path := filepath.Join(dir, "queue.index")
	index, _ := os.ReadFile(path)
	var out []byte
	for len(index) > 0 {
		fr, k, err := recordio.Next(index)
		if err != nil {
			t.Fatal(err)
		}
		p := fr.Payload
		if p[0] == 'K' { // bucket, n, then no, seg, off, size, count, live, base
			var v []uint64
			for r := p[1:]; len(r) > 0; {
				x, n := binary.Uvarint(r)
				v, r = append(v, x), r[n:]
			}
			v[6]++ // count
			v[7]++ // live
			p = []byte{'K'}
			for _, x := range v {
				p = binary.AppendUvarint(p, x)
			}
		}
		out, _ = recordio.Append(out, p, fr.Meta)
		index = index[k:]
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := Read(dir, nil)
	if err != nil {
		return // refusing the checkpoint is fine
	}
	defer rs.Close()
	err = rs.Records("q", func(uint64, []byte) error { return nil }) // panics
	if err == nil {
		t.Fatal("Records of a chunk whose reference does not match it: no error")
	}
}
