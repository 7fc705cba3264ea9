package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

// stoppedJob leaves a job directory with 10 pending requests and 2 in
// flight. With files, its buckets are files, as a job's written before the
// queue store: its disk queue is kept from the store and the store's empty
// checkpoint is removed.
func stoppedJob(t *testing.T, files bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "job")
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(registry.Entry{Name: "test.FileLifoDisk", Factory: framework.QueueFactory(
		func(_ context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
			cfg.Store = nil
			return queues.LifoDiskFactory(context.Background(), c, cfg)
		})})
	s := framework.NewSettings()
	s.Set("JOBDIR", dir, framework.Source{Kind: framework.SourceCode})
	if files {
		s.Set("SCHEDULER_DISK_QUEUE", "test.FileLifoDisk", framework.Source{Kind: framework.SourceCode})
	}
	c := framework.NewCrawler(s, reg, nil)
	sch, err := schedulers.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		sch.Enqueue(framework.MustRequest(fmt.Sprintf("https://h%d.example/%d", i%2, i)))
	}
	sch.Next()
	sch.Next()
	c.Spider.State["k"] = true
	if err := sch.Close("shutdown"); err != nil {
		t.Fatal(err)
	}
	if files {
		if err := os.Remove(filepath.Join(dir, jobdir.QueueDir, "queue.index")); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// jobdirCommand runs "frontier jobdir ARGS..." and returns the exit status.
func jobdirCommand(args []string, stdout, stderr io.Writer) int {
	return run(append([]string{"jobdir"}, args...), stdout, stderr)
}

func TestJobdirCommand(t *testing.T) {
	for _, layout := range []struct {
		name  string
		files bool
		want  string // in inspect's output
	}{
		{"store", false, "queue store    1 segment\n"},
		{"files", true, "queue layout   a file or directory per bucket\n"},
	} {
		t.Run(layout.name, func(t *testing.T) {
			dir := stoppedJob(t, layout.files)
			tests := []struct {
				args []string
				code int
				want []string
			}{
				{[]string{"inspect", dir}, 0, []string{"pending        10 requests", "in flight      2", "fingerprints   12", "spider state   1 key: k", "h0.example", layout.want}},
				{[]string{"inspect", "--json", dir}, 0, []string{`"pending": 10`, `"in_flight": 2`, `"queue_layout": "` + layout.name + `"`}},
				{[]string{"export", dir}, 0, []string{`"state":"in_flight"`, `"state":"pending"`, `"url":"https://h1.example/11"`}},
				{[]string{"verify", dir}, 0, []string{"OK, a resume takes everything"}},
				{[]string{"verify", filepath.Join(dir, "missing")}, 1, nil},
				{[]string{"inspect"}, 2, nil},
				{[]string{"frobnicate", dir}, 2, nil},
			}
			for _, tt := range tests {
				t.Run(strings.ReplaceAll(strings.Join(tt.args, " "), dir, "DIR"), func(t *testing.T) {
					var stdout, stderr bytes.Buffer
					if code := jobdirCommand(tt.args, &stdout, &stderr); code != tt.code {
						t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
					}
					for _, w := range tt.want {
						if !strings.Contains(stdout.String(), w) {
							t.Errorf("output lacks %q:\n%s", w, stdout.String())
						}
					}
				})
			}
			// export writes one line per request.
			var stdout, stderr bytes.Buffer
			jobdirCommand([]string{"export", dir}, &stdout, &stderr)
			if n := strings.Count(stdout.String(), "\n"); n != 12 {
				t.Fatalf("export wrote %d lines", n)
			}
			// Through the command table too.
			stdout.Reset()
			if code := run([]string{"jobdir", "verify", dir}, &stdout, &stderr); code != 0 {
				t.Fatalf("frontier jobdir verify: exit %d: %s", code, stderr.String())
			}
		})
	}
}

// TestJobdirVerifyDamagedStore checks what verify prints, and its exit
// status, for a queue store with a torn tail (nothing acknowledged lost:
// exit 3), then a checkpoint damaged too (rebuilt from the segments,
// nothing lost: exit 3, the index named), then a corrupt chunk of a
// segment (requests lost: exit 1).
func TestJobdirVerifyDamagedStore(t *testing.T) {
	dir := stoppedJob(t, false)
	seg := filepath.Join(dir, jobdir.QueueDir, "queue.00000001.log")
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("torn"))
	f.Close()
	var stdout, stderr bytes.Buffer
	if code := jobdirCommand([]string{"verify", dir}, &stdout, &stderr); code != 3 {
		t.Fatalf("exit %d: %s", code, stdout.String())
	}
	for _, w := range []string{"drop    " + seg + " at offset ", "torn tail dropped", "(4 bytes, 0 records)", "nothing lost: a resume would drop 4 bytes"} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("verify output lacks %q:\n%s", w, stdout.String())
		}
	}
	stdout.Reset()
	if code := jobdirCommand([]string{"inspect", dir}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "a resume drops queue.00000001.log at offset") {
		t.Errorf("inspect: exit %d:\n%s", code, stdout.String())
	}

	index := filepath.Join(dir, jobdir.QueueDir, "queue.index")
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	os.WriteFile(index, b, 0o644)
	stdout.Reset()
	if code := jobdirCommand([]string{"verify", dir}, &stdout, &stderr); code != 3 || !strings.Contains(stdout.String(), "rebuild "+index+" at offset 0") ||
		!strings.Contains(stdout.String(), "rebuilt from the segments, nothing lost") || !strings.Contains(stdout.String(), "nothing lost") ||
		strings.Contains(stdout.String(), "LOSS") {
		t.Fatalf("exit %d:\n%s", code, stdout.String())
	}
	stdout.Reset()
	if code := jobdirCommand([]string{"inspect", dir}, &stdout, &stderr); code != 0 {
		t.Errorf("inspect: exit %d:\n%s", code, stdout.String())
	}

	// A flipped byte inside a chunk of requests: they are lost.
	b, err = os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	os.WriteFile(seg, b, 0o644)
	stdout.Reset()
	if code := jobdirCommand([]string{"verify", dir}, &stdout, &stderr); code != 1 || !strings.Contains(stdout.String(), "LOSS    "+seg) ||
		!strings.Contains(stdout.String(), "a resume would LOSE data") {
		t.Fatalf("exit %d:\n%s", code, stdout.String())
	}
}

func TestJobdirImportSeen(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "requests.seen")
	os.WriteFile(src, []byte("7873d70c33756a15fed7649ba909e064bf9c5844\nc03485502caa9106f874b4bd2ad9e98a3a6dc36c\n47adb8"), 0o644)
	var stdout, stderr bytes.Buffer
	if code := jobdirCommand([]string{"import-seen", dir, src}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "imported 2 new fingerprints") || !strings.Contains(stdout.String(), "torn last line: true") ||
		!strings.Contains(stdout.String(), "now holds 2\n") {
		t.Fatal(stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, jobdir.FingerprintsFile)); err != nil {
		t.Fatal(err)
	}
}
