package framework

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/frontier-go/frontier"
)

// defaultLine finds name's line in the embedded settings.yaml by scanning
// the text, independently of the YAML parser the code uses.
func defaultLine(t *testing.T, name string) int {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(frontier.DefaultSettings))
	for n := 1; sc.Scan(); n++ {
		if strings.HasPrefix(sc.Text(), name+":") {
			return n
		}
	}
	t.Fatalf("%s not in settings.yaml", name)
	return 0
}

// writeFile writes a settings file into a test directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crawl.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const fileName = "<file>" // replaced by the test file's path in expectations

func TestSettingsLayering(t *testing.T) {
	const file = `# a crawl's settings
SCHEDULER_DEBUG: true

CONCURRENT_REQUESTS: 32
SCHEDULER_START_MEMORY_QUEUE: null
DOWNLOAD_SLOTS:
  example.com: {concurrency: 1}
`
	code := Source{Kind: SourceCode, Name: "test"}
	tests := []struct {
		name      string
		file      string
		env       []string
		overrides []string
		set       map[string]any
		setting   string
		want      any
		wantSrc   Source
	}{
		{
			name: "default", setting: "SCHEDULER_DEBUG", want: false,
			wantSrc: Source{Kind: SourceDefault, File: "settings.yaml", Line: -1},
		},
		{
			name: "file beats default", file: file, setting: "SCHEDULER_DEBUG", want: true,
			wantSrc: Source{Kind: SourceFile, File: fileName, Line: 2},
		},
		{
			name: "file line after a blank line", file: file, setting: "CONCURRENT_REQUESTS", want: 32,
			wantSrc: Source{Kind: SourceFile, File: fileName, Line: 4},
		},
		{
			name: "file null replaces a default", file: file, setting: "SCHEDULER_START_MEMORY_QUEUE", want: nil,
			wantSrc: Source{Kind: SourceFile, File: fileName, Line: 5},
		},
		{
			name: "file map replaces the default map", file: file, setting: "DOWNLOAD_SLOTS",
			want:    map[string]any{"example.com": map[string]any{"concurrency": 1}},
			wantSrc: Source{Kind: SourceFile, File: fileName, Line: 6},
		},
		{
			name: "setting the file does not name stays default", file: file, setting: "DEPTH_LIMIT", want: 0,
			wantSrc: Source{Kind: SourceDefault, File: "settings.yaml", Line: -1},
		},
		{
			name: "env beats file", file: file, env: []string{"FRONTIER_SCHEDULER_DEBUG=0"},
			setting: "SCHEDULER_DEBUG", want: "0",
			wantSrc: Source{Kind: SourceEnv, Name: "FRONTIER_SCHEDULER_DEBUG"},
		},
		{
			name: "env without the prefix is ignored", env: []string{"SCHEDULER_DEBUG=1", "XFRONTIER_SCHEDULER_DEBUG=1"},
			setting: "SCHEDULER_DEBUG", want: false,
			wantSrc: Source{Kind: SourceDefault, File: "settings.yaml", Line: -1},
		},
		{
			name: "env value keeps its equals signs", env: []string{"FRONTIER_JOBDIR=a=b"},
			setting: "JOBDIR", want: "a=b",
			wantSrc: Source{Kind: SourceEnv, Name: "FRONTIER_JOBDIR"},
		},
		{
			name: "-s beats env", file: file, env: []string{"FRONTIER_CONCURRENT_REQUESTS=64"},
			overrides: []string{"CONCURRENT_REQUESTS=128"},
			setting:   "CONCURRENT_REQUESTS", want: "128",
			wantSrc: Source{Kind: SourceCommandLine, Name: "CONCURRENT_REQUESTS=128"},
		},
		{
			name: "later -s wins", overrides: []string{"LOG_LEVEL=INFO", "LOG_LEVEL=ERROR"},
			setting: "LOG_LEVEL", want: "ERROR",
			wantSrc: Source{Kind: SourceCommandLine, Name: "LOG_LEVEL=ERROR"},
		},
		{
			name: "-s value is a string even when it looks like YAML", overrides: []string{"DOWNLOAD_SLOTS={}"},
			setting: "DOWNLOAD_SLOTS", want: "{}",
			wantSrc: Source{Kind: SourceCommandLine, Name: "DOWNLOAD_SLOTS={}"},
		},
		{
			name: "-s empty value", overrides: []string{"JOBDIR="},
			setting: "JOBDIR", want: "",
			wantSrc: Source{Kind: SourceCommandLine, Name: "JOBDIR="},
		},
		{
			name: "code beats -s", overrides: []string{"DEPTH_LIMIT=3"}, set: map[string]any{"DEPTH_LIMIT": 4},
			setting: "DEPTH_LIMIT", want: 4, wantSrc: code,
		},
		{
			name: "code sets a name no layer knows", set: map[string]any{"MY_SPIDER_OPTION": []any{"a"}},
			setting: "MY_SPIDER_OPTION", want: []any{"a"}, wantSrc: code,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts := mustLoad(t, tt.file, tt.env, tt.overrides)
			for k, v := range tt.set {
				s.Set(k, v, code)
			}
			st, ok := s.Lookup(tt.setting)
			if !ok {
				t.Fatalf("Lookup(%s) not found", tt.setting)
			}
			if !reflect.DeepEqual(st.Value, tt.want) {
				t.Errorf("value = %#v, want %#v", st.Value, tt.want)
			}
			want := tt.wantSrc
			if want.File == fileName {
				want.File = opts.File
			}
			if want.Line == -1 {
				want.Line = defaultLine(t, tt.setting)
			}
			if st.Source != want {
				t.Errorf("source = %+v, want %+v", st.Source, want)
			}
		})
	}
}

func TestSettingsDefaultLines(t *testing.T) {
	s := NewSettings()
	names := s.Names()
	if len(names) == 0 {
		t.Fatal("no defaults")
	}
	for _, name := range names {
		st, _ := s.Lookup(name)
		want := Source{Kind: SourceDefault, File: "settings.yaml", Line: defaultLine(t, name)}
		if st.Source != want {
			t.Errorf("%s: source %+v, want %+v", name, st.Source, want)
		}
	}
}

func TestSourceString(t *testing.T) {
	tests := []struct {
		src  Source
		want string
	}{
		{Source{Kind: SourceDefault, File: "settings.yaml", Line: 12}, "default in settings.yaml:12"},
		{Source{Kind: SourceFile, File: "conf/crawl.yaml", Line: 3}, "conf/crawl.yaml:3"},
		{Source{Kind: SourceFile, File: "conf/crawl.yaml"}, "conf/crawl.yaml"},
		{Source{Kind: SourceDefault}, "default in settings.yaml"},
		{Source{Kind: SourceFile, Line: 2}, "settings file:2"},
		{Source{Kind: SourceEnv, Name: "FRONTIER_JOBDIR"}, "environment variable FRONTIER_JOBDIR"},
		{Source{Kind: SourceCommandLine, Name: "JOBDIR=crawls/1"}, "-s JOBDIR=crawls/1 on the command line"},
		{Source{Kind: SourceCode}, "code"},
		{Source{Kind: SourceCode, Name: "spider custom settings"}, "code (spider custom settings)"},
		{Source{Kind: SourceKind(42)}, "unknown source 42"},
	}
	for _, tt := range tests {
		if got := tt.src.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.src, got, tt.want)
		}
	}
}

// TestDefaultSettingsFile checks settings.yaml itself: exactly one comment
// line above each key, and the defaults Scrapy users rely on.
func TestDefaultSettingsFile(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal(frontier.DefaultSettings, &doc); err != nil {
		t.Fatal(err)
	}
	top := doc.Content[0]
	for i := 0; i < len(top.Content); i += 2 {
		key, val := top.Content[i], top.Content[i+1]
		c := key.HeadComment
		if c == "" || strings.Contains(c, "\n") || !strings.HasPrefix(c, "# ") {
			t.Errorf("%s (line %d): want exactly one comment line above it, got %q", key.Value, key.Line, c)
		}
		if key.LineComment != "" || val.LineComment != "" || key.FootComment != "" || val.FootComment != "" {
			t.Errorf("%s: comments belong on the line above the key", key.Value)
		}
	}
	want := map[string]any{
		"SCHEDULER":                      "scrapy.core.scheduler.Scheduler",
		"SCHEDULER_DEBUG":                false,
		"SCHEDULER_DISK_QUEUE":           "scrapy.squeues.PickleLifoDiskQueue",
		"SCHEDULER_MEMORY_QUEUE":         "scrapy.squeues.LifoMemoryQueue",
		"SCHEDULER_PRIORITY_QUEUE":       "scrapy.pqueues.DownloaderAwarePriorityQueue",
		"SCHEDULER_START_DISK_QUEUE":     "scrapy.squeues.PickleFifoDiskQueue",
		"SCHEDULER_START_MEMORY_QUEUE":   "scrapy.squeues.FifoMemoryQueue",
		"DUPEFILTER_CLASS":               "scrapy.dupefilters.RFPDupeFilter",
		"DUPEFILTER_DEBUG":               false,
		"JOBDIR":                         nil,
		"REQUEST_FINGERPRINTER_CLASS":    "scrapy.utils.request.RequestFingerprinter",
		"CONCURRENT_REQUESTS":            16,
		"CONCURRENT_REQUESTS_PER_DOMAIN": 8,
		"CONCURRENT_REQUESTS_PER_IP":     0,
		"DOWNLOAD_SLOTS":                 map[string]any{},
		"DEPTH_LIMIT":                    0,
		"DEPTH_PRIORITY":                 0,
		"DEPTH_STATS_VERBOSE":            false,
		"LOG_LEVEL":                      "INFO",
		"LOG_FORMAT":                     "auto",
		"JOBDIR_FSYNC":                   "interval",
		"JOBDIR_FSYNC_INTERVAL":          "1s",
		"JOBDIR_FLUSH_INTERVAL":          "200ms",
		"PLUGINS":                        []any{},
	}
	s := NewSettings()
	for name, v := range want {
		st, ok := s.Lookup(name)
		if !ok {
			t.Errorf("%s missing from settings.yaml", name)
			continue
		}
		if !reflect.DeepEqual(st.Value, v) {
			t.Errorf("%s = %#v, want %#v", name, st.Value, v)
		}
	}
	if !slices.Equal(KnownSettings(), s.Names()) {
		t.Errorf("KnownSettings() = %v, want the defaults' names %v", KnownSettings(), s.Names())
	}
	// Every default converts with the getter its documentation implies.
	for _, name := range []string{"JOBDIR_FSYNC_INTERVAL", "JOBDIR_FLUSH_INTERVAL"} {
		if d, err := s.GetDuration(name); err != nil || d <= 0 {
			t.Errorf("GetDuration(%s) = %v, %v", name, d, err)
		}
	}
	if l, err := s.GetList("PLUGINS"); err != nil || len(l) != 0 {
		t.Errorf("GetList(PLUGINS) = %v, %v", l, err)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("defaults warn: %v", w)
	}
}

func TestSettingsWarnings(t *testing.T) {
	file := writeFile(t, "SCHEDULER_DEBUGG: true\nDEPTH_LIMIT: 2\n")
	s, err := LoadSettings(LoadOptions{
		File:      file,
		Environ:   []string{"FRONTIER_CONCURENT_REQUESTS=4", "HOME=/root", "FRONTIER_depth_limit=2"},
		Overrides: []string{"DUPEFILTER_CLAS=x", "TOTALLY_UNRELATED_XYZ=1", "DEPTH_LIMIT=3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Set("MY_OWN_SETTING", 1, Source{Kind: SourceCode}) // code may add names freely
	want := []string{
		`unknown setting "SCHEDULER_DEBUGG" (from ` + file + `:1); did you mean SCHEDULER_DEBUG or SCHEDULER_PERSIST?`,
		`unknown setting "CONCURENT_REQUESTS" (from environment variable FRONTIER_CONCURENT_REQUESTS); did you mean CONCURRENT_REQUESTS?`,
		`unknown setting "depth_limit" (from environment variable FRONTIER_depth_limit); did you mean DEPTH_LIMIT?`,
		`unknown setting "DUPEFILTER_CLAS" (from -s DUPEFILTER_CLAS=x on the command line); did you mean DUPEFILTER_CLASS, DUPEFILTER_KEY or DUPEFILTER_DEBUG?`,
		`unknown setting "TOTALLY_UNRELATED_XYZ" (from -s TOTALLY_UNRELATED_XYZ=1 on the command line)`,
	}
	if got := s.Warnings(); !slices.Equal(got, want) {
		t.Errorf("Warnings() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestConcurrentRequestsPerIPWarning(t *testing.T) {
	tests := []struct {
		name string
		opts LoadOptions
		warn string // "" for no warning
	}{
		{"default", LoadOptions{}, ""},
		{"zero string", LoadOptions{Overrides: []string{"CONCURRENT_REQUESTS_PER_IP=0"}}, ""},
		{"empty", LoadOptions{Environ: []string{"FRONTIER_CONCURRENT_REQUESTS_PER_IP="}}, ""},
		{"non-zero from env", LoadOptions{Environ: []string{"FRONTIER_CONCURRENT_REQUESTS_PER_IP=2"}},
			`CONCURRENT_REQUESTS_PER_IP="2" (from environment variable FRONTIER_CONCURRENT_REQUESTS_PER_IP) is deprecated`},
		{"non-zero from -s", LoadOptions{Overrides: []string{"CONCURRENT_REQUESTS_PER_IP=1"}},
			`CONCURRENT_REQUESTS_PER_IP="1" (from -s CONCURRENT_REQUESTS_PER_IP=1 on the command line) is deprecated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSettings(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Warnings()
			switch {
			case tt.warn == "" && len(got) != 0:
				t.Errorf("unexpected warnings %v", got)
			case tt.warn != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tt.warn)):
				t.Errorf("Warnings() = %q, want one starting %q", got, tt.warn)
			}
		})
	}
	// A file value and a value set in code warn too, with their source.
	s, err := LoadSettings(LoadOptions{File: writeFile(t, "CONCURRENT_REQUESTS_PER_IP: 4\n")})
	if err != nil {
		t.Fatal(err)
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0], "crawl.yaml:1") {
		t.Errorf("Warnings() = %q", w)
	}
	s.Set("CONCURRENT_REQUESTS_PER_IP", 0, Source{Kind: SourceCode})
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("after setting 0: Warnings() = %q", w)
	}
}

func TestLoadSettingsErrors(t *testing.T) {
	tests := []struct {
		name        string
		file        string // content; "-" for a file that does not exist
		overrides   []string
		wantIs      error
		wantContain []string
	}{
		{name: "missing file", file: "-", wantIs: fs.ErrNotExist, wantContain: []string{"settings file", "nope.yaml"}},
		{name: "bad YAML", file: "SCHEDULER: [unclosed\n", wantIs: ErrSetting, wantContain: []string{"crawl.yaml", "line"}},
		{name: "bad indentation", file: "A: 1\n  B: 2\n", wantIs: ErrSetting, wantContain: []string{"crawl.yaml"}},
		{name: "top level list", file: "- SCHEDULER\n- JOBDIR\n", wantIs: ErrSetting,
			wantContain: []string{"crawl.yaml", "line 1", "top level must map setting names", "a list"}},
		{name: "top level scalar", file: "just text\n", wantIs: ErrSetting,
			wantContain: []string{"crawl.yaml", "a single value"}},
		{name: "two documents", file: "A: 1\n---\nB: 2\n", wantIs: ErrSetting,
			wantContain: []string{"crawl.yaml", "line 2", "second YAML document"}},
		{name: "duplicate key", file: "JOBDIR: a\nJOBDIR: b\n", wantIs: ErrSetting,
			wantContain: []string{"crawl.yaml", "JOBDIR", "already defined"}},
		{name: "-s without =", overrides: []string{"JOBDIR"}, wantIs: ErrSetting,
			wantContain: []string{`invalid -s "JOBDIR"`, "NAME=VALUE"}},
		{name: "-s without name", overrides: []string{"LOG_LEVEL=INFO", "=1"}, wantIs: ErrSetting,
			wantContain: []string{`invalid -s "=1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := LoadOptions{Overrides: tt.overrides}
			switch tt.file {
			case "":
			case "-":
				opts.File = filepath.Join(t.TempDir(), "nope.yaml")
			default:
				opts.File = writeFile(t, tt.file)
			}
			s, err := LoadSettings(opts)
			if err == nil {
				t.Fatalf("LoadSettings succeeded: %v", s.Names())
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			for _, w := range tt.wantContain {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadSettingsEmptyFiles(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "~\n", "---\n", "null\n"} {
		s, err := LoadSettings(LoadOptions{File: writeFile(t, content)})
		if err != nil {
			t.Errorf("%q: %v", content, err)
			continue
		}
		if !slices.Equal(s.Names(), KnownSettings()) {
			t.Errorf("%q: names %v", content, s.Names())
		}
	}
}

// TestDottedNamesAndValues checks that no name, value or map key is split on
// dots (nor on the "::" koanf delimiter, inside a map).
func TestDottedNamesAndValues(t *testing.T) {
	file := writeFile(t, `SCHEDULER_DISK_QUEUE: scrapy.squeues.PickleFifoDiskQueue
scrapy.settings.CUSTOM: 1
DOWNLOAD_SLOTS:
  example.com: {concurrency: 1, delay: 0.5}
  a::b: 2
  x.y.z: {q.r: s.t}
`)
	s, err := LoadSettings(LoadOptions{
		File:      file,
		Environ:   []string{"FRONTIER_my.env.NAME=a.b.c"},
		Overrides: []string{"SCHEDULER_MEMORY_QUEUE=scrapy.squeues.FifoMemoryQueue", "my.dotted.NAME=x.y"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]any{
		"SCHEDULER_DISK_QUEUE":   "scrapy.squeues.PickleFifoDiskQueue",
		"SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
		"scrapy.settings.CUSTOM": 1,
		"my.env.NAME":            "a.b.c",
		"my.dotted.NAME":         "x.y",
	} {
		st, ok := s.Lookup(name)
		if !ok || !reflect.DeepEqual(st.Value, want) {
			t.Errorf("Lookup(%q) = %#v, %v; want %#v", name, st.Value, ok, want)
		}
	}
	for _, prefix := range []string{"scrapy", "scrapy.settings", "my", "my.env", "a", "example"} {
		if st, ok := s.Lookup(prefix); ok {
			t.Errorf("Lookup(%q) found %+v: a name was split", prefix, st)
		}
	}
	name, ok, err := s.Component("SCHEDULER_DISK_QUEUE")
	if err != nil || !ok || name != "scrapy.squeues.PickleFifoDiskQueue" {
		t.Errorf("Component = %q, %v, %v", name, ok, err)
	}
	slots, err := s.GetDict("DOWNLOAD_SLOTS")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"example.com": map[string]any{"concurrency": 1, "delay": 0.5},
		"a::b":        2,
		"x.y.z":       map[string]any{"q.r": "s.t"},
	}
	if !reflect.DeepEqual(slots, want) {
		t.Errorf("DOWNLOAD_SLOTS = %#v, want %#v", slots, want)
	}
	for _, n := range s.Names() {
		if strings.Contains(n, "::") {
			t.Errorf("name %q holds the koanf delimiter", n)
		}
	}
}

func TestComponent(t *testing.T) {
	tests := []struct {
		name    string
		value   any
		want    string
		wantOK  bool
		wantErr bool
	}{
		{name: "null", value: nil},
		{name: "empty", value: ""},
		{name: "spaces", value: "  "},
		{name: "name", value: "scrapy.squeues.FifoMemoryQueue", want: "scrapy.squeues.FifoMemoryQueue", wantOK: true},
		{name: "trimmed", value: " fifo ", want: "fifo", wantOK: true},
		{name: "number", value: 5, wantErr: true},
		{name: "bool", value: false, wantErr: true},
		{name: "list", value: []any{"a"}, wantErr: true},
		{name: "map", value: map[string]any{"a": 1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSettings()
			s.Set("SCHEDULER", tt.value, Source{Kind: SourceCode})
			got, ok, err := s.Component("SCHEDULER")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrSetting) || !strings.Contains(err.Error(), "SCHEDULER=") ||
					!strings.Contains(err.Error(), "(from code)") {
					t.Errorf("error %q does not name setting and source", err)
				}
				return
			}
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Component = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	// null and "" arrive from every layer.
	s, err := LoadSettings(LoadOptions{
		File:      writeFile(t, "SCHEDULER_START_DISK_QUEUE: null\nSCHEDULER_START_MEMORY_QUEUE: ''\n"),
		Environ:   []string{"FRONTIER_DUPEFILTER_CLASS="},
		Overrides: []string{"REQUEST_FINGERPRINTER_CLASS="},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"SCHEDULER_START_DISK_QUEUE", "SCHEDULER_START_MEMORY_QUEUE", "DUPEFILTER_CLASS",
		"REQUEST_FINGERPRINTER_CLASS", "JOBDIR", "NEVER_SET"} {
		if got, ok, err := s.Component(name); ok || err != nil || got != "" {
			t.Errorf("Component(%s) = %q, %v, %v; want none", name, got, ok, err)
		}
	}
}

func TestSettingsClone(t *testing.T) {
	s, err := LoadSettings(LoadOptions{Overrides: []string{"NOT_A_SETTING=1"}})
	if err != nil {
		t.Fatal(err)
	}
	c := s.Clone()
	c.Set("DEPTH_LIMIT", 9, Source{Kind: SourceCode})
	c.Set("NEW_NAME", "x", Source{Kind: SourceCode})
	if n, _ := s.GetInt("DEPTH_LIMIT"); n != 0 {
		t.Errorf("original DEPTH_LIMIT = %d after setting the clone", n)
	}
	if _, ok := s.Lookup("NEW_NAME"); ok {
		t.Error("a name set in the clone appears in the original")
	}
	if n, _ := c.GetInt("DEPTH_LIMIT"); n != 9 {
		t.Errorf("clone DEPTH_LIMIT = %d", n)
	}
	if !slices.Equal(s.Warnings(), c.Warnings()) || len(c.Warnings()) != 1 {
		t.Errorf("warnings: %v vs %v", s.Warnings(), c.Warnings())
	}
	// Values handed out are copies.
	s.Set("DOWNLOAD_SLOTS", map[string]any{"a": map[string]any{"delay": 1}}, Source{Kind: SourceCode})
	d, _ := s.GetDict("DOWNLOAD_SLOTS")
	d["a"].(map[string]any)["delay"] = 99
	st, _ := s.Lookup("DOWNLOAD_SLOTS")
	st.Value.(map[string]any)["b"] = 1
	d2, _ := s.GetDict("DOWNLOAD_SLOTS")
	if !reflect.DeepEqual(d2, map[string]any{"a": map[string]any{"delay": 1}}) {
		t.Errorf("stored value changed through a returned copy: %v", d2)
	}
}

func TestZeroSettings(t *testing.T) {
	var s Settings
	if _, ok := s.Lookup("JOBDIR"); ok {
		t.Error("zero Settings holds JOBDIR")
	}
	if n, err := s.GetInt("DEPTH_LIMIT"); n != 0 || err != nil {
		t.Errorf("GetInt = %d, %v", n, err)
	}
	s.Set("DEPTH_LIMIT", 2, Source{Kind: SourceCode})
	if n, err := s.GetInt("DEPTH_LIMIT"); n != 2 || err != nil {
		t.Errorf("GetInt = %d, %v", n, err)
	}
	if c := s.Clone(); !slices.Equal(c.Names(), []string{"DEPTH_LIMIT"}) {
		t.Errorf("clone names %v", c.Names())
	}
}

// TestSettingsConcurrent runs readers beside a writer; go test -race checks it.
func TestSettingsConcurrent(t *testing.T) {
	s := NewSettings()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				if i == 0 {
					s.Set("DEPTH_LIMIT", j, Source{Kind: SourceCode})
					continue
				}
				if _, err := s.GetInt("DEPTH_LIMIT"); err != nil {
					t.Error(err)
				}
				_ = s.Names()
				_ = s.Clone()
				_ = s.Warnings()
			}
		}()
	}
	wg.Wait()
	if n, _ := s.GetInt("DEPTH_LIMIT"); n != 199 {
		t.Errorf("DEPTH_LIMIT = %d, want the last value set", n)
	}
}

// BenchmarkLoadSettings measures a full load: defaults, a file, the
// environment and overrides.
func BenchmarkLoadSettings(b *testing.B) {
	path := filepath.Join(b.TempDir(), "crawl.yaml")
	if err := os.WriteFile(path, []byte("SCHEDULER_DEBUG: true\nDOWNLOAD_SLOTS: {a.com: {delay: 1}}\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	opts := LoadOptions{File: path, Environ: []string{"FRONTIER_DEPTH_LIMIT=3"}, Overrides: []string{"JOBDIR=x"}}
	for b.Loop() {
		if _, err := LoadSettings(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetInt measures one typed read.
func BenchmarkGetInt(b *testing.B) {
	s := NewSettings()
	for b.Loop() {
		if _, err := s.GetInt("CONCURRENT_REQUESTS"); err != nil {
			b.Fatal(err)
		}
	}
}
