package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs the command line and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitStatus(t *testing.T) {
	dir := stoppedJob(t, false)
	tests := []struct {
		args   []string
		code   int
		stdout string // in stdout
		stderr string // in stderr
	}{
		// Help: status 0, on stdout.
		{[]string{"help"}, 0, "Available Commands:", ""},
		{[]string{"--help"}, 0, "Available Commands:", ""},
		{[]string{"help", "jobdir", "verify"}, 0, "Usage:\n  frontier jobdir verify DIR [flags]", ""},
		{[]string{"jobdir", "verify", "-h"}, 0, "Examples:", ""},
		{[]string{"bench", "scheduler", "--help"}, 0, "--dup-ratio", ""},
		{[]string{"completion", "bash"}, 0, "complete -o default -F __start_frontier frontier", ""},
		{[]string{"completion", "zsh"}, 0, "#compdef frontier", ""},
		// Usage errors: status 2, one prefix, a pointer to help.
		{[]string{}, 2, "", "frontier: frontier needs a command"},
		{[]string{"frobnicate"}, 2, "", `frontier: unknown command "frobnicate" for "frontier"`},
		{[]string{"lst"}, 2, "", "did you mean list?"},
		{[]string{"list", "--bogus"}, 2, "", "frontier: unknown flag: --bogus\nRun 'frontier list --help' for usage."},
		{[]string{"list", "extra"}, 2, "", "frontier: list: unknown command"},
		{[]string{"jobdir"}, 2, "", "frontier jobdir needs a command: export, import-seen, inspect, repair, verify"},
		{[]string{"jobdir", "inspect"}, 2, "", "frontier: jobdir inspect: accepts 1 arg(s), received 0"},
		{[]string{"jobdir", "import-seen", "a", "b", "c"}, 2, "", "jobdir import-seen: accepts between 1 and 2 arg(s)"},
		{[]string{"help", "nope"}, 2, "", `unknown help topic "nope"`},
		{[]string{"bench", "scheduler", "-n", "many"}, 2, "", `invalid argument "many" for "-n, --n" flag`},
		{[]string{"bench", "scheduler", "--dup-ratio", "2"}, 2, "", `--dup-ratio "2": want a number in [0, 1)`},
		{[]string{"-s", "JOBDIR", "list"}, 2, "", `invalid -s "JOBDIR": want -s NAME=VALUE`},
		// Runtime errors: status 1.
		{[]string{"jobdir", "verify", filepath.Join(dir, "missing")}, 1, "", "frontier: jobtools: stat "},
		{[]string{"-s", "CONCURRENT_REQUESTS=lots", "list"}, 1, "",
			`frontier: setting CONCURRENT_REQUESTS="lots" (from -s CONCURRENT_REQUESTS=lots on the command line): want an integer >= 0`},
		// Flags after arguments.
		{[]string{"jobdir", "verify", dir, "--json"}, 0, `"records_read"`, ""},
		{[]string{"jobdir", "inspect", dir, "--json"}, 0, `"pending": 10`, ""},
		{[]string{"fingerprint", "https://example.com/", "--method", "post"}, 0, "fingerprint  ", ""},
		{[]string{"settings", "-s", "DEPTH_LIMIT=3"}, 0, "DEPTH_LIMIT:", ""},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(strings.Join(tt.args, " "), dir, "DIR"), func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
			if tt.code == 0 && stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
		})
	}
}

// Every command has a short and a long description and examples.
func TestHelpOnEveryCommand(t *testing.T) {
	root := newRootCommand(newEnv(&bytes.Buffer{}, &bytes.Buffer{}))
	cmds := root.Commands()
	for len(cmds) > 0 {
		c := cmds[0]
		cmds = append(cmds[1:], c.Commands()...)
		if c.Name() == "completion" || c.Parent().Name() == "completion" {
			continue // cobra's own
		}
		if c.Short == "" || c.Long == "" || c.Example == "" {
			t.Errorf("%s: short %q, long %d bytes, example %q", c.CommandPath(), c.Short, len(c.Long), c.Example)
		}
	}
}

func TestSettingsCommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(file, []byte("DOWNLOAD_SLOTS: {example.com: {concurrency: 2}}\nJOBDIR: 'null'\n"), 0o644)
	code, stdout, stderr := runCmd(t, "--settings", file, "settings", "-s", "SCHEDULER_START_DISK_QUEUE=null")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"DOWNLOAD_SLOTS:",
		"{example.com: {concurrency: 2}}",
		"# " + file + ":1\n",
		`JOBDIR:`, `"null"`,
		"SCHEDULER_START_DISK_QUEUE:", "null  ",
		"PLUGINS:", "[]",
		"LOG_LEVEL:", "INFO",
		"CONCURRENT_REQUESTS:", "# default in settings.yaml:",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "map[") {
		t.Errorf("Go syntax in the output:\n%s", stdout)
	}
	code, stdout, _ = runCmd(t, "settings", "--json", "-s", "JOBDIR=null")
	var lines []settingLine
	if err := json.Unmarshal([]byte(stdout), &lines); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, stdout)
	}
	for _, l := range lines {
		if l.Name == "JOBDIR" && (l.Value != nil || l.Source != "-s JOBDIR=null on the command line") {
			t.Errorf("JOBDIR: %+v", l)
		}
	}
}

func TestFingerprintBadURL(t *testing.T) {
	code, _, stderr := runCmd(t, "fingerprint", "example.com/a b")
	if code != 1 || !strings.Contains(stderr, `frontier: invalid URL "example.com/a b": no scheme`) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestProgress(t *testing.T) {
	var w bytes.Buffer
	e := &env{stderr: &w, terminal: true}
	p := e.progress("verify: records")
	p.next = p.start // show the first update at once
	p.update(5, 10)
	p.update(6, 10) // within progressEvery: not shown
	p.done()
	if got := w.String(); !strings.HasPrefix(got, "\r\x1b[Kverify: records 5 of 10 (50%)") || strings.Contains(got, " 6 of") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("progress wrote %q", got)
	}
	// Not a terminal: nothing.
	w.Reset()
	e.terminal = false
	p = e.progress("x")
	p.update(1, 2)
	p.done()
	if w.Len() != 0 {
		t.Errorf("progress wrote %q off a terminal", w.String())
	}
}

// bench runs twice in a row with the same JOBDIR, leaves nothing behind,
// and prints each figure once.
func TestBenchTwiceSameJobDir(t *testing.T) {
	jobdir := filepath.Join(t.TempDir(), "jobs")
	for i := 0; i < 2; i++ {
		code, stdout, stderr := runCmd(t, "bench", "scheduler", "-n", "300", "--dup-ratio", "0.5", "--json", "-s", "JOBDIR="+jobdir, "--log-level", "ERROR")
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, stderr)
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || out["variants"] == nil {
			t.Fatalf("top-level fields %v, want variants only", out)
		}
		var vs []benchResult
		if err := json.Unmarshal(out["variants"], &vs); err != nil || len(vs) != 1 || !vs[0].JobDir || vs[0].Dequeued != 150 {
			t.Fatalf("variants %s: %v", out["variants"], err)
		}
		if entries, _ := os.ReadDir(jobdir); len(entries) != 0 {
			t.Fatalf("run %d left %d entries in JOBDIR", i, len(entries))
		}
	}
}

// --runs N runs each variant N times: the JSON holds every run, numbered, and
// the text ends with the median and range of each figure.
func TestBenchRuns(t *testing.T) {
	code, stdout, stderr := runCmd(t, "bench", "scheduler", "-n", "200", "--dup-ratio", "0", "--runs", "3", "--json", "--log-level", "ERROR")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct{ Variants []benchResult }
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Variants) != 3 {
		t.Fatalf("%d variants, want 3 runs", len(out.Variants))
	}
	for i, v := range out.Variants {
		if v.Run != i+1 || v.Dequeued != 200 {
			t.Errorf("variant %d: run %d, %d dequeued", i, v.Run, v.Dequeued)
		}
	}
	code, stdout, stderr = runCmd(t, "bench", "scheduler", "-n", "200", "--dup-ratio", "0", "--runs", "2", "--log-level", "ERROR")
	if code != 0 || strings.Count(stdout, "scheduler (memory)") != 2 || !strings.Contains(stdout, "summary of 2 runs (median, min-max):\n  enqueue/s: ") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	if code, _, stderr := runCmd(t, "bench", "scheduler", "--runs", "0"); code == 0 || !strings.Contains(stderr, "--runs") {
		t.Fatalf("--runs 0: exit %d: %s", code, stderr)
	}
}

// import-seen says how many fingerprints are new and how many the job holds.
func TestJobdirImportSeenTwice(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(t.TempDir(), "a.seen")
	b := filepath.Join(t.TempDir(), "b.seen")
	os.WriteFile(a, []byte("7873d70c33756a15fed7649ba909e064bf9c5844\nc03485502caa9106f874b4bd2ad9e98a3a6dc36c\n"), 0o644)
	os.WriteFile(b, []byte("7873d70c33756a15fed7649ba909e064bf9c5844\n47adb8a4ee42e9bd8e53e70c8e4ff54b65b1a0b1\n"), 0o644)
	if code, stdout, stderr := runCmd(t, "jobdir", "import-seen", dir, a); code != 0 || !strings.Contains(stdout, "imported 2 new fingerprints") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
	code, stdout, stderr := runCmd(t, "jobdir", "import-seen", dir, b)
	if code != 0 || !strings.Contains(stdout, "imported 1 new fingerprints") || !strings.Contains(stdout, "now holds 3\n") {
		t.Fatalf("exit %d: %s%s", code, stdout, stderr)
	}
}

// inspect --json leaves out what the job does not have.
func TestJobdirInspectJSONOmitsAbsent(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "requests.seen"), []byte("7873d70c33756a15fed7649ba909e064bf9c5844\n"), 0o644)
	code, stdout, stderr := runCmd(t, "jobdir", "inspect", dir, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"manifest", "lock", "buckets", "state_keys"} {
		if v, ok := rep[absent]; ok {
			t.Errorf("%s: %v, want it left out", absent, v)
		}
	}
	if rep["fingerprints"] != 1.0 {
		t.Errorf("fingerprints %v", rep["fingerprints"])
	}
}
