package inspect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/schedulers"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
	"github.com/frontier-go/frontier/registry"
)

// makeJob runs a scheduler on a new job directory: 30 requests over 3 hosts
// and 2 priorities, 4 handed out (one finished), spider state, then a stop
// without finishing the others (a graceful stop that leaves requests in
// flight, as a second Ctrl-C would).
func makeJob(t *testing.T, pq string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "job")
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]framework.QueueFactory{
		"scrapy.squeues.PickleLifoDiskQueue": queues.LifoDiskFactory,
		"scrapy.squeues.PickleFifoDiskQueue": queues.FifoDiskFactory,
	} {
		if _, err := reg.Lookup(name); err != nil {
			reg.MustRegister(registry.Entry{Name: name, Kind: registry.KindQueue, Factory: f})
		}
	}
	s := framework.NewSettings()
	code := framework.Source{Kind: framework.SourceCode}
	s.Set("JOBDIR", dir, code)
	s.Set("SCHEDULER_PRIORITY_QUEUE", pq, code)
	s.Set("JOBDIR_FSYNC", "never", code)
	c := framework.NewCrawler(s, reg, nil)
	sch, err := schedulers.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		r := framework.MustRequest(fmt.Sprintf("https://host%d.example/page/%d", i%3, i))
		r.Priority = i % 2
		r.Meta = map[string]any{"n": i}
		if i == 29 {
			r.Body = []byte{0xff, 0x00}
		}
		if ok, err := sch.Enqueue(r); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	var out []*framework.Request
	for i := 0; i < 4; i++ {
		r, err := sch.Next()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := sch.Finish(out[0], nil); err != nil {
		t.Fatal(err)
	}
	c.Spider.State["pages"] = 4
	c.Spider.State["cursor"] = "abc"
	if err := sch.Close("shutdown"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// digest hashes every file of dir, to show that the tools change nothing.
func digest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil))
}

var pqs = []string{"scrapy.pqueues.DownloaderAwarePriorityQueue", "scrapy.pqueues.ScrapyPriorityQueue"}

func TestInspect(t *testing.T) {
	for _, pq := range pqs {
		t.Run(pq, func(t *testing.T) {
			dir := makeJob(t, pq)
			before := digest(t, dir)
			rep, err := Inspect(dir)
			if err != nil {
				t.Fatal(err)
			}
			if digest(t, dir) != before {
				t.Fatal("Inspect changed the job directory")
			}
			if rep.Pending != 26 || rep.InFlight != 3 || rep.Fingerprints != 30 || rep.Running {
				t.Fatalf("pending %d, in flight %d, fingerprints %d, running %v", rep.Pending, rep.InFlight, rep.Fingerprints, rep.Running)
			}
			if rep.Manifest.Format != jobdir.FormatVersion || !strings.HasPrefix(rep.Manifest.PriorityQueue, "frontier.pqueues.") {
				t.Fatalf("manifest %+v", rep.Manifest)
			}
			if strings.Join(rep.StateKeys, ",") != "cursor,pages" {
				t.Fatalf("state keys %v", rep.StateKeys)
			}
			if rep.Bytes == 0 || rep.Files < 5 {
				t.Fatalf("%d bytes in %d files", rep.Bytes, rep.Files)
			}
			sum := 0
			slots := map[string]bool{}
			for _, b := range rep.Buckets {
				sum += b.Pending
				slots[b.Slot] = true
				if b.Kind != "lifo" || b.Err != "" || (b.Priority != 0 && b.Priority != 1) {
					t.Fatalf("bucket %+v", b)
				}
			}
			wantSlots := 3
			if strings.Contains(pq, "ScrapyPriorityQueue") {
				wantSlots = 1 // no slots: one priority queue
			}
			if sum != 26 || len(slots) != wantSlots {
				t.Fatalf("buckets %+v", rep.Buckets)
			}
		})
	}
}

func TestExport(t *testing.T) {
	dir := makeJob(t, pqs[0])
	before := digest(t, dir)
	var buf bytes.Buffer
	sum, err := Export(dir, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, dir) != before {
		t.Fatal("Export changed the job directory")
	}
	if sum.Pending != 26 || sum.InFlight != 3 || sum.Unreadable != 0 {
		t.Fatalf("%+v", sum)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 29 {
		t.Fatalf("%d lines", len(lines))
	}
	seen := map[string]bool{}
	states := map[string]int{}
	for i, l := range lines {
		var line Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if seen[line.Request.URL] || !strings.HasPrefix(line.Request.URL, "https://host") || line.Delivery == 0 {
			t.Fatalf("line %d: %+v", i, line)
		}
		seen[line.Request.URL] = true
		states[line.State]++
		if i < 3 && line.State != "in_flight" {
			t.Fatalf("in-flight requests come first: line %d is %s", i, line.State)
		}
		if line.Request.URL == "https://host2.example/page/29" && string(line.Request.BodyBase64) != "\xff\x00" {
			t.Fatalf("binary body %+v", line.Request)
		}
	}
	if states["pending"] != 26 || states["in_flight"] != 3 {
		t.Fatal(states)
	}
}

func TestVerify(t *testing.T) {
	dir := makeJob(t, pqs[0])
	before := digest(t, dir)
	v, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if digest(t, dir) != before {
		t.Fatal("Verify changed the job directory")
	}
	if !v.OK() || v.Records < 30 || v.Files < 5 {
		t.Fatalf("a clean job: %+v", v)
	}

	// Damage: a torn tail in the in-flight journal, a flipped byte in a
	// queue file, a stale file in the queue directory.
	appendBytes(t, filepath.Join(dir, jobdir.InFlightFile), []byte{9, 0, 0})
	var lifo string
	filepath.WalkDir(filepath.Join(dir, jobdir.QueueDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "0" && lifo == "" {
			lifo = p
		}
		return nil
	})
	b, _ := os.ReadFile(lifo)
	b[len(b)-10] ^= 0xff
	os.WriteFile(lifo, b, 0o644)
	os.WriteFile(filepath.Join(dir, jobdir.QueueDir, "stray"), []byte("x"), 0o644)

	v, err = Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() || v.Fatal {
		t.Fatalf("damaged job: %+v", v)
	}
	var what []string
	for _, f := range v.Findings {
		what = append(what, filepath.Base(f.File)+": "+f.What)
	}
	all := strings.Join(what, "\n")
	for _, w := range []string{jobdir.InFlightFile + ": torn tail", "stray: not a bucket", filepath.Base(lifo) + ": " + lifo} {
		if !strings.Contains(all, w) {
			t.Errorf("findings lack %q:\n%s", w, all)
		}
	}
	if v.DropRecords == 0 || v.DropBytes == 0 {
		t.Errorf("nothing counted as dropped: %+v", v)
	}

	// A manifest from the future is refused.
	os.WriteFile(filepath.Join(dir, jobdir.ManifestFile), []byte(`{"format": 7, "priority_queue": "x"}`), 0o644)
	if v, err = Verify(dir); err != nil || !v.Fatal {
		t.Fatalf("future format: %+v, %v", v, err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	f.Close()
}
