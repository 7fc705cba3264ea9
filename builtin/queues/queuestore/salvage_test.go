package queuestore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

// Issue 10: deleting the checkpoint of a store whose first segments were
// deleted (drained, then a clean close) dropped every pending request, and
// the job then no longer opened ("chunk of unknown bucket"). The segments
// left declare their buckets (format 2): the checkpoint is rebuilt from
// them, the loss of the checkpoint is reported, and every request is kept.
func TestStoreMissingIndexRebuiltFromSegments(t *testing.T) {
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			src := t.TempDir()
			cfg := storeTestConfig(4 << 10)
			s := openTestStore(t, src, cfg)
			for round := range 6 {
				for _, key := range []string{"a", "b/slot"} {
					pushRound(t, s, key, k.LIFO, round)
					mustFlush(t, s)
				}
				if round == 0 {
					// Drain both buckets (declared in the first
					// segment), so that the first segment goes.
					for _, key := range []string{"a", "b/slot"} {
						popAll(t, bucketOf(t, s, key, k.LIFO))
					}
					mustFlush(t, s)
				}
			}
			mustCloseStore(t, s)
			want := storeContents(t, openTestStore(t, crashCopy(t, src), cfg))
			if len(want["a"]) != 40 || len(want["b/slot"]) != 40 {
				t.Fatalf("before the damage: %d and %d records", len(want["a"]), len(want["b/slot"]))
			}
			for _, damage := range []string{"deleted", "garbage"} {
				dir := crashCopy(t, src)
				if segs := segFiles(t, dir); len(segs) < 2 || segs[0] == storeSegName(1) {
					t.Fatalf("segments %v: the test needs the first ones deleted", segs)
				}
				path := filepath.Join(dir, IndexFile)
				var err error
				if damage == "deleted" {
					err = os.Remove(path)
				} else {
					err = os.WriteFile(path, []byte("not a checkpoint at all, not even framed"), 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
				reported := ""
				rs, err := Read(dir, func(file string, _, _ int64, _ int, what string) { reported += file + ": " + what + "\n" })
				if err != nil {
					t.Fatalf("%s: read: %v", damage, err)
				}
				_ = rs.Close()
				if !strings.Contains(reported, path) || !strings.Contains(reported, "rebuilt") {
					t.Fatalf("%s: reported %q, want the checkpoint named as rebuilt", damage, reported)
				}
				sameContents(t, storeContents(t, openTestStore(t, dir, cfg)), want)
			}
		})
	}
}

// Issue 10: when damage takes a bucket's declaration, its chunks are
// dropped; the records counted dropped are those still live in them (the
// log's later live counts say which were popped), not every record the
// chunks were written with, so that verify counts what a resume loses.
func TestStoreOrphanChunksCountLiveRecords(t *testing.T) {
	src := t.TempDir()
	s := openTestStore(t, src, storeTestConfig(0))
	q := bucketOf(t, s, "q", false)
	for i := range 6 {
		disktest.MustPush(t, q, fmt.Sprintf("http://x/%d", i))
	}
	mustFlush(t, s)
	for range 5 {
		if r, err := q.Pop(); err != nil || r == nil {
			t.Fatalf("pop: %v, %v", r, err)
		}
	}
	mustFlush(t, s)
	dir := crashCopy(t, src) // replays the segment from its start
	mustCloseStore(t, s)
	seg := filepath.Join(dir, segFiles(t, dir)[0])
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// The frame after the header is the bucket's declaration.
	_, k, err := recordio.Next(data)
	if err != nil {
		t.Fatal(err)
	}
	data[k+recordio.HeadSize] ^= 0xff
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dropped := 0
	rs, err := Read(dir, func(_ string, _, _ int64, records int, what string) {
		if strings.Contains(what, "declaration was lost") {
			dropped += records
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	rs.Close()
	if dropped != 1 {
		t.Fatalf("reported %d records dropped with the undeclared bucket, want the 1 still live", dropped)
	}
}

// Issue 10: a damaged stretch took the drop of a drained bucket whose key
// was then used again; the new declaration contradicted the old one
// ("declared twice") and the store refused to open. The old bucket is
// forgotten (it held only popped records) and the new one kept.
func TestStoreRedeclaredAfterLostDrop(t *testing.T) {
	src := t.TempDir()
	s := openTestStore(t, src, storeTestConfig(0))
	q := bucketOf(t, s, "a", false)
	disktest.MustPush(t, q, "http://x/old")
	mustFlush(t, s)
	if r, err := q.Pop(); err != nil || r == nil {
		t.Fatalf("pop: %v, %v", r, err)
	}
	if err := q.Close(); err != nil { // empty: dropped
		t.Fatal(err)
	}
	mustFlush(t, s)
	disktest.MustPush(t, bucketOf(t, s, "a", false), "http://x/new1", "http://x/new2")
	mustFlush(t, s)
	dir := crashCopy(t, src)
	mustCloseStore(t, s)
	seg := filepath.Join(dir, segFiles(t, dir)[0])
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	damaged := false
	if _, err := recordio.Scan(data, 0, func(off int64, f recordio.Frame) error {
		if f.Payload[0] == recDrop && !damaged {
			data[off+recordio.HeadSize] ^= 0xff
			damaged = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !damaged {
		t.Fatal("no drop record to damage")
	}
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := Read(dir, nil)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	bs := rs.Buckets()
	rs.Close()
	if len(bs) != 1 || bs[0].Key != "a" || bs[0].Len != 2 {
		t.Fatalf("buckets %+v, want a with its 2 new records", bs)
	}
}

// A file of valid frames the store never writes (another file of the job,
// such as the in-flight journal) in the place of the segment the checkpoint
// goes on from, mid-segment: the replay starts past the header, meets a
// frame of an unknown type, and salvages the file like a segment whose
// header is damaged (its frames skipped, reported) instead of refusing the
// store.
func TestStoreForeignFileAtCheckpointOffset(t *testing.T) {
	src := t.TempDir()
	cfg := storeTestConfig(1 << 20)
	s := openTestStore(t, src, cfg)
	q := bucketOf(t, s, "a", false)
	for i := range 8 {
		if err := q.Push(disktest.Req(t, fmt.Sprintf("http://a/%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	mustCloseStore(t, s) // the checkpoint goes on from the middle of segment 1
	dir := crashCopy(t, src)
	seg := filepath.Join(dir, storeSegName(1))
	fi, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	var foreign []byte
	for int64(len(foreign)) < 2*fi.Size() {
		foreign, err = recordio.Append(foreign, []byte("Dnot a queue store record"), recordio.Meta{})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(seg, foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	reported := ""
	rs, err := Read(dir, func(file string, _, _ int64, _ int, what string) { reported += file + ": " + what + "\n" })
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	_ = rs.Close()
	if !strings.Contains(reported, "corrupt segment header") || !strings.Contains(reported, "frame no queue store writes skipped") {
		t.Fatalf("reported %q, want the segment's header and its foreign frames", reported)
	}
	s = openTestStore(t, dir, cfg)
	defer mustCloseStore(t, s)
}

// Issue 10: a segment swapped with the checkpoint, or with another segment,
// lost the requests it held (its frames salvaged as a damaged file of the
// name it had, whose chunks and counts belong elsewhere) and those whose
// checkpoint it took. A segment's header names its number and the
// checkpoint's says it is one: each is read as what it is, reported naming
// the file; a read-only open (verify) reads them where they are, a resume
// moves them back to their names, and every request is kept, whether the
// store was closed or killed (its log replayed after the checkpoint).
func TestStoreSwappedFilesSalvaged(t *testing.T) {
	for _, k := range disktest.Kinds() {
		for _, killed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/killed=%v", k.Name, killed), func(t *testing.T) {
				src := t.TempDir()
				cfg := storeTestConfig(4 << 10)
				s := openTestStore(t, src, cfg)
				for round := range 5 {
					for _, key := range []string{"a", "b/slot"} {
						q := pushRound(t, s, key, k.LIFO, round)
						disktest.PopURLs(t, q, 1)
						mustFlush(t, s)
					}
				}
				if !killed {
					mustCloseStore(t, s)
				}
				want := storeContents(t, openTestStore(t, crashCopy(t, src), cfg))
				segs := segFiles(t, src)
				if len(segs) < 3 {
					t.Fatalf("segments %v: the test needs three", segs)
				}
				swaps := [][2]string{
					{IndexFile, segs[0]}, {IndexFile, segs[len(segs)/2]}, {IndexFile, segs[len(segs)-1]},
					{segs[0], segs[1]}, {segs[1], segs[len(segs)-1]},
				}
				for _, sw := range swaps {
					dir := crashCopy(t, src)
					a, b := filepath.Join(dir, sw[0]), filepath.Join(dir, sw[1])
					swapFiles(t, a, b)
					var reported []string
					counted := 0
					rs, err := Read(dir, func(file string, _, _ int64, records int, what string) {
						reported = append(reported, file+": "+what)
						counted += records
					})
					if err != nil {
						t.Fatalf("swap %v: read: %v", sw, err)
					}
					sameContents(t, readContents(t, rs), want)
					_ = rs.Close()
					all := strings.Join(reported, "\n")
					if !strings.Contains(all, a) || !strings.Contains(all, b) || !strings.Contains(all, "under another file's name") || counted != 0 {
						t.Fatalf("swap %v: reported, counting %d records dropped:\n%s\nwant both files named as under another's name, none dropped", sw, counted, all)
					}
					s2, err := Open(dir, cfg)
					if err != nil {
						t.Fatalf("swap %v: open: %v", sw, err)
					}
					for _, name := range sw {
						h := readHead(filepath.Join(dir, name))
						if n, _ := parseStoreSegName(name); h.index != (name == IndexFile) || h.seg != n {
							t.Fatalf("swap %v: after the resume opened, %s holds %+v", sw, name, h)
						}
					}
					sameContents(t, storeContents(t, s2), want)
					mustCloseStore(t, s2)
				}
			})
		}
	}
}

// swapFiles exchanges the contents of the files a and b.
func swapFiles(t *testing.T, a, b string) {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, db, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, da, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readContents is storeContents for a store open for reading only.
func readContents(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, info := range s.Buckets() {
		err := s.Records(info.Key, func(delivery uint64, rec []byte) error {
			r, err := framework.DecodeRequest(rec, nil)
			if err != nil {
				return err
			}
			out[info.Key] = append(out[info.Key], fmt.Sprintf("%s#%d", r.URL, delivery))
			return nil
		})
		if err != nil {
			t.Fatalf("bucket %s: %v", info.Key, err)
		}
	}
	return out
}

// pushRound pushes round's 8 requests, of 200-byte bodies, into bucket key
// of s and returns the bucket.
func pushRound(t *testing.T, s *Store, key string, lifo bool, round int) *Queue {
	t.Helper()
	q := bucketOf(t, s, key, lifo)
	for i := range 8 {
		r := disktest.Req(t, fmt.Sprintf("http://%s/%d/%d", strings.ReplaceAll(key, "/", "-"), round, i))
		r.Body = make([]byte, 200)
		if err := q.Push(r); err != nil {
			t.Fatal(err)
		}
	}
	return q
}
