package feed

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
	"github.com/frontier-go/frontier/jobdir"
)

// product is a test item: a struct, whose fields keep their order.
type product struct {
	Name  string   `json:"name"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags,omitempty"`
}

func job(dir string, mode recordio.FsyncMode) *framework.JobConfig {
	c := &framework.JobConfig{Dir: dir, Fsync: recordio.FsyncPolicy{Mode: mode}}
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

func mustOpen(t testing.TB, specs []Spec, opts Options) *Set {
	t.Helper()
	s, err := Open(specs, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// crash drops s as a kill -9 would: its files are closed, nothing more is
// written (no closing bracket, no fsync).
func crash(s *Set) { _ = s.closeFiles() }

func mustAdd(t testing.TB, s *Set, items ...any) {
	t.Helper()
	for _, it := range items {
		if err := s.Add(it); err != nil {
			t.Fatalf("Add(%v): %v", it, err)
		}
	}
}

func mustCommit(t testing.TB, s *Set, done ...uint64) {
	t.Helper()
	if err := s.Commit(done); err != nil {
		t.Fatalf("Commit(%v): %v", done, err)
	}
}

func mustClose(t testing.TB, s *Set) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// numbered returns items {"n": from} … {"n": to-1}.
func numbered(from, to int) []any {
	var out []any
	for i := from; i < to; i++ {
		out = append(out, map[string]any{"n": i})
	}
	return out
}

// numbers parses a feed of numbered items and returns their numbers; the
// file must be valid in its format (a JSON file a whole array).
func numbers(t testing.TB, format Format, data string) []int {
	t.Helper()
	var objs []map[string]any
	switch format {
	case JSONLines:
		for i, line := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
			if line == "" && data == "" {
				break
			}
			var o map[string]any
			if err := json.Unmarshal([]byte(line), &o); err != nil {
				t.Fatalf("line %d %q: %v", i+1, line, err)
			}
			objs = append(objs, o)
		}
	case JSON:
		if err := json.Unmarshal([]byte(data), &objs); err != nil {
			t.Fatalf("not a JSON array: %v\n%.2000s", err, data)
		}
	case CSV:
		rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("CSV: %v\n%.2000s", err, data)
		}
		if len(rows) == 0 {
			return nil
		}
		col := slices.Index(rows[0], "n")
		if col < 0 {
			t.Fatalf("CSV header %q has no column n", rows[0])
		}
		var out []int
		for i, r := range rows[1:] {
			n, err := strconv.Atoi(r[col])
			if err != nil {
				t.Fatalf("CSV row %d %q: %v", i+1, r, err)
			}
			out = append(out, n)
		}
		return out
	}
	var out []int
	for _, o := range objs {
		out = append(out, int(o["n"].(float64)))
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

var formats = []struct {
	format Format
	ext    string
}{{JSONLines, ".jsonl"}, {JSON, ".json"}, {CSV, ".csv"}}

func TestRoundTrip(t *testing.T) {
	items := []any{
		product{Name: "Lamp <b>&", Price: 12.5, Tags: []string{"home", "light"}},
		map[string]any{"price": 3, "name": "Mug", "extra": true},
		product{Name: "Quote \"x\", comma\nnewline"},
	}
	tests := []struct {
		format Format
		want   string
	}{
		{JSONLines, `{"name":"Lamp <b>&","price":12.5,"tags":["home","light"]}
{"extra":true,"name":"Mug","price":3}
{"name":"Quote \"x\", comma\nnewline","price":0}
`},
		{JSON, `[
{"name":"Lamp <b>&","price":12.5,"tags":["home","light"]},
{"extra":true,"name":"Mug","price":3},
{"name":"Quote \"x\", comma\nnewline","price":0}
]
`},
		{CSV, `name,price,tags
Lamp <b>&,12.5,"[""home"",""light""]"
Mug,3,
"Quote ""x"", comma
newline",0,
`},
	}
	for _, tt := range tests {
		for _, withJob := range []bool{false, true} {
			t.Run(string(tt.format)+"/job="+strconv.FormatBool(withJob), func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "out", "items")
				var logBuf bytes.Buffer
				opts := Options{Logger: zerolog.New(&logBuf)}
				if withJob {
					opts.Job = job(filepath.Join(dir, "job"), recordio.FsyncAlways)
				}
				s := mustOpen(t, []Spec{{Path: path, Format: tt.format}}, opts)
				mustAdd(t, s, items[:2]...)
				mustCommit(t, s, 1)
				mustAdd(t, s, items[2])
				mustCommit(t, s, 2)
				if s.Items() != 3 {
					t.Errorf("Items() = %d, want 3", s.Items())
				}
				mustClose(t, s)
				if got := readFile(t, path); got != tt.want {
					t.Errorf("file:\n%s\nwant:\n%s", got, tt.want)
				}
				if tt.format == JSON && !json.Valid([]byte(readFile(t, path))) {
					t.Error("not valid JSON")
				}
				warned := strings.Contains(logBuf.String(), `"fields":["extra"]`)
				if warned != (tt.format == CSV) || strings.Count(logBuf.String(), "dropped (logged once") > 1 {
					t.Errorf("log: %s", logBuf.String())
				}
			})
		}
	}
}

func TestEmptyFeeds(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f.format), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "items"+f.ext)
			s := mustOpen(t, []Spec{{Path: path, Format: f.format}}, Options{Job: job(filepath.Join(t.TempDir(), "job"), recordio.FsyncNever)})
			mustCommit(t, s, 1)
			mustClose(t, s)
			want := map[Format]string{JSON: "[]\n"}[f.format]
			if got := readFile(t, path); got != want {
				t.Errorf("file %q, want %q", got, want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	items := []any{
		map[string]any{"a": 1, "b": "x", "c": []int{1, 2}},
		map[string]any{"c": map[string]int{"k": 1}, "z": 0},
	}
	tests := []struct {
		format Format
		want   string
	}{
		{JSONLines, "{\"c\":[1,2],\"a\":1}\n{\"c\":{\"k\":1}}\n"},
		{JSON, "[\n{\"c\":[1,2],\"a\":1},\n{\"c\":{\"k\":1}}\n]\n"},
		{CSV, "c,a\n\"[1,2]\",1\n\"{\"\"k\"\":1}\",\n"},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "items")
			s := mustOpen(t, []Spec{{Path: path, Format: tt.format}}, Options{Fields: []string{"c", "a"}})
			mustAdd(t, s, items...)
			mustCommit(t, s)
			mustClose(t, s)
			if got := readFile(t, path); got != tt.want {
				t.Errorf("file:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestItemErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		specs []Spec
		opts  Options
		item  any
	}{
		{"unencodable", []Spec{{Path: filepath.Join(dir, "a.jsonl"), Format: JSONLines}}, Options{}, make(chan int)},
		{"csv needs an object", []Spec{{Path: filepath.Join(dir, "b.jsonl"), Format: JSONLines}, {Path: filepath.Join(dir, "b.csv"), Format: CSV}}, Options{}, []int{1}},
		{"fields need an object", []Spec{{Path: filepath.Join(dir, "c.jsonl"), Format: JSONLines}}, Options{Fields: []string{"a"}}, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t, tt.specs, tt.opts)
			if err := s.Add(tt.item); !errors.Is(err, ErrItem) {
				t.Fatalf("Add(%v) = %v, want ErrItem", tt.item, err)
			}
			mustCommit(t, s)
			mustClose(t, s)
			for _, sp := range tt.specs {
				if got := readFile(t, sp.Path); got != "" {
					t.Errorf("%s holds %q after a refused item", sp.Path, got)
				}
			}
		})
	}
}

func TestStdout(t *testing.T) {
	var out, logBuf bytes.Buffer
	s := mustOpen(t, []Spec{{Path: Stdout, Format: JSON}}, Options{Stdout: &out, Logger: zerolog.New(&logBuf),
		Job: job(t.TempDir(), recordio.FsyncNever)})
	mustAdd(t, s, numbered(0, 2)...)
	mustCommit(t, s, 1)
	mustClose(t, s)
	if got, want := out.String(), "[\n{\"n\":0},\n{\"n\":1}\n]\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if !strings.Contains(logBuf.String(), "not exactly once") {
		t.Errorf("no warning that standard output is not exactly once: %s", logBuf.String())
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "keep.jsonl")
	if err := os.WriteFile(keep, []byte("{\"old\":1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notArray := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(notArray, []byte("[{\"a\":1},\n{\"a\":2}"), 0o644); err != nil {
		t.Fatal(err)
	}
	headed := filepath.Join(dir, "headed.csv")
	if err := os.WriteFile(headed, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		specs []Spec
		opts  Options
		want  error
		in    string // a substring of the error
	}{
		{"unwritable", []Spec{{Path: keep, Format: JSONLines, Overwrite: true}, {Path: filepath.Join(notDir, "items.jsonl"), Format: JSONLines}},
			Options{}, ErrOpen, filepath.Join(notDir, "items.jsonl")},
		{"append to an unclosed JSON array", []Spec{{Path: keep, Format: JSONLines, Overwrite: true}, {Path: notArray, Format: JSON}},
			Options{}, ErrAppendJSON, notArray},
		{"CSV header is not the fields", []Spec{{Path: keep, Format: JSONLines, Overwrite: true}, {Path: headed, Format: CSV}},
			Options{Fields: []string{"b", "a"}}, ErrCSVHeader, "has columns a,b"},
		{"same file twice", []Spec{{Path: keep, Format: JSONLines, Overwrite: true}, {Path: dir + "/sub/../keep.jsonl", Format: JSONLines}},
			Options{}, ErrDuplicate, keep},
		{"bad format", []Spec{{Path: keep, Format: "xml"}}, Options{}, ErrSpec, "xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.specs, tt.opts)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.in) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open = %v, want %v naming %q", err, tt.want, tt.in)
			}
			if got := readFile(t, keep); got != "{\"old\":1}\n" {
				t.Errorf("a failed Open changed another feed: %q", got)
			}
		})
	}
	if os.Getuid() != 0 {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if _, err := Open([]Spec{{Path: filepath.Join(ro, "x.csv"), Format: CSV}}, Options{}); !errors.Is(err, ErrOpen) || !errors.Is(err, os.ErrPermission) {
			t.Errorf("Open in a read-only folder = %v, want ErrOpen and a permission error", err)
		}
	}
}

// Without a job directory, -o appends to what is there: after the last
// line, after a CSV file's rows (its header not repeated), inside a closed
// JSON array.
func TestAppendWithoutJob(t *testing.T) {
	tests := []struct {
		format       Format
		before, want string
	}{
		{JSONLines, "{\"n\":0}\n", "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n"},
		{JSONLines, "{\"n\":0}", "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n"},
		{CSV, "n\n0\n", "n\n0\n1\n2\n"},
		{JSON, "[\n{\"n\":0}\n]\n", "[\n{\"n\":0},\n{\"n\":1},\n{\"n\":2}\n]\n"},
		{JSON, "  [ ]  ", "  [\n{\"n\":1},\n{\"n\":2}\n]\n"},
		{JSON, " \n", "[\n{\"n\":1},\n{\"n\":2}\n]\n"},
	}
	for i, tt := range tests {
		t.Run(strconv.Itoa(i)+"/"+string(tt.format), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "items")
			if err := os.WriteFile(path, []byte(tt.before), 0o644); err != nil {
				t.Fatal(err)
			}
			s := mustOpen(t, []Spec{{Path: path, Format: tt.format}}, Options{})
			mustAdd(t, s, numbered(1, 3)...)
			mustCommit(t, s)
			mustClose(t, s)
			if got := readFile(t, path); got != tt.want {
				t.Errorf("file %q, want %q", got, tt.want)
			}
		})
	}
	// A closed array reopened and closed again without an item is unchanged
	// but for white space.
	path := filepath.Join(t.TempDir(), "items.json")
	os.WriteFile(path, []byte("[{\"n\":0}]"), 0o644)
	s := mustOpen(t, []Spec{{Path: path, Format: JSON}}, Options{})
	mustClose(t, s)
	if got := readFile(t, path); got != "[{\"n\":0}\n]\n" {
		t.Errorf("file %q", got)
	}
}

// The crash of the exactly-once story: items committed stay, once; bytes
// written after the last commit record are cut; Done answers for the last
// record's identifiers only.
func TestCrashCutsUncommitted(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f.format), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "items"+f.ext)
			opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncInterval)}
			spec := []Spec{{Path: path, Format: f.format}}
			s := mustOpen(t, spec, opts)
			mustAdd(t, s, numbered(0, 3)...)
			mustCommit(t, s, 1, 2)
			mustAdd(t, s, numbered(3, 5)...)
			mustCommit(t, s, 3)
			committed := readFile(t, path)
			// Items added, never committed; then bytes written to the file
			// without their record (a crash between the two writes).
			mustAdd(t, s, numbered(5, 7)...)
			fd := s.feeds[0]
			fd.f.WriteAt([]byte("{\"n\":5}\n{\"n\":6"), fd.committed.length)
			crash(s)

			s = mustOpen(t, spec, opts)
			if got := readFile(t, path); got != committed {
				t.Fatalf("after the crash the file holds\n%q\nwant\n%q", got, committed)
			}
			if s.Items() != 5 {
				t.Errorf("Items() = %d, want 5", s.Items())
			}
			for id, want := range map[uint64]bool{1: false, 2: false, 3: true, 4: false} {
				if got := s.Done(id); got != want {
					t.Errorf("Done(%d) = %t, want %t", id, got, want)
				}
			}
			if s.Done(3) {
				t.Error("Done(3) is true twice")
			}
			mustAdd(t, s, numbered(5, 8)...)
			mustCommit(t, s, 4)
			mustClose(t, s)
			if got := numbers(t, f.format, readFile(t, path)); !slices.Equal(got, seq(0, 8)) {
				t.Errorf("items %v, want 0..7", got)
			}
		})
	}
}

// Identifiers of the previous run's last record stay in the records until
// Done was asked about them and one more record was written; those never
// asked about stay until ForgetDone.
func TestDoneCarriedAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Job: job(dir, recordio.FsyncNever)}
	spec := []Spec{{Path: filepath.Join(dir, "items.jsonl"), Format: JSONLines}}
	s := mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(0, 1)...)
	mustCommit(t, s, 7, 8)
	crash(s)

	s = mustOpen(t, spec, opts)
	if !s.Done(7) {
		t.Fatal("Done(7) = false after the crash")
	}
	mustCommit(t, s, 9) // still lists 7: its finish may not be durable yet
	crash(s)
	s = mustOpen(t, spec, opts)
	for id, want := range map[uint64]bool{7: true, 8: true, 9: true} {
		if got := s.Done(id); got != want {
			t.Errorf("run 3: Done(%d) = %t, want %t", id, got, want)
		}
	}
	mustCommit(t, s, 10) // lists 7, 8, 9 (asked about since the last record) and 10
	mustCommit(t, s, 11) // lists 11 only
	crash(s)
	s = mustOpen(t, spec, opts)
	for id, want := range map[uint64]bool{7: false, 8: false, 9: false, 10: false, 11: true} {
		if got := s.Done(id); got != want {
			t.Errorf("run 4: Done(%d) = %t, want %t", id, got, want)
		}
	}
	crash(s)
	s = mustOpen(t, spec, opts)
	s.ForgetDone()
	mustCommit(t, s, 12)
	crash(s)
	s = mustOpen(t, spec, opts)
	if s.Done(11) || !s.Done(12) {
		t.Error("after ForgetDone, 11 is still carried or 12 is not listed")
	}
	mustClose(t, s)
	if s.Done(99) {
		t.Error("Done of an unknown identifier")
	}
	// Without a job directory nothing is done.
	s = mustOpen(t, spec, Options{})
	mustCommit(t, s, 1)
	if s.Done(1) {
		t.Error("Done without a job directory")
	}
	mustClose(t, s)
}

// A commit log cut at any byte of its last record (a crash while writing
// it) opens with the record before: the feed is cut to that record's
// length and Done answers for that record's identifiers.
func TestTornLogTail(t *testing.T) {
	dir := t.TempDir()
	jobDir := filepath.Join(dir, "job")
	path := filepath.Join(dir, "items.json")
	spec := []Spec{{Path: path, Format: JSON}}
	opts := Options{Job: job(jobDir, recordio.FsyncNever)}
	s := mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(0, 2)...)
	mustCommit(t, s, 1)
	prevLen := s.feeds[0].committed.length
	prevLog := s.logSize
	mustAdd(t, s, numbered(2, 4)...)
	mustCommit(t, s, 2)
	crash(s)
	logPath := filepath.Join(jobDir, LogName)
	logBytes, feedBytes := []byte(readFile(t, logPath)), []byte(readFile(t, path))
	for cut := prevLog; cut < int64(len(logBytes)); cut++ {
		if err := os.WriteFile(logPath, logBytes[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, feedBytes, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(spec, opts)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if got := s.feeds[0].committed.length; got != prevLen || s.Items() != 2 {
			t.Fatalf("cut at %d: length %d, items %d; want %d, 2", cut, got, s.Items(), prevLen)
		}
		if !s.Done(1) || s.Done(2) {
			t.Fatalf("cut at %d: Done does not answer for the previous record", cut)
		}
		mustClose(t, s)
		if got := numbers(t, JSON, readFile(t, path)); !slices.Equal(got, seq(0, 2)) {
			t.Fatalf("cut at %d: items %v", cut, got)
		}
	}
	// The whole log opens with the last record.
	os.WriteFile(logPath, logBytes, 0o644)
	s = mustOpen(t, spec, opts)
	if !s.Done(2) || s.Items() != 4 {
		t.Error("the whole log does not open with its last record")
	}
	mustClose(t, s)
}

// A damaged last record (a bit flipped in it looks like a torn tail) sends
// the resume back to the commit before it; the feed bytes it cuts may be
// committed items, so they and the log as it was are kept under the job's
// damaged-<UTC>/, never lost; ReadLog reports it.
func TestDamagedLogKeepsFeedAside(t *testing.T) {
	dir := t.TempDir()
	jobDir := filepath.Join(dir, "job")
	path := filepath.Join(dir, "items.jsonl")
	spec := []Spec{{Path: path, Format: JSONLines}}
	opts := Options{Job: job(jobDir, recordio.FsyncNever)}
	s := mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(0, 2)...)
	mustCommit(t, s, 1)
	mustAdd(t, s, numbered(2, 4)...)
	mustCommit(t, s, 2)
	mustClose(t, s)
	logPath := filepath.Join(jobDir, LogName)
	logBytes, feedBytes := []byte(readFile(t, logPath)), readFile(t, path)
	logBytes[len(logBytes)-2] ^= 0x10
	if err := os.WriteFile(logPath, logBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := ReadLog(logPath)
	if err != nil || rep.Torn == 0 || !rep.OK || rep.Items != 2 {
		t.Fatalf("ReadLog: %+v, %v; want a torn tail and 2 items", rep, err)
	}
	s = mustOpen(t, spec, opts)
	if s.Items() != 2 {
		t.Fatalf("items %d, want 2", s.Items())
	}
	mustClose(t, s)
	kept, _ := filepath.Glob(filepath.Join(jobDir, jobdir.DamagedDirPrefix+"*", "items.jsonl.cut-*"))
	if len(kept) != 1 || !strings.HasSuffix(feedBytes, readFile(t, kept[0])) || numbers(t, JSONLines, readFile(t, kept[0]))[0] != 2 {
		t.Fatalf("feed bytes kept aside: %v", kept)
	}
	if got := numbers(t, JSONLines, readFile(t, path)); !slices.Equal(got, seq(0, 2)) {
		t.Fatalf("the feed holds %v", got)
	}
	logs, _ := filepath.Glob(filepath.Join(jobDir, jobdir.DamagedDirPrefix+"*", LogName))
	if len(logs) != 1 || readFile(t, logs[0]) != string(logBytes) {
		t.Fatalf("log kept aside: %v", logs)
	}
}

// Damage in the middle of a log (bytes that are not a record, followed by
// records) is reported with its offset, and the records after it are kept.
func TestCorruptLogMiddle(t *testing.T) {
	dir := t.TempDir()
	spec := []Spec{{Path: filepath.Join(dir, "items.jsonl"), Format: JSONLines}}
	opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncNever)}
	s := mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(0, 1)...)
	mustCommit(t, s, 1)
	damaged := s.logSize - 3
	mustAdd(t, s, numbered(1, 2)...)
	mustCommit(t, s, 2)
	crash(s)
	logPath := filepath.Join(dir, "job", LogName)
	b := []byte(readFile(t, logPath))
	b[damaged] ^= 0xff
	os.WriteFile(logPath, b, 0o644)
	var logBuf bytes.Buffer
	opts.Logger = zerolog.New(&logBuf)
	s = mustOpen(t, spec, opts)
	if !s.Done(2) || s.Items() != 2 {
		t.Error("the record after the damage was not kept")
	}
	if !strings.Contains(logBuf.String(), "commit log damaged") {
		t.Errorf("damage not reported: %s", logBuf.String())
	}
	mustClose(t, s)
}

// -O truncates the file for a new job only; a resumed job continues it.
// -o appends to what is there.
func TestOverwriteNewAndResumedJob(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "items.jsonl")
	os.WriteFile(path, []byte("{\"n\":-1}\n"), 0o644)
	spec := []Spec{{Path: path, Format: JSONLines, Overwrite: true}}
	opts := Options{Job: job(filepath.Join(dir, "job1"), recordio.FsyncAlways)}
	s := mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(0, 2)...)
	mustCommit(t, s, 1)
	crash(s)
	s = mustOpen(t, spec, opts) // the same command again: resumes
	mustAdd(t, s, numbered(2, 3)...)
	mustCommit(t, s, 2)
	mustClose(t, s)
	// Relative and absolute paths are the same feed.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, path)
	if err == nil {
		s = mustOpen(t, []Spec{{Path: rel, Format: JSONLines, Overwrite: true}}, opts)
		mustAdd(t, s, numbered(3, 4)...)
		mustCommit(t, s, 3)
		mustClose(t, s)
	}
	if got := numbers(t, JSONLines, readFile(t, path)); !slices.Equal(got, seq(0, 4)) {
		t.Fatalf("resumed -O: items %v, want 0..3", got)
	}
	// A new job truncates.
	opts.Job = job(filepath.Join(dir, "job2"), recordio.FsyncAlways)
	s = mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(10, 11)...)
	mustCommit(t, s, 1)
	mustClose(t, s)
	if got := numbers(t, JSONLines, readFile(t, path)); !slices.Equal(got, []int{10}) {
		t.Fatalf("new job -O: items %v, want [10]", got)
	}
	// A new job with -o appends, and a crash before its first commit
	// resumes after what was there, never after anything written since.
	opts.Job = job(filepath.Join(dir, "job3"), recordio.FsyncAlways)
	spec[0].Overwrite = false
	s = mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(11, 12)...)
	s.feeds[0].f.WriteAt([]byte("{\"n\":11}\n"), s.feeds[0].committed.length) // written, never recorded
	crash(s)
	s = mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(11, 13)...)
	mustCommit(t, s, 1)
	mustClose(t, s)
	if got := numbers(t, JSONLines, readFile(t, path)); !slices.Equal(got, seq(10, 13)) {
		t.Fatalf("new job -o: items %v, want 10..12", got)
	}
}

// A JSON feed stays valid JSON across a close, a resume, a crash and a
// resume; the array is continued, never restarted.
func TestJSONResume(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		t.Run("overwrite="+strconv.FormatBool(overwrite), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "items.json")
			spec := []Spec{{Path: path, Format: JSON, Overwrite: overwrite}}
			opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncInterval)}
			s := mustOpen(t, spec, opts)
			mustClose(t, s) // an empty array
			if got := readFile(t, path); got != "[]\n" {
				t.Fatalf("empty feed %q", got)
			}
			s = mustOpen(t, spec, opts)
			mustAdd(t, s, numbered(0, 2)...)
			mustCommit(t, s, 1)
			mustClose(t, s)
			s = mustOpen(t, spec, opts)
			mustAdd(t, s, numbered(2, 4)...)
			mustCommit(t, s, 2)
			mustAdd(t, s, numbered(4, 5)...)
			crash(s)
			s = mustOpen(t, spec, opts)
			mustAdd(t, s, numbered(4, 6)...)
			mustCommit(t, s, 3)
			mustClose(t, s)
			data := readFile(t, path)
			if got := numbers(t, JSON, data); !slices.Equal(got, seq(0, 6)) {
				t.Fatalf("items %v, want 0..5\n%s", got, data)
			}
		})
	}
}

// A CSV feed has its header once, across resumes, crashes and an -o
// append from another job.
func TestCSVHeaderOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "items.csv")
	spec := []Spec{{Path: path, Format: CSV, Overwrite: true}}
	opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncNever)}
	s := mustOpen(t, spec, opts)
	mustCommit(t, s, 1) // no item yet: no header
	crash(s)
	s = mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(0, 2)...)
	mustCommit(t, s, 2)
	crash(s)
	s = mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(2, 3)...)
	mustCommit(t, s, 3)
	mustClose(t, s)
	spec[0].Overwrite = false
	opts.Job = job(filepath.Join(dir, "job2"), recordio.FsyncNever)
	s = mustOpen(t, spec, opts)
	mustAdd(t, s, map[string]any{"n": 3, "other": "dropped"})
	mustCommit(t, s, 1)
	mustClose(t, s)
	data := readFile(t, path)
	if strings.Count(data, "n\n") != 1 {
		t.Errorf("header not once:\n%s", data)
	}
	if got := numbers(t, CSV, data); !slices.Equal(got, seq(0, 4)) {
		t.Errorf("items %v, want 0..3", got)
	}
}

// The log is compacted to its last record when it passes CompactBytes,
// and a resume after compactions sees the last commit.
func TestLogCompaction(t *testing.T) {
	dir := t.TempDir()
	jobDir := filepath.Join(dir, "job")
	path := filepath.Join(dir, "items.jsonl")
	spec := []Spec{{Path: path, Format: JSONLines}}
	opts := Options{Job: job(jobDir, recordio.FsyncInterval), CompactBytes: 512}
	s := mustOpen(t, spec, opts)
	for i := range 200 {
		mustAdd(t, s, numbered(i, i+1)...)
		mustCommit(t, s, uint64(i+1))
		if s.logSize > 512+256 {
			t.Fatalf("commit %d: log of %d bytes", i, s.logSize)
		}
	}
	crash(s)
	st, err := os.Stat(filepath.Join(jobDir, LogName))
	if err != nil || st.Size() > 512+256 {
		t.Fatalf("log after 200 commits: %v, %v", st, err)
	}
	entries, _ := os.ReadDir(jobDir)
	if len(entries) != 1 {
		t.Errorf("job directory holds %d files, want the log only", len(entries))
	}
	s = mustOpen(t, spec, opts)
	if !s.Done(200) || s.Done(199) || s.Items() != 200 {
		t.Errorf("after compactions: Done(200) false, Done(199) true or Items() = %d", s.Items())
	}
	mustClose(t, s)
	if got := numbers(t, JSONLines, readFile(t, path)); !slices.Equal(got, seq(0, 200)) {
		t.Errorf("items %v", got)
	}
	// A crash during a compaction leaves a temporary file, removed by Open.
	tmp := filepath.Join(jobDir, LogName+".tmp-123")
	os.WriteFile(tmp, []byte("x"), 0o644)
	s = mustOpen(t, spec, opts)
	mustClose(t, s)
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
}

// A feed file shorter than its committed length is a warning naming the
// file and both lengths; the feed continues at the file's end.
func TestShortFeedFile(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f.format), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "items"+f.ext)
			spec := []Spec{{Path: path, Format: f.format}}
			opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncNever)}
			s := mustOpen(t, spec, opts)
			mustAdd(t, s, numbered(0, 3)...)
			mustCommit(t, s, 1)
			mustClose(t, s)
			os.Truncate(path, 0)
			var logBuf bytes.Buffer
			opts.Logger = zerolog.New(&logBuf)
			s = mustOpen(t, spec, opts)
			mustAdd(t, s, numbered(3, 4)...)
			mustCommit(t, s, 2)
			mustClose(t, s)
			for _, want := range []string{"shorter than its committed length", path, `"size":0`, `"committed":`} {
				if !strings.Contains(logBuf.String(), want) {
					t.Errorf("warning lacks %q: %s", want, logBuf.String())
				}
			}
			if got := numbers(t, f.format, readFile(t, path)); !slices.Equal(got, []int{3}) {
				t.Errorf("items %v, want [3]", got)
			}
		})
	}
	// A JSON lines file cut inside a line continues on a new line.
	dir := t.TempDir()
	path := filepath.Join(dir, "items.jsonl")
	spec := []Spec{{Path: path, Format: JSONLines}}
	opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncNever)}
	s := mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(0, 2)...)
	mustCommit(t, s, 1)
	mustClose(t, s)
	os.Truncate(path, int64(len("{\"n\":0}\n{\"n\"")))
	s = mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(2, 3)...)
	mustCommit(t, s, 2)
	mustClose(t, s)
	if got := readFile(t, path); got != "{\"n\":0}\n{\"n\"\n{\"n\":2}\n" {
		t.Errorf("file %q", got)
	}
}

func TestFormatChanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "items.out")
	opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncNever)}
	s := mustOpen(t, []Spec{{Path: path, Format: CSV}}, opts)
	mustAdd(t, s, numbered(0, 1)...)
	mustCommit(t, s, 1)
	mustClose(t, s)
	if _, err := Open([]Spec{{Path: path, Format: JSONLines}}, opts); !errors.Is(err, ErrFormatChanged) {
		t.Fatalf("Open with another format = %v, want ErrFormatChanged", err)
	}
	// A feed left out of a run keeps its record for a later one.
	other := filepath.Join(dir, "other.jsonl")
	s = mustOpen(t, []Spec{{Path: other, Format: JSONLines}}, opts)
	mustCommit(t, s, 2)
	mustClose(t, s)
	s = mustOpen(t, []Spec{{Path: path, Format: CSV, Overwrite: true}}, opts)
	mustAdd(t, s, numbered(1, 2)...)
	mustCommit(t, s, 3)
	mustClose(t, s)
	if got := numbers(t, CSV, readFile(t, path)); !slices.Equal(got, seq(0, 2)) {
		t.Errorf("items %v, want 0..1", got)
	}
}

// A failed Commit cuts the feeds back to the last commit and is final.
func TestCommitFailure(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.jsonl"), filepath.Join(dir, "bad.jsonl")
	spec := []Spec{{Path: good, Format: JSONLines}, {Path: bad, Format: JSONLines}}
	opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncNever)}
	s := mustOpen(t, spec, opts)
	mustAdd(t, s, numbered(0, 1)...)
	mustCommit(t, s, 1)
	mustAdd(t, s, numbered(1, 2)...)
	// The second feed's file becomes unwritable.
	s.feeds[1].f.Close()
	ro, _ := os.Open(bad)
	s.feeds[1].f = ro
	if err := s.Commit([]uint64{2}); err == nil {
		t.Fatal("Commit to a read-only file succeeded")
	}
	if got := readFile(t, good); got != "{\"n\":0}\n" {
		t.Errorf("the feed written before the failure was not cut back: %q", got)
	}
	if err := s.Add(1); !errors.Is(err, ErrFailed) {
		t.Errorf("Add after a failed Commit = %v, want ErrFailed", err)
	}
	if err := s.Commit(nil); !errors.Is(err, ErrFailed) {
		t.Errorf("Commit after a failed Commit = %v, want ErrFailed", err)
	}
	s.Close()
	if err := s.Add(1); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	s = mustOpen(t, spec, opts)
	if s.Done(2) || !s.Done(1) {
		t.Error("the failed commit's identifiers are done")
	}
	mustClose(t, s)
}

// Close drops items not committed, and says so.
func TestCloseDropsUncommitted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "items.jsonl")
	var logBuf bytes.Buffer
	s := mustOpen(t, []Spec{{Path: path, Format: JSONLines}}, Options{Logger: zerolog.New(&logBuf)})
	mustAdd(t, s, numbered(0, 2)...)
	mustCommit(t, s)
	mustAdd(t, s, numbered(2, 3)...)
	mustClose(t, s)
	mustClose(t, s)
	if got := numbers(t, JSONLines, readFile(t, path)); !slices.Equal(got, seq(0, 2)) || !strings.Contains(logBuf.String(), `"items":1`) {
		t.Errorf("items %v, log %s", got, logBuf.String())
	}
}

// A -o feed whose file does not end with a newline continues on a new
// line, also when a crash came before the first commit.
func TestAppendWithoutNewlineResumed(t *testing.T) {
	for _, f := range []Format{JSONLines, CSV} {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "items")
			os.WriteFile(path, []byte(map[Format]string{JSONLines: `{"n":0}`, CSV: "n\n0"}[f]), 0o644)
			spec := []Spec{{Path: path, Format: f}}
			opts := Options{Job: job(filepath.Join(dir, "job"), recordio.FsyncNever)}
			crash(mustOpen(t, spec, opts))
			s := mustOpen(t, spec, opts)
			mustAdd(t, s, numbered(1, 2)...)
			mustCommit(t, s, 1)
			mustClose(t, s)
			if got := numbers(t, f, readFile(t, path)); !slices.Equal(got, seq(0, 2)) {
				t.Errorf("items %v, want 0..1", got)
			}
		})
	}
}

// Each policy fsyncs when it says, the feeds before the log.
func TestFsyncPolicy(t *testing.T) {
	tests := []struct {
		mode recordio.FsyncMode
		// want lists, per step (commit 1; a pause, commit 2; commit 3;
		// close), the files fsynced: f the feed, l the log.
		want []string
	}{
		{recordio.FsyncAlways, []string{"fl", "fl", "fl", "fl"}},
		{recordio.FsyncInterval, []string{"", "fl", "", "fl"}},
		{recordio.FsyncNever, []string{"", "", "", "fl"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "items.jsonl")
			cfg := job(filepath.Join(dir, "job"), tt.mode)
			cfg.Fsync.Interval = 200 * time.Millisecond
			s := mustOpen(t, []Spec{{Path: path, Format: JSONLines}}, Options{Job: cfg})
			var got []string
			var step strings.Builder
			s.synced = func(p string) {
				step.WriteString(map[string]string{path: "f", filepath.Join(cfg.Dir, LogName): "l"}[p])
			}
			next := func() { got = append(got, step.String()); step.Reset() }
			mustAdd(t, s, numbered(0, 1)...)
			mustCommit(t, s, 1)
			next()
			time.Sleep(250 * time.Millisecond)
			mustAdd(t, s, numbered(1, 2)...)
			mustCommit(t, s, 2)
			next()
			mustAdd(t, s, numbered(2, 3)...)
			mustCommit(t, s, 3)
			next()
			mustClose(t, s)
			next()
			if !slices.Equal(got, tt.want) {
				t.Errorf("fsyncs per step %q, want %q", got, tt.want)
			}
		})
	}
}
