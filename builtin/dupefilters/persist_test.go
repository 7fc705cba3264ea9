package dupefilters

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

func diskFilter(t testing.TB, dir string) *RFPDupeFilter {
	t.Helper()
	f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}, JobDir: dir, Fsync: jobdir.FsyncPolicy{Mode: jobdir.FsyncNever}})
	if err := f.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// Scrapy's test_dupefilter_path: a new filter on the same job directory sees
// what the first one recorded.
func TestRFPDupeFilterPath(t *testing.T) {
	dir := t.TempDir()
	f := diskFilter(t, dir)
	if seen(t, f, "http://scrapytest.org/1") {
		t.Fatal("r1 seen in a new job")
	}
	if err := f.Close("finished"); err != nil {
		t.Fatal(err)
	}
	f = diskFilter(t, dir)
	defer f.Close("finished")
	if !seen(t, f, "http://scrapytest.org/1") {
		t.Fatal("r1 not seen after reopening")
	}
	if seen(t, f, "http://scrapytest.org/2") || !seen(t, f, "http://scrapytest.org/2") {
		t.Fatal("r2")
	}
}

func fileFingerprints(t *testing.T, dir string) SeenFileReport {
	t.Helper()
	rep, err := ReadSeenFile(filepath.Join(dir, jobdir.FingerprintsFile))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// A fingerprint is never durable before its request: the filter writes only
// when flushed or closed.
func TestRFPWritesOnlyOnFlush(t *testing.T) {
	dir := t.TempDir()
	f := diskFilter(t, dir)
	for i := 0; i < 1000; i++ {
		seen(t, f, fmt.Sprintf("http://example.org/%d", i))
	}
	if rep := fileFingerprints(t, dir); rep.Fingerprints != 0 || rep.Bytes != int64(len(seenMagic)) {
		t.Fatalf("before Flush the file holds %d fingerprints, %d bytes", rep.Fingerprints, rep.Bytes)
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if rep := fileFingerprints(t, dir); rep.Fingerprints != 1000 || rep.Frames != 1 {
		t.Fatalf("after Flush: %+v", rep)
	}
	seen(t, f, "http://example.org/new")
	seen(t, f, "http://example.org/1") // a duplicate is not written again
	f.Close("")
	if rep := fileFingerprints(t, dir); rep.Fingerprints != 1001 || rep.Frames != 2 {
		t.Fatalf("after Close: %+v", rep)
	}
}

// TestSeenFileTruncatedEverywhere cuts a fingerprint file at every byte:
// opening it loads the whole frames before the cut, drops the rest, and the
// file is then appended to cleanly.
func TestSeenFileTruncatedEverywhere(t *testing.T) {
	dir := t.TempDir()
	f := diskFilter(t, dir)
	var bounds []int64
	for block := 0; block < 3; block++ {
		for i := 0; i < 3; i++ {
			seen(t, f, fmt.Sprintf("http://example.org/%d/%d", block, i))
		}
		f.Flush()
		bounds = append(bounds, f.disk.file.size)
	}
	f.Close("")
	full, _ := os.ReadFile(filepath.Join(dir, jobdir.FingerprintsFile))
	for cut := 0; cut <= len(full); cut++ {
		want := 0
		for k, b := range bounds {
			if int64(cut) >= b {
				want = 3 * (k + 1)
			}
		}
		var set *fpSet
		rep, err := readSeenFile(bytes.NewReader(full[:cut]), int64(cut), &set)
		if err != nil || set.Len() != want || (cut >= len(seenMagic) && rep.Valid+rep.Dropped != int64(cut)) {
			t.Fatalf("cut at %d: %d fingerprints (want %d), %+v, %v", cut, set.Len(), want, rep, err)
		}
		if !nearBound(cut, bounds) && cut%16 != 0 {
			continue // opening for real, with its fsyncs, at some of the cuts
		}
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, jobdir.FingerprintsFile), full[:cut], 0o644)
		g := diskFilter(t, d)
		if g.Len() != want {
			t.Fatalf("cut at %d: %d fingerprints, want %d", cut, g.Len(), want)
		}
		seen(t, g, "http://example.org/after")
		if err := g.Close(""); err != nil {
			t.Fatal(err)
		}
		after := fileFingerprints(t, d)
		if after.Dropped != 0 || after.Fingerprints != want+1 {
			t.Fatalf("cut at %d, appended after reopening: %+v", cut, after)
		}
	}
}

func nearBound(cut int, bounds []int64) bool {
	for _, b := range append([]int64{0, int64(len(seenMagic))}, bounds...) {
		if d := int64(cut) - b; d >= -1 && d <= 1 {
			return true
		}
	}
	return false
}

func TestSeenFileCorruptMiddle(t *testing.T) {
	dir := t.TempDir()
	f := diskFilter(t, dir)
	var bounds []int64
	for block := 0; block < 3; block++ {
		for i := 0; i < 5; i++ {
			seen(t, f, fmt.Sprintf("http://example.org/%d/%d", block, i))
		}
		f.Flush()
		bounds = append(bounds, f.disk.file.size)
	}
	f.Close("")
	path := filepath.Join(dir, jobdir.FingerprintsFile)
	b, _ := os.ReadFile(path)
	b[bounds[0]+30] ^= 0xff // inside the second frame
	os.WriteFile(path, b, 0o644)
	var logs bytes.Buffer
	g := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}, JobDir: dir, Logger: zerolog.New(&logs), Stats: framework.NewMemoryStats()})
	if err := g.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer g.Close("")
	if g.Len() != 10 {
		t.Fatalf("%d fingerprints, want the 10 of the first and third frames", g.Len())
	}
	if !seen(t, g, "http://example.org/2/4") || seen(t, g, "http://example.org/1/0") {
		t.Fatal("wrong frame dropped")
	}
	if !strings.Contains(logs.String(), "Dropped unreadable bytes") || !strings.Contains(logs.String(), fmt.Sprint(bounds[0])) {
		t.Fatalf("log %q", logs.String())
	}
	if g.stats.Get(StatDroppedBytes) != bounds[1]-bounds[0] {
		t.Fatalf("dropped %d bytes, want %d", g.stats.Get(StatDroppedBytes), bounds[1]-bounds[0])
	}
}

func TestSeenFileRefused(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"future version", "FRSEEN\x00\x09more", "format version 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, jobdir.FingerprintsFile), []byte(tt.content), 0o644)
			f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}, JobDir: dir})
			err := f.Open(context.Background())
			if !errors.Is(err, ErrSeenFile) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// A file that is not a fingerprint file at all (garbage, another file of
// the job copied over it) is kept aside and the job goes on without
// fingerprints: refusing it would strand the job's requests.
func TestSeenFileForeignKeptAside(t *testing.T) {
	for _, content := range []string{"hello world, not fingerprints", "hel"} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, jobdir.ManifestFile), []byte(`{"format":1}`), 0o644)
		path := filepath.Join(dir, jobdir.FingerprintsFile)
		os.WriteFile(path, []byte(content), 0o644)
		var logs bytes.Buffer
		f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}, JobDir: dir, Logger: zerolog.New(&logs)})
		if err := f.Open(context.Background()); err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if err := f.Close("finished"); err != nil {
			t.Fatal(err)
		}
		kept, _ := filepath.Glob(filepath.Join(dir, jobdir.DamagedDirPrefix+"*", jobdir.FingerprintsFile))
		if len(kept) != 1 {
			t.Fatalf("%q: kept aside: %v", content, kept)
		}
		if b, _ := os.ReadFile(kept[0]); string(b) != content {
			t.Fatalf("%q: kept %q", content, b)
		}
		if rep, err := ReadSeenFile(path); err != nil || rep.Fingerprints != 0 {
			t.Fatalf("%q: the new file: %+v, %v", content, rep, err)
		}
		if !strings.Contains(logs.String(), "kept aside") {
			t.Fatalf("%q: log %q", content, logs.String())
		}
	}
}

const scrapySeen = "7873d70c33756a15fed7649ba909e064bf9c5844\n" +
	"C03485502CAA9106F874B4BD2AD9E98A3A6DC36C\r\n" +
	"47adb8436b191ced83\n" + // a torn line from a crash...
	"02344d59628ac21ebc3ed6ac2ada9c46c17\n" +
	"742be82afb84e3761a7d88742be82afb84e3761a7d8870c0cc42d79dfe7a96\n" + // ...or one appended to
	"7873d70c33756a15fed7649ba909e064bf9c5844\n" + // a duplicate
	"da1e63d09c087360b49be2b652f86befea5147ef\n" +
	"9dcd410f54023acaa07d90da0542"

func TestImportScrapySeen(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, jobdir.ScrapySeenFile), []byte(scrapySeen), 0o644)
	var logs bytes.Buffer
	f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}, JobDir: dir, Logger: zerolog.New(&logs)})
	if err := f.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer f.Close("")
	if f.Len() != 4 {
		t.Fatalf("imported %d fingerprints, want 4", f.Len())
	}
	for _, hexfp := range []string{
		"7873d70c33756a15fed7649ba909e064bf9c5844",
		"c03485502caa9106f874b4bd2ad9e98a3a6dc36c",
		"742be82afb84e3761a7d8870c0cc42d79dfe7a96",
		"da1e63d09c087360b49be2b652f86befea5147ef",
	} {
		fp, _ := framework.ParseFingerprint(hexfp)
		if !f.seen.Has(&fp) {
			t.Errorf("%s not imported", hexfp)
		}
	}
	for _, w := range []string{`"invalid_lines":2`, `"salvaged":1`, `"torn_last_line":true`, "Imported 4 fingerprints"} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log %q lacks %s", logs.String(), w)
		}
	}
	// The import happens once: requests.seen stays as it was, and the
	// fingerprint file is what later runs read.
	b, _ := os.ReadFile(filepath.Join(dir, jobdir.ScrapySeenFile))
	if string(b) != scrapySeen {
		t.Fatal("requests.seen was changed")
	}
	if rep := fileFingerprints(t, dir); rep.Fingerprints != 4 {
		t.Fatalf("fingerprint file: %+v", rep)
	}
}

func TestImportScrapySeenRefusesNonFingerprints(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "seen")
	os.WriteFile(src, []byte("GET http://example.org/\nnot a fingerprint\n"), 0o644)
	if _, err := ImportScrapySeen(dir, src); !errors.Is(err, ErrSeenFile) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, jobdir.FingerprintsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed import wrote the fingerprint file")
	}
}

// TestSeenFileDiskFull fills a small tmpfs: Flush fails with a clear error,
// the file stays readable, and a Flush after space is freed writes everything.
func TestSeenFileDiskFull(t *testing.T) {
	dir := smallTmpfs(t, 64<<10)
	f := diskFilter(t, dir)
	t.Cleanup(func() { f.Close("") })
	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	for i := 0; i < 2000; i++ {
		seen(t, f, fmt.Sprintf("http://example.org/%d", i))
	}
	err := f.Flush()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), jobdir.FingerprintsFile) {
		t.Fatalf("Flush on a full disk: %v", err)
	}
	if rep := fileFingerprints(t, dir); rep.Dropped != 0 || rep.Fingerprints != 0 {
		t.Fatalf("after the failed write: %+v", rep)
	}
	os.Remove(filler)
	if err := f.Close(""); err != nil {
		t.Fatal(err)
	}
	if rep := fileFingerprints(t, dir); rep.Dropped != 0 || rep.Fingerprints != 2000 {
		t.Fatalf("after freeing space: %+v", rep)
	}
}

// smallTmpfs mounts a tmpfs of size bytes, or skips the test when that is not
// permitted (not root, no mount namespace).
func smallTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s); the full-disk case needs one", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

// A clean close rewrites a fingerprint file written in flush order in set
// order (faster to load); the set is the same.
func TestRFPCloseRewritesInSetOrder(t *testing.T) {
	dir := t.TempDir()
	f := diskFilter(t, dir)
	const n = rewriteMin + 1000
	for i := 0; i < n; i++ {
		fp := testFP(i)
		f.seen.Add(&fp)
		f.recordNew(fp)
		if i%10_000 == 0 {
			f.Flush()
		}
	}
	f.Flush()
	if rep := fileFingerprints(t, dir); rep.Unordered != n {
		t.Fatalf("before close: %+v", rep)
	}
	if err := f.Close(""); err != nil {
		t.Fatal(err)
	}
	rep := fileFingerprints(t, dir)
	if rep.Unordered != 0 || rep.Fingerprints != n || rep.Dropped != 0 {
		t.Fatalf("after close: %+v", rep)
	}
	g := diskFilter(t, dir)
	defer g.Close("")
	for i := 0; i < n; i += 997 {
		fp := testFP(i)
		if !g.seen.Has(&fp) {
			t.Fatalf("fingerprint %d lost by the rewrite", i)
		}
	}
}

// TestSeenFileDiskFullMidFlush fills a tmpfs in the middle of a flush
// written in several pieces: the pieces written before the failing one are
// cut back off with it, so the file holds the earlier flush alone, and a
// Flush after space is freed writes every fingerprint once.
func TestSeenFileDiskFullMidFlush(t *testing.T) {
	dir := smallTmpfs(t, 2<<20)
	f := diskFilter(t, dir)
	t.Cleanup(func() { f.Close("") })
	for i := range 1000 {
		seen(t, f, fmt.Sprintf("http://example.org/a%d", i))
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	// Leave room for about one and a half pieces of the next flush.
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, free-int64(seenWriteFPs*fpSize*3/2)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := 3 * seenWriteFPs
	for i := range n {
		seen(t, f, fmt.Sprintf("http://example.org/b%d", i))
	}
	err := f.Flush()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), jobdir.FingerprintsFile) {
		t.Fatalf("Flush on a file system that fills up: %v", err)
	}
	if rep := fileFingerprints(t, dir); rep.Dropped != 0 || rep.Fingerprints != 1000 {
		t.Fatalf("after the failed flush: %+v, want the 1000 fingerprints of the first flush alone", rep)
	}
	os.Remove(filler)
	if err := f.Close(""); err != nil {
		t.Fatal(err)
	}
	if rep := fileFingerprints(t, dir); rep.Dropped != 0 || rep.Fingerprints != 1000+n {
		t.Fatalf("after freeing space: %+v, want %d fingerprints", rep, 1000+n)
	}
}
