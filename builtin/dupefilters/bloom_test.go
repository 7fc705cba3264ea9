package dupefilters

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
	"github.com/frontier-go/frontier/registry"
)

func bloomFilter(t testing.TB, dir string, capacity uint64, rate float64) *BloomDupeFilter {
	t.Helper()
	f, err := NewBloomDupeFilter(BloomConfig{Fingerprinter: urlFP{}, Capacity: capacity, ErrorRate: rate, JobDir: dir,
		Fsync: jobdir.FsyncPolicy{Mode: jobdir.FsyncNever}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

func page(i int) string { return "http://example.org/page/" + strconv.Itoa(i) }

// Scrapy's test_filter, on the Bloom filter.
func TestBloomFilter(t *testing.T) {
	f := bloomFilter(t, "", 1000, 0.01)
	defer f.Close("finished")
	r1 := framework.MustRequest("http://scrapytest.org/1")
	for i, want := range []bool{false, true} {
		got, err := f.RequestSeen(r1)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("call %d: seen = %v", i, got)
		}
	}
	if seen(t, f, "http://scrapytest.org/2") {
		t.Fatal("r2 seen before")
	}
}

func TestBloomConfigRefused(t *testing.T) {
	for _, cfg := range []BloomConfig{
		{Fingerprinter: urlFP{}, Capacity: 0, ErrorRate: 0.01},
		{Fingerprinter: urlFP{}, Capacity: 10, ErrorRate: 0},
		{Fingerprinter: urlFP{}, Capacity: 10, ErrorRate: 1},
		{Fingerprinter: urlFP{}, Capacity: 1 << 50, ErrorRate: 0.01},
	} {
		if _, err := NewBloomDupeFilter(cfg); err == nil || !strings.Contains(err.Error(), "DUPEFILTER_BLOOM") {
			t.Errorf("capacity %d, rate %v: err = %v, want one naming the setting", cfg.Capacity, cfg.ErrorRate, err)
		}
	}
}

// Scrapy's test_dupefilter_path, on the Bloom filter: a resumed job keeps
// filtering, from the log alone and from a checkpoint.
func TestBloomResumeKeepsFiltering(t *testing.T) {
	dir := t.TempDir()
	f := bloomFilter(t, dir, 10_000, 0.01)
	for i := range 500 {
		if seen(t, f, page(i)) {
			t.Fatalf("%s seen in a new job", page(i))
		}
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, BloomFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a small log was checkpointed at Flush: %v", err)
	}
	if err := f.Close("shutdown"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, BloomLogFile)); err != nil || st.Size() != int64(len(seenMagic)) {
		t.Fatalf("after Close the log should be empty: %v, %v", st, err)
	}
	f = bloomFilter(t, dir, 10_000, 0.01)
	for i := range 500 {
		if !seen(t, f, page(i)) {
			t.Fatalf("%s not seen after resuming", page(i))
		}
	}
	if seen(t, f, page(1000)) {
		t.Fatal("a new page seen")
	}
	f.Close("finished")
}

// The filter writes only when flushed or closed: a fingerprint is never
// durable before its request.
func TestBloomWritesOnlyOnFlush(t *testing.T) {
	dir := t.TempDir()
	f := bloomFilter(t, dir, 10_000, 0.01)
	defer f.Close("")
	for i := range 100 {
		seen(t, f, page(i))
	}
	if rep := logReport(t, dir); rep.Fingerprints != 0 {
		t.Fatalf("before Flush the log holds %d fingerprints", rep.Fingerprints)
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if rep := logReport(t, dir); rep.Fingerprints != 100 {
		t.Fatalf("after Flush the log holds %d fingerprints", rep.Fingerprints)
	}
}

func logReport(t *testing.T, dir string) SeenFileReport {
	t.Helper()
	rep, err := ReadSeenFile(filepath.Join(dir, BloomLogFile))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestBloomCheckpointWhenLogGrows flushes until the log outgrows its bound:
// the filter is checkpointed, the log emptied, and a reopened filter holds
// fingerprints of both sides.
func TestBloomCheckpointWhenLogGrows(t *testing.T) {
	dir := t.TempDir()
	f := bloomFilter(t, dir, 100_000, 0.01)
	n := checkpointMin/fpSize + 10_000
	for i := range n {
		seen(t, f, page(i))
		if i%5000 == 4999 {
			if err := f.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, BloomFile)); err != nil {
		t.Fatalf("no checkpoint after %d fingerprints: %v", n, err)
	}
	if rep := logReport(t, dir); rep.Fingerprints >= n/2 {
		t.Fatalf("the log still holds %d fingerprints after the checkpoint", rep.Fingerprints)
	}
	// Abandoned without Close, as a crash would.
	g := bloomFilter(t, dir, 100_000, 0.01)
	defer g.Close("")
	for i := range n {
		if !seen(t, g, page(i)) {
			t.Fatalf("%s lost across a checkpoint", page(i))
		}
	}
}

// TestBloomReopenOtherParametersRefused: a Bloom filter cannot be resized.
func TestBloomReopenOtherParametersRefused(t *testing.T) {
	dir := t.TempDir()
	f := bloomFilter(t, dir, 10_000, 0.01)
	seen(t, f, page(1))
	f.Close("")
	g, err := NewBloomDupeFilter(BloomConfig{Fingerprinter: urlFP{}, Capacity: 20_000, ErrorRate: 0.01, JobDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	err = g.Open(context.Background())
	for _, want := range []string{BloomFile, "10000", "20000", "DUPEFILTER_BLOOM_CAPACITY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want one naming %q", err, want)
		}
	}
}

// TestBloomCorruptCheckpointRefused: a damaged checkpoint is an error that
// names the file, never a panic or a silent loss.
func TestBloomCorruptCheckpointRefused(t *testing.T) {
	dir := t.TempDir()
	f := bloomFilter(t, dir, 10_000, 0.01)
	seen(t, f, page(1))
	f.Close("")
	path := filepath.Join(dir, BloomFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, damage := range []struct {
		name string
		data []byte
	}{
		{"bit flipped", flip(b, len(b)/2)},
		{"cut", b[:len(b)-3]},
		{"empty", nil},
		{"foreign", []byte("hello, world")},
	} {
		if err := os.WriteFile(path, damage.data, 0o644); err != nil {
			t.Fatal(err)
		}
		g, _ := NewBloomDupeFilter(BloomConfig{Fingerprinter: urlFP{}, Capacity: 10_000, ErrorRate: 0.01, JobDir: dir})
		if err := g.Open(context.Background()); !errors.Is(err, ErrBloomFile) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want ErrBloomFile naming %s", damage.name, err, path)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x10
	return c
}

// TestBloomLogTornTail cuts the log inside its last frame: the whole frames
// before it load, and the filter appends after them cleanly.
func TestBloomLogTornTail(t *testing.T) {
	dir := t.TempDir()
	f := bloomFilter(t, dir, 10_000, 0.01)
	for i := range 100 {
		seen(t, f, page(i))
	}
	f.Flush()
	for i := 100; i < 200; i++ {
		seen(t, f, page(i))
	}
	f.Flush()
	path := filepath.Join(dir, BloomLogFile)
	st, _ := os.Stat(path)
	// Abandon f (a crash) and cut 7 bytes off the second frame.
	if err := os.Truncate(path, st.Size()-7); err != nil {
		t.Fatal(err)
	}
	g := bloomFilter(t, dir, 10_000, 0.01)
	for i := range 100 {
		if !seen(t, g, page(i)) {
			t.Fatalf("%s of the whole frame lost", page(i))
		}
	}
	if seen(t, g, page(150)) {
		t.Fatal("a fingerprint of the torn frame is still seen")
	}
	g.Flush()
	g.Close("")
	h := bloomFilter(t, dir, 10_000, 0.01)
	defer h.Close("")
	if !seen(t, h, page(150)) || !seen(t, h, page(5)) {
		t.Fatal("appends after the cut tail were lost")
	}
}

// TestBloomLogCorruptMiddle damages a frame in the middle of the log: it is
// skipped, and the frames after it load.
func TestBloomLogCorruptMiddle(t *testing.T) {
	dir := t.TempDir()
	f := bloomFilter(t, dir, 10_000, 0.01)
	for batch := range 3 {
		for i := batch * 10; i < batch*10+10; i++ {
			seen(t, f, page(i))
		}
		f.Flush()
	}
	path := filepath.Join(dir, BloomLogFile)
	b, _ := os.ReadFile(path)
	frame := (len(b) - len(seenMagic)) / 3
	os.WriteFile(path, flip(b, len(seenMagic)+frame+frame/2), 0o644)
	g := bloomFilter(t, dir, 10_000, 0.01)
	defer g.Close("")
	for _, i := range []int{0, 9, 20, 29} {
		if !seen(t, g, page(i)) {
			t.Errorf("%s, outside the damaged frame, lost", page(i))
		}
	}
}

// TestBloomResumesRFPJob: a job started with RFPDupeFilter is resumed with
// the Bloom filter by importing its fingerprint file.
func TestBloomResumesRFPJob(t *testing.T) {
	dir := t.TempDir()
	r := diskFilter(t, dir)
	for i := range 300 {
		seen(t, r, page(i))
	}
	r.Close("shutdown")
	f := bloomFilter(t, dir, 10_000, 0.01)
	for i := range 300 {
		if !seen(t, f, page(i)) {
			t.Fatalf("%s of the RFP job not seen by the Bloom filter", page(i))
		}
	}
	f.Close("")
	if _, err := os.Stat(filepath.Join(dir, BloomFile)); err != nil {
		t.Fatalf("the import was not checkpointed: %v", err)
	}
}

// TestBloomCrashLosesNothingFlushed kills a process that flushed some
// fingerprints and holds others unflushed: the flushed ones are seen after
// reopening, the others are not (their requests were never flushed either).
func TestBloomCrashLosesNothingFlushed(t *testing.T) {
	if dir := os.Getenv("FRONTIER_BLOOM_CRASH_DIR"); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBloomCrashLosesNothingFlushed$")
	cmd.Env = append(os.Environ(), "FRONTIER_BLOOM_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "flushed") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	f := bloomFilter(t, dir, 200_000, 0.01)
	defer f.Close("")
	for i := range crashFlushed {
		if !seen(t, f, page(i)) {
			t.Fatalf("%s was flushed before the crash and is lost", page(i))
		}
	}
	unflushed := 0
	for i := crashFlushed; i < crashFlushed+1000; i++ {
		if seen(t, f, page(i)) {
			unflushed++
		}
	}
	if unflushed > 50 { // false positives only: about 1%
		t.Fatalf("%d of 1000 unflushed fingerprints survived the crash: they were durable before their requests", unflushed)
	}
}

// crashFlushed fingerprints are flushed by the crash child, more than one
// checkpoint's worth, so that the crash follows a checkpoint and a log.
const crashFlushed = 3 * checkpointMin / fpSize

func crashChild(dir string) {
	f, err := NewBloomDupeFilter(BloomConfig{Fingerprinter: urlFP{}, Capacity: 200_000, ErrorRate: 0.01, JobDir: dir,
		Fsync: jobdir.FsyncPolicy{Mode: jobdir.FsyncNever}})
	if err == nil {
		err = f.Open(context.Background())
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := range crashFlushed {
		f.RequestSeen(framework.MustRequest(page(i)))
		if i%1000 == 999 {
			if err := f.Flush(); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
	}
	f.Flush()
	for i := crashFlushed; i < crashFlushed+1000; i++ {
		f.RequestSeen(framework.MustRequest(page(i)))
	}
	fmt.Println("flushed")
	select {} // until killed
}

// TestBloomFalsePositiveRate fills a filter to its capacity and measures its
// false-positive rate on as many other fingerprints, and its bytes per
// fingerprint.
func TestBloomFalsePositiveRate(t *testing.T) {
	if testing.Short() {
		t.Skip("a million fingerprints")
	}
	const n, rate = 1_000_000, 0.01
	f, err := NewBloomDupeFilter(BloomConfig{Fingerprinter: urlFP{}, Capacity: n, ErrorRate: rate})
	if err != nil {
		t.Fatal(err)
	}
	var b [8]byte
	key := func(i uint64) []byte {
		binary.LittleEndian.PutUint64(b[:], i)
		s := sha1.Sum(b[:])
		return s[:]
	}
	for i := range uint64(n) {
		f.filter.Add(key(i))
	}
	for i := range uint64(n) {
		if !f.filter.Test(key(i)) {
			t.Fatalf("false negative at %d", i)
		}
	}
	fps := 0
	for i := uint64(n); i < 2*n; i++ {
		if f.filter.Test(key(i)) {
			fps++
		}
	}
	m, k := f.Bits()
	measured := float64(fps) / n
	perFP := float64(m) / 8 / n
	t.Logf("capacity %d, rate %v: m = %d bits, k = %d; measured false-positive rate %.5f (%d of %d); %.3f bytes per fingerprint; approximate count %d",
		n, rate, m, k, measured, fps, n, perFP, f.ApproximateCount())
	if measured > 1.2*rate {
		t.Errorf("false-positive rate %.5f exceeds 1.2 × %v", measured, rate)
	}
	if perFP > 2 {
		t.Errorf("%.3f bytes per fingerprint, want at most 2", perFP)
	}
}

// TestBloomFromSettings builds the filter as a scheduler does, from
// DUPEFILTER_CLASS and the Bloom settings, with a job directory.
func TestBloomFromSettings(t *testing.T) {
	reg := registry.New()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(registry.Entry{Name: "test.URLFP",
		Factory: framework.FingerprinterFactory(func(context.Context, *framework.Crawler) (framework.Fingerprinter, error) {
			return urlFP{}, nil
		})})
	dir := t.TempDir()
	open := func(capacity int) (framework.DupeFilter, error) {
		s := framework.NewSettings()
		code := framework.Source{Kind: framework.SourceCode}
		s.Set("DUPEFILTER_CLASS", "frontier.dupefilters.Bloom", code)
		s.Set("REQUEST_FINGERPRINTER_CLASS", "test.URLFP", code)
		s.Set("DUPEFILTER_BLOOM_CAPACITY", capacity, code)
		s.Set("DUPEFILTER_BLOOM_ERROR_RATE", 0.001, code)
		s.Set("JOBDIR", dir, code)
		c := framework.NewCrawler(s, reg, nil)
		fac, err := framework.RequiredComponent[framework.DupeFilterFactory](c, "DUPEFILTER_CLASS")
		if err != nil {
			return nil, err
		}
		f, err := fac(context.Background(), c)
		if err != nil {
			return nil, err
		}
		return f, f.Open(context.Background())
	}
	f, err := open(5000)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := f.(*BloomDupeFilter)
	if !ok {
		t.Fatalf("DUPEFILTER_CLASS frontier.dupefilters.Bloom built a %T", f)
	}
	if m, k := b.Bits(); m < 71_000 || m > 72_000 || k != 10 {
		t.Errorf("5000 fingerprints at 0.1%%: m = %d, k = %d; want about 71,888 and 10", m, k)
	}
	seen(t, f, page(1))
	if err := f.Close("finished"); err != nil {
		t.Fatal(err)
	}
	if _, err := open(6000); err == nil || !strings.Contains(err.Error(), "5000") {
		t.Errorf("resuming with another capacity: err = %v, want a refusal naming 5000", err)
	}
	f, err = open(5000)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close("")
	if !seen(t, f, page(1)) {
		t.Error("the job's fingerprint was not kept")
	}
}
