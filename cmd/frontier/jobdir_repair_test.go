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

// TestJobdirRepairRefusesRunningJob checks that repair leaves a job a live
// process holds alone, and that an undamaged job needs nothing (exit 0).
func TestJobdirRepairRefusesRunningJob(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "job")
	silent := zerolog.Nop()
	f, err := crawl.Open(context.Background(), crawl.Options{Set: []string{"JOBDIR=" + dir}, Logger: &silent})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := jobdirCommand([]string{"repair", dir}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "is running: stop it first") {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, jobdir.DamagedDirPrefix+"*")); len(kept) > 0 {
		t.Fatalf("a repair of a running job changed it: %v", kept)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := jobdirCommand([]string{"repair", dir}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "OK, nothing to repair") {
		t.Fatalf("exit %d:\n%s", code, stdout.String())
	}
}

// TestJobdirRepairOut checks --out: the damaged job is left as it is, the
// repaired copy verifies OK, and the JSON report names what was kept.
func TestJobdirRepairOut(t *testing.T) {
	dir := stoppedJob(t, false)
	fp := filepath.Join(dir, jobdir.FingerprintsFile)
	if err := os.WriteFile(fp, []byte("not fingerprints at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "repaired")
	var stdout, stderr bytes.Buffer
	if code := jobdirCommand([]string{"repair", "--json", "--out", out, dir}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, w := range []string{`"verdict": "loss"`, `"verdict": "ok"`, `"kept_aside"`, `"fingerprints_rebuilt"`} {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("report lacks %s:\n%s", w, stdout.String())
		}
	}
	if b, _ := os.ReadFile(fp); string(b) != "not fingerprints at all" {
		t.Errorf("--out changed the original: %q", b)
	}
	stdout.Reset()
	if code := jobdirCommand([]string{"verify", out}, &stdout, &stderr); code != 0 {
		t.Errorf("verify of the repaired copy: exit %d:\n%s", code, stdout.String())
	}
}

// TestJobdirRepairSwappedStoreFiles swaps the queue store's checkpoint with
// a segment, and two segments, in jobs of the corruption suite that use the
// store; verify names both files, the repair keeps them aside and moves
// them back to their names, verify then says OK, and a resume of the
// repaired job hands out every request of the undamaged job: a file under
// another's name loses nothing.
func TestJobdirRepairSwappedStoreFiles(t *testing.T) {
	for _, cfg := range damage.Configs(100, 10) { // enough requests for several segments
		if cfg.Layout != damage.LayoutStore {
			continue
		}
		t.Run(cfg.String(), func(t *testing.T) {
			job, err := damage.Build(context.Background(), t.TempDir(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			var index string
			var segs []string
			for _, f := range job.Oracle.Files {
				switch f.Kind {
				case damage.KindIndex:
					index = f.Rel
				case damage.KindSegment:
					segs = append(segs, f.Rel)
				}
			}
			if index == "" || len(segs) < 2 {
				t.Fatalf("the job has checkpoint %q and segments %v: the test needs both", index, segs)
			}
			for _, pair := range [][2]string{{index, segs[0]}, {index, segs[len(segs)-1]}, {segs[0], segs[len(segs)-1]}} {
				repairSwap(t, job, pair[0], pair[1])
			}
		})
	}
}

func repairSwap(t *testing.T, job *damage.Job, a, b string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "job")
	if err := copyJob(job.Dir, dir); err != nil {
		t.Fatal(err)
	}
	pa, pb := filepath.Join(dir, a), filepath.Join(dir, b)
	da, errA := os.ReadFile(pa)
	db, errB := os.ReadFile(pb)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if err := os.WriteFile(pa, db, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, da, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	// Exit 3: nothing lost, something rebuilt.
	if code := jobdirCommand([]string{"verify", dir}, &stdout, &stderr); code != 3 || !strings.Contains(stdout.String(), a) || !strings.Contains(stdout.String(), b) {
		t.Fatalf("swap %s and %s: verify exit %d, want 3 naming both files:\n%s", a, b, code, stdout.String())
	}
	stdout.Reset()
	code := jobdirCommand([]string{"repair", "--log-level", "ERROR", dir}, &stdout, &stderr)
	if kept, _ := filepath.Glob(filepath.Join(dir, jobdir.DamagedDirPrefix+"*", a)); code != 3 || len(kept) == 0 {
		t.Fatalf("swap %s and %s: repair exit %d, kept aside %v:\n%s\n%s", a, b, code, kept, stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := jobdirCommand([]string{"verify", dir}, &stdout, &stderr); code != 0 {
		t.Errorf("swap %s and %s: verify after the repair: exit %d:\n%s", a, b, code, stdout.String())
	}
	silent := zerolog.Nop()
	f, err := crawl.Open(context.Background(), crawl.Options{Set: resumeSettingsOf(job.Config, dir), Logger: &silent})
	if err != nil {
		t.Fatalf("swap %s and %s: the repaired job does not open: %v", a, b, err)
	}
	defer f.Close()
	got := map[string]bool{}
	for f.HasPending() {
		r, err := f.Next()
		if err != nil || r == nil {
			t.Fatalf("swap %s and %s: Next: %v, %v", a, b, r, err)
		}
		got[r.URL] = true
		if err := f.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	for u := range job.Expected() {
		if !got[u] {
			t.Errorf("swap %s and %s: the repaired job lost %s", a, b, u)
		}
	}
}
