package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/cmd/frontier/internal/damage"
	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/jobdir"
)

// repairKinds are the files whose damage TestJobdirRepair repairs: the
// fingerprints, the feed commit log and the rebuildable indexes, every way
// they can be damaged, and the other files of the job deleted.
var repairKinds = map[string]bool{damage.KindFingerprints: true, damage.KindFeedLog: true, damage.KindIndex: true}

// TestJobdirRepair damages jobs of the corruption suite (both priority
// queues, both layouts, closed and killed), repairs each, and checks that
// the repair kept every file verify named under damaged-<UTC>/, that
// verify then says OK, and that a resume of the repaired job hands out
// every request the damage left intact.
func TestJobdirRepair(t *testing.T) {
	opts := damage.CaseOptions{MaxTruncations: 2, Flips: 1, FlipBits: 2, FilesPerKind: 1, Seed: 3}
	for _, cfg := range damage.Configs(40, 10) {
		t.Run(cfg.String(), func(t *testing.T) {
			job, err := damage.Build(context.Background(), t.TempDir(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			feedBytes, err := os.ReadFile(job.FeedPath)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, c := range damage.Cases(job.Oracle, opts) {
				if !repairKinds[c.Kind] && !(c.Damage == damage.Delete && c.Kind == damage.KindBuckets) {
					continue
				}
				if c.Damage == damage.Swap {
					continue // swaps with queue files are the queue's own repair
				}
				n++
				// The feed file is outside the job, named by its log: the
				// same file for every case.
				if err := os.WriteFile(job.FeedPath, feedBytes, 0o644); err != nil {
					t.Fatal(err)
				}
				repairCase(t, job, c)
			}
			if n < 8 {
				t.Fatalf("only %d cases", n)
			}
		})
	}
}

func repairCase(t *testing.T, job *damage.Job, c damage.Case) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "job")
	if err := copyJob(job.Dir, dir); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(dir); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := jobdirCommand([]string{"repair", "--log-level", "ERROR", dir}, &stdout, &stderr)
	if code != 0 && code != 1 && code != 3 {
		t.Fatalf("%s: repair exit %d:\n%s\n%s", c, code, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "repair stopped") {
		t.Fatalf("%s: repair stopped:\n%s\n%s", c, stdout.String(), stderr.String())
	}
	if code != 0 {
		kept, _ := filepath.Glob(filepath.Join(dir, jobdir.DamagedDirPrefix+"*"))
		if c.Damage != damage.Delete && len(kept) == 0 {
			t.Errorf("%s: nothing kept aside:\n%s\n%s", c, stdout.String(), stderr.String())
		}
	}
	stdout.Reset()
	if code := jobdirCommand([]string{"verify", dir}, &stdout, &stderr); code != 0 {
		t.Errorf("%s: verify after the repair: exit %d:\n%s", c, code, stdout.String())
	}
	// The repaired job resumes every request the damage left intact.
	silent := zerolog.Nop()
	f, err := crawl.Open(context.Background(), crawl.Options{Set: resumeSettingsOf(job.Config, dir), Logger: &silent})
	if err != nil {
		t.Fatalf("%s: the repaired job does not open: %v", c, err)
	}
	defer f.Close()
	got := map[string]bool{}
	for f.HasPending() {
		r, err := f.Next()
		if err != nil || r == nil {
			t.Fatalf("%s: Next: %v, %v", c, r, err)
		}
		got[r.URL] = true
		if err := f.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	for u := range job.Expected() {
		if !got[u] && job.Oracle.Recoverable(u, job.InFlight[u], c.Damaged) {
			t.Errorf("%s: the repaired job lost the intact request %s", c, u)
		}
	}
}

// resumeSettingsOf are the settings the corruption suite's job of cfg
// resumes with.
func resumeSettingsOf(cfg damage.Config, dir string) []string {
	dq := "scrapy.squeues.PickleLifoDiskQueue"
	if cfg.PriorityQueue == damage.DownloaderAwarePQ {
		dq = "scrapy.squeues.PickleFifoDiskQueue"
	}
	return []string{"JOBDIR=" + dir, "SCHEDULER_PRIORITY_QUEUE=" + cfg.PriorityQueue, "SCHEDULER_DISK_QUEUE=" + dq,
		"JOBDIR_QUEUE_LAYOUT=" + cfg.Layout, "JOBDIR_SEGMENT_BYTES=4096", "JOBDIR_FSYNC=never"}
}
