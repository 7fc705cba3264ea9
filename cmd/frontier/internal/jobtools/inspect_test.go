package jobtools

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/queuestore"
	"github.com/frontier-go/frontier/builtin/schedulers"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
	"github.com/frontier-go/frontier/registry"
)

const (
	dapq = "scrapy.pqueues.DownloaderAwarePriorityQueue"
	spq  = "scrapy.pqueues.ScrapyPriorityQueue"
)

// job says how makeJob builds a job directory.
type job struct {
	pq   string
	fifo bool // FIFO disk queues (LIFO otherwise)
	// files makes a job of the files layout: a bucket per file (LIFO) or
	// directory (FIFO) and no queue store, as a job written before the store.
	files bool
}

func (j job) String() string {
	layout, kind := LayoutStore, "lifo"
	if j.files {
		layout = LayoutFiles
	}
	if j.fifo {
		kind = "fifo"
	}
	return j.pq[strings.LastIndex(j.pq, ".")+1:] + "/" + layout + "/" + kind
}

func (j job) kind() string {
	if j.fifo {
		return "fifo"
	}
	return "lifo"
}

// fileQueue hides the priority queue's store from a built-in disk queue
// factory, so that its buckets are files, as a third-party disk queue's are.
func fileQueue(f framework.QueueFactory) framework.QueueFactory {
	return func(_ context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
		cfg.Store = nil
		return f(context.Background(), c, cfg)
	}
}

// makeJob runs a scheduler on a new job directory: 30 requests over 3 hosts
// and 2 priorities, 4 handed out (one finished), spider state, then a stop
// without finishing the others (a graceful stop that leaves requests in
// flight, as a second Ctrl-C would).
func makeJob(t *testing.T, j job) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "job")
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]framework.QueueFactory{
		"test.FileLifoDisk": fileQueue(queues.LifoDiskFactory),
		"test.FileFifoDisk": fileQueue(queues.FifoDiskFactory),
	} {
		reg.MustRegister(registry.Entry{Name: name, Factory: f})
	}
	disk := "frontier.queues.LifoDisk"
	if j.fifo {
		disk = "frontier.queues.FifoDisk"
	}
	if j.files {
		disk = strings.Replace(disk, "frontier.queues.", "test.File", 1)
	}
	s := framework.NewSettings()
	code := framework.Source{Kind: framework.SourceCode}
	s.Set("JOBDIR", dir, code)
	s.Set("SCHEDULER_PRIORITY_QUEUE", j.pq, code)
	s.Set("SCHEDULER_DISK_QUEUE", disk, code)
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
	key := filepath.Join(dir, jobdir.QueueDir)
	segs := segments(t, dir)
	switch {
	case j.files && len(segs) > 0:
		t.Fatalf("a job with file queues wrote to the queue store: %v", segs)
	case j.files:
		// The store the priority queue opened holds nothing; without it the
		// job is what a job written before the store is.
		if err := os.Remove(filepath.Join(key, "queue.index")); err != nil {
			t.Fatal(err)
		}
	case len(segs) == 0 || !queuestore.Has(key):
		t.Fatalf("no queue store in %s", key)
	}
	return dir
}

// segments returns the queue store's segment files, in order.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, jobdir.QueueDir, "queue.*.log"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(segs)
	return segs
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

var jobs = []job{
	{pq: dapq},
	{pq: spq},
	{pq: dapq, fifo: true},
	{pq: dapq, files: true},
	{pq: spq, files: true, fifo: true},
}

func TestInspect(t *testing.T) {
	for _, j := range jobs {
		t.Run(j.String(), func(t *testing.T) {
			dir := makeJob(t, j)
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
			if j.files {
				if rep.QueueLayout != LayoutFiles || rep.Store != nil {
					t.Fatalf("layout %q, store %+v", rep.QueueLayout, rep.Store)
				}
			} else if rep.QueueLayout != LayoutStore || rep.Store == nil || rep.Store.Segments == 0 ||
				rep.Store.Err != "" || len(rep.Store.Unclaimed) != 0 || len(rep.Store.Drops) != 0 {
				t.Fatalf("layout %q, store %+v", rep.QueueLayout, rep.Store)
			}
			sum := 0
			slots := map[string]bool{}
			for _, b := range rep.Buckets {
				sum += b.Pending
				slots[b.Slot] = true
				if b.Kind != j.kind() || b.Err != "" || (b.Priority != 0 && b.Priority != 1) || (b.StoreKey == "") != j.files {
					t.Fatalf("bucket %+v", b)
				}
				if _, err := os.Stat(b.Path); (err == nil) != j.files {
					t.Fatalf("bucket %+v: files: %v", b, err)
				}
			}
			wantSlots := 3
			if j.pq == spq {
				wantSlots = 1 // no slots: one priority queue
			}
			if sum != 26 || len(slots) != wantSlots {
				t.Fatalf("buckets %+v", rep.Buckets)
			}
		})
	}
}

// addStoreBucket puts a bucket with one request into the job's queue
// store that its bucket journal does not list, as a drained bucket whose
// drop a crash came before.
func addStoreBucket(t *testing.T, dir string) {
	t.Helper()
	key := filepath.Join(dir, jobdir.QueueDir)
	st, err := queuestore.Open(key, disk.Config{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := st.Queue(filepath.Join(key, "7"), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Push(framework.MustRequest("https://host9.example/unclaimed")); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestInspectUnclaimedStoreBucket(t *testing.T) {
	dir := makeJob(t, job{pq: dapq})
	addStoreBucket(t, dir)
	rep, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pending != 26 || rep.Store == nil || len(rep.Store.Unclaimed) != 1 {
		t.Fatalf("pending %d, store %+v", rep.Pending, rep.Store)
	}
	if u := rep.Store.Unclaimed[0]; u != (StoreBucket{Key: "7", Kind: "lifo", Pending: 1}) {
		t.Fatalf("unclaimed %+v", u)
	}
}

func TestInspectCorruptStore(t *testing.T) {
	dir := makeJob(t, job{pq: spq})
	flipByte(t, filepath.Join(dir, jobdir.QueueDir, "queue.index"), -1)
	rep, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A damaged checkpoint is rebuilt from the segments (issue 10).
	if rep.Store == nil || len(rep.Store.Drops) != 1 || !strings.Contains(rep.Store.Drops[0], "rebuilt") || rep.Pending != 26 {
		t.Fatalf("pending %d, store %+v", rep.Pending, rep.Store)
	}
	for _, b := range rep.Buckets {
		if b.Err != "" {
			t.Fatalf("bucket %+v of a rebuilt store has an error", b)
		}
	}
}

// exportLines runs Export on dir and decodes its lines.
func exportLines(t *testing.T, dir string) (ExportSummary, []Line) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := Export(dir, &buf)
	if err != nil {
		t.Fatal(err)
	}
	var lines []Line
	for i, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var line Line
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		lines = append(lines, line)
	}
	return sum, lines
}

func TestExport(t *testing.T) {
	for _, j := range jobs {
		t.Run(j.String(), func(t *testing.T) {
			dir := makeJob(t, j)
			before := digest(t, dir)
			sum, lines := exportLines(t, dir)
			if digest(t, dir) != before {
				t.Fatal("Export changed the job directory")
			}
			if sum.Pending != 26 || sum.InFlight != 3 || sum.Unreadable != 0 || len(lines) != 29 {
				t.Fatalf("%+v, %d lines", sum, len(lines))
			}
			seen := map[string]bool{}
			states := map[string]int{}
			var prev *Line
			for i, line := range lines {
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
				if line.State != "pending" {
					continue
				}
				// By slot, then priority (highest first), then each bucket
				// in pop order: newest first from a LIFO bucket.
				if prev != nil {
					slot, prio := strings.Compare(prev.Slot, line.Slot), prev.Request.Priority-line.Request.Priority
					if slot > 0 || (slot == 0 && prio < 0) {
						t.Fatalf("line %d (%s, %d) after (%s, %d)", i, line.Slot, line.Request.Priority, prev.Slot, prev.Request.Priority)
					}
					if slot == 0 && prio == 0 {
						if a, b := pageOf(t, prev), pageOf(t, &line); (a < b) != j.fifo {
							t.Fatalf("%s bucket: page %d then page %d", j.kind(), a, b)
						}
					}
				}
				prev = &lines[i]
			}
			if states["pending"] != 26 || states["in_flight"] != 3 {
				t.Fatal(states)
			}
		})
	}
}

func pageOf(t *testing.T, l *Line) int {
	t.Helper()
	n, err := strconv.Atoi(l.Request.URL[strings.LastIndex(l.Request.URL, "/")+1:])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// firstPending returns the URL of a pending request of dir's export.
func firstPending(t *testing.T, dir string) string {
	t.Helper()
	_, lines := exportLines(t, dir)
	for _, l := range lines {
		if l.State == "pending" {
			return l.Request.URL
		}
	}
	t.Fatal("nothing pending")
	return ""
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name string
		job  job
		// damage changes the job; it returns the file its findings name.
		damage func(t *testing.T, dir string) string
		// want is in a finding's What about that file; dropBytes and
		// dropRecords are what the findings about it must drop at least.
		want          string
		dropBytes     int64
		dropRecords   int
		fatal         bool
		exportedAfter int // Export's pending count afterwards, with none unreadable (-1: not checked)
	}{
		{
			name: "torn tail of the last segment", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				segs := segments(t, dir)
				appendBytes(t, segs[len(segs)-1], []byte("a torn tail"))
				return segs[len(segs)-1]
			},
			want: "torn tail", dropBytes: int64(len("a torn tail")), exportedAfter: 26,
		},
		{
			name: "corrupt chunk", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				url := firstPending(t, dir)
				for _, seg := range segments(t, dir) {
					b, err := os.ReadFile(seg)
					if err != nil {
						t.Fatal(err)
					}
					if i := bytes.Index(b, []byte(url)); i > 0 {
						flipByte(t, seg, i+len(url)/2)
						return filepath.Join(dir, jobdir.QueueDir)
					}
				}
				t.Fatalf("%s is in no segment", url)
				return ""
			},
			want: "unreadable chunks", dropRecords: 1, exportedAfter: -1,
		},
		{
			name: "unclaimed bucket", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				addStoreBucket(t, dir)
				return filepath.Join(dir, jobdir.QueueDir)
			},
			want: "bucket 7 of the queue store is not in the bucket journal", dropRecords: 1, exportedAfter: 26,
		},
		{
			name: "corrupt checkpoint", job: job{pq: spq},
			damage: func(t *testing.T, dir string) string {
				flipByte(t, filepath.Join(dir, jobdir.QueueDir, "queue.index"), -1)
				return filepath.Join(dir, jobdir.QueueDir, "queue.index")
			},
			want: "rebuilt from the segments", exportedAfter: 26,
		},
		{
			name: "deleted checkpoint", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.QueueDir, "queue.index")
				os.Remove(p)
				return p
			},
			want: "rebuilt from the segments", exportedAfter: 26,
		},
		{
			name: "deleted bucket journal", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.QueueDir, jobdir.BucketJournalFile)
				os.Remove(p)
				return p
			},
			want: "rebuilds it", exportedAfter: -1,
		},
		{
			name: "deleted in-flight journal", job: job{pq: spq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.InFlightFile)
				os.Remove(p)
				return p
			},
			want: "missing", exportedAfter: -1,
		},
		{
			name: "in-flight journal cut to nothing", job: job{pq: spq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.InFlightFile)
				os.Truncate(p, 0)
				return p
			},
			want: "lost: empty", exportedAfter: -1,
		},
		{
			name: "another file in place of the in-flight journal", job: job{pq: spq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.InFlightFile)
				os.WriteFile(p, jobdir.EncodeBuckets([]string{"0", "1"}), 0o644)
				return p
			},
			want: "lost: not an in-flight journal", dropBytes: 1, exportedAfter: -1,
		},
		{
			name: "bucket journal cut", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.QueueDir, jobdir.BucketJournalFile)
				os.Truncate(p, 0)
				return p
			},
			want: "does not list 6 buckets", exportedAfter: 26,
		},
		{
			name: "another file in place of the bucket journal", job: job{pq: spq, files: true},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.QueueDir, jobdir.BucketJournalFile)
				os.WriteFile(p, jobdir.EncodeInFlight(2, nil, nil), 0o644)
				return p
			},
			want: "not a bucket journal", exportedAfter: -1,
		},
		{
			name: "garbage bucket file", job: job{pq: dapq, files: true},
			damage: func(t *testing.T, dir string) string {
				var lifo string
				filepath.WalkDir(filepath.Join(dir, jobdir.QueueDir), func(p string, d fs.DirEntry, err error) error {
					if err == nil && !d.IsDir() && d.Name() == "0" && lifo == "" {
						lifo = p
					}
					return nil
				})
				b, _ := os.ReadFile(lifo)
				for i := range b {
					b[i] = byte(i*7 + 3)
				}
				os.WriteFile(lifo, b, 0o644)
				return lifo
			},
			want: "cannot be read", dropBytes: 1, exportedAfter: -1,
		},
		{
			name: "flipped bit in the manifest's priority queue", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.ManifestFile)
				b, _ := os.ReadFile(p)
				i := bytes.Index(b, []byte("DownloaderAware"))
				b[i+3] ^= 0x01
				os.WriteFile(p, b, 0o644)
				return p
			},
			want: "damaged", fatal: true, exportedAfter: -1,
		},
		{
			name: "stray file, store", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.QueueDir, "stray")
				os.WriteFile(p, []byte("x"), 0o644)
				return p
			},
			want: "not a bucket of the bucket journal", exportedAfter: 26,
		},
		{
			name: "torn in-flight journal", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.InFlightFile)
				appendBytes(t, p, []byte{9, 0, 0})
				return p
			},
			want: "torn tail", dropBytes: 3, exportedAfter: 26,
		},
		{
			name: "corrupt bucket file", job: job{pq: dapq, files: true},
			damage: func(t *testing.T, dir string) string {
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
				return lifo
			},
			want: "", dropBytes: 1, dropRecords: 1, exportedAfter: -1,
		},
		{
			name: "stray file, files", job: job{pq: spq, files: true, fifo: true},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.QueueDir, "stray")
				os.WriteFile(p, []byte("x"), 0o644)
				return p
			},
			want: "not a bucket of the bucket journal", exportedAfter: 26,
		},
		{
			name: "manifest from the future", job: job{pq: dapq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.ManifestFile)
				os.WriteFile(p, []byte(`{"format": 7, "priority_queue": "x"}`), 0o644)
				return p
			},
			want: "format 7", fatal: true, exportedAfter: -1,
		},
		{
			name: "fingerprint file deleted", job: job{pq: spq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.FingerprintsFile)
				os.Remove(p)
				return p
			},
			want: "missing: every fingerprint of the job is lost", exportedAfter: 26,
		},
		{
			name: "fingerprint file cut to its header", job: job{pq: spq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.FingerprintsFile)
				os.Truncate(p, 8)
				return p
			},
			want: "holds no fingerprint while the job holds", exportedAfter: 26,
		},
		{
			name: "fingerprint file replaced by another", job: job{pq: spq},
			damage: func(t *testing.T, dir string) string {
				p := filepath.Join(dir, jobdir.FingerprintsFile)
				b, _ := os.ReadFile(filepath.Join(dir, jobdir.InFlightFile))
				os.WriteFile(p, b, 0o644)
				return p
			},
			want: "not a fingerprint file", dropBytes: 8, exportedAfter: 26,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := makeJob(t, tt.job)
			before := digest(t, dir)
			v, err := Verify(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if digest(t, dir) != before {
				t.Fatal("Verify changed the job directory")
			}
			if !v.OK() || v.Records < 30 || v.Files < 5 {
				t.Fatalf("a clean job: %+v", v)
			}

			file := tt.damage(t, dir)
			before = digest(t, dir)
			if v, err = Verify(dir, nil); err != nil {
				t.Fatal(err)
			}
			if digest(t, dir) != before {
				t.Fatal("Verify changed the damaged job directory")
			}
			var about []Finding
			for _, f := range v.Findings {
				if f.File == file && strings.Contains(f.What, tt.want) {
					about = append(about, f)
				}
			}
			if len(about) == 0 || v.Fatal != tt.fatal {
				t.Fatalf("no finding about %s with %q, or fatal %v (want %v): %+v", file, tt.want, v.Fatal, tt.fatal, v.Findings)
			}
			var dropBytes int64
			dropRecords := 0
			for _, f := range about {
				dropBytes += f.DropBytes
				dropRecords += f.DropRecords
			}
			if dropBytes < tt.dropBytes || dropRecords < tt.dropRecords {
				t.Fatalf("findings drop %d bytes and %d records, want at least %d and %d: %+v", dropBytes, dropRecords, tt.dropBytes, tt.dropRecords, about)
			}
			if lost := about[0].Lost(); (v.Verdict == VerdictLossless) == lost {
				t.Fatalf("verdict %s, the finding lost data: %v", v.Verdict, lost)
			}
			if tt.exportedAfter < 0 {
				return
			}
			if sum, _ := exportLines(t, dir); sum.Pending != tt.exportedAfter || sum.Unreadable != 0 {
				t.Fatalf("export after the damage: %+v", sum)
			}
		})
	}
}

// TestVerifyCorruptChunkExport checks that a chunk Verify reports is what
// Export cannot read: the records Verify counts as dropped are missing from
// the export, and counted as unreadable.
func TestVerifyCorruptChunkExport(t *testing.T) {
	dir := makeJob(t, job{pq: spq, fifo: true})
	url := firstPending(t, dir)
	seg := segments(t, dir)[0]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(url))
	if i < 0 {
		t.Fatalf("%s is not in %s", url, seg)
	}
	flipByte(t, seg, i+1)
	v, err := Verify(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Fatal || v.DropRecords == 0 || v.DropRecords > 26 {
		t.Fatalf("%+v", v)
	}
	sum, lines := exportLines(t, dir)
	if sum.Unreadable != v.DropRecords || sum.Pending != 26-v.DropRecords {
		t.Fatalf("export %+v, verify drops %d records", sum, v.DropRecords)
	}
	for _, l := range lines {
		if l.Request.URL == url {
			t.Fatalf("%s exported from a corrupt chunk", url)
		}
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// flipByte inverts the byte at off in the file at path; off -1 is the
// middle of the file.
func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off = len(b) / 2
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
