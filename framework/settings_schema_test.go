package framework

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/registry"
)

// Every setting in settings.yaml has a spec, and every spec a setting.
func TestSchemaCoversSettingsYAML(t *testing.T) {
	known := KnownSettings()
	var specs []string
	for _, s := range SettingSchema() {
		specs = append(specs, s.Name)
		if s.Type == 0 {
			t.Errorf("%s: no type", s.Name)
		}
		if s.Type == TypeComponent && s.Kind == "" {
			t.Errorf("%s: a component without a kind", s.Name)
		}
		if s.Type == TypeEnum && len(s.Values) == 0 {
			t.Errorf("%s: an enum without values", s.Name)
		}
	}
	slices.Sort(specs)
	if !slices.Equal(known, specs) {
		t.Errorf("settings.yaml names %v\nschema names      %v", known, specs)
	}
	// The defaults themselves are valid.
	if err := NewSettings().Validate(testRegistry()); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// testRegistry holds one name of each kind the defaults select, under the
// defaults' names.
func testRegistry() *registry.Registry {
	r := registry.New()
	for name, kind := range map[string]registry.Kind{
		"scrapy.core.scheduler.Scheduler":             registry.KindScheduler,
		"scrapy.squeues.PickleLifoDiskQueue":          registry.KindQueue,
		"scrapy.squeues.PickleFifoDiskQueue":          registry.KindQueue,
		"scrapy.squeues.LifoMemoryQueue":              registry.KindQueue,
		"scrapy.squeues.FifoMemoryQueue":              registry.KindQueue,
		"scrapy.pqueues.DownloaderAwarePriorityQueue": registry.KindPriorityQueue,
		"scrapy.dupefilters.RFPDupeFilter":            registry.KindDupeFilter,
		"scrapy.utils.request.RequestFingerprinter":   registry.KindFingerprinter,
	} {
		r.MustRegister(registry.Entry{Name: name, Factory: fakeFactory(kind)})
	}
	return r
}

// fakeFactory is a factory of a kind that builds nothing.
type fakeFactory registry.Kind

func (f fakeFactory) Kind() registry.Kind { return registry.Kind(f) }

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		env       []string
		overrides []string
		want      []string // one per error, in schema order
	}{
		{name: "valid", overrides: []string{"CONCURRENT_REQUESTS=32", "JOBDIR_FSYNC=Always", "LOG_LEVEL=info", "JOBDIR=null"}},
		{
			name:      "int",
			overrides: []string{"CONCURRENT_REQUESTS=lots"},
			want:      []string{`setting CONCURRENT_REQUESTS="lots" (from -s CONCURRENT_REQUESTS=lots on the command line): want an integer >= 0`},
		},
		{
			name: "enum and range",
			env:  []string{"FRONTIER_JOBDIR_FSYNC=sometimes", "FRONTIER_DEPTH_LIMIT=-1"},
			want: []string{
				`setting JOBDIR_FSYNC="sometimes" (from environment variable FRONTIER_JOBDIR_FSYNC): want one of interval, always or never`,
				`setting DEPTH_LIMIT="-1" (from environment variable FRONTIER_DEPTH_LIMIT): want an integer >= 0`,
			},
		},
		{
			name: "file",
			file: "SCHEDULER_DEBUG: maybe\nJOBDIR_FLUSH_INTERVAL: soon\nDOWNLOAD_SLOTS: [1]\nLOG_FORMAT: text\n",
			want: []string{
				`setting SCHEDULER_DEBUG="maybe" (from FILE:1): want a boolean`,
				`setting JOBDIR_FLUSH_INTERVAL="soon" (from FILE:2): want a Go duration`,
				`setting DOWNLOAD_SLOTS=[1] (from FILE:3): want a map or a JSON object`,
				`setting LOG_FORMAT="text" (from FILE:4): want one of auto, console or json`,
			},
		},
		{
			name:      "components",
			overrides: []string{"DUPEFILTER_CLASS=scrapy.dupefilters.RFPDupeFiltr", "SCHEDULER_MEMORY_QUEUE=scrapy.dupefilters.RFPDupeFilter", "SCHEDULER_PRIORITY_QUEUE=null", "SCHEDULER_START_DISK_QUEUE="},
			want: []string{
				`setting SCHEDULER_MEMORY_QUEUE="scrapy.dupefilters.RFPDupeFilter" (from -s SCHEDULER_MEMORY_QUEUE=scrapy.dupefilters.RFPDupeFilter on the command line): "scrapy.dupefilters.RFPDupeFilter" is a dupefilter, want a queue`,
				`setting SCHEDULER_PRIORITY_QUEUE=null (from -s SCHEDULER_PRIORITY_QUEUE=null on the command line): want a priority queue name; it cannot be null or empty`,
				`setting DUPEFILTER_CLASS="scrapy.dupefilters.RFPDupeFiltr" (from -s DUPEFILTER_CLASS=scrapy.dupefilters.RFPDupeFiltr on the command line): no component has this name (did you mean "scrapy.dupefilters.RFPDupeFilter"?); want a dupefilter name`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts := mustLoad(t, tt.file, tt.env, tt.overrides)
			err := s.Validate(testRegistry())
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				w = strings.ReplaceAll(w, "FILE", opts.File)
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], w)
				}
			}
			if err != nil && !errors.Is(err, ErrSetting) {
				t.Errorf("%v does not wrap ErrSetting", err)
			}
			if tt.name == "components" && (!errors.Is(err, registry.ErrUnknown) || !errors.Is(err, registry.ErrWrongKind)) {
				t.Errorf("%v does not wrap the registry's ErrUnknown and ErrWrongKind", err)
			}
		})
	}
}

// -s NAME=null and FRONTIER_NAME=null mean None, as null does in a file.
func TestNullFromEnvAndCommandLine(t *testing.T) {
	s, err := LoadSettings(LoadOptions{
		Environ:   []string{"FRONTIER_JOBDIR=null", "FRONTIER_SCHEDULER_START_DISK_QUEUE=~"},
		Overrides: []string{"SCHEDULER_START_MEMORY_QUEUE=null", "DUPEFILTER_DEBUG=NULL"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"JOBDIR", "SCHEDULER_START_DISK_QUEUE", "SCHEDULER_START_MEMORY_QUEUE", "DUPEFILTER_DEBUG"} {
		if st, ok := s.Lookup(name); !ok || st.Value != nil {
			t.Errorf("%s = %#v (set: %v), want nil", name, st.Value, ok)
		}
	}
	if job, err := JobConfigFromSettings(s); job != nil || err != nil {
		t.Errorf("JobConfigFromSettings = %+v, %v; want no job", job, err)
	}
	// Other text stays text.
	s, _ = LoadSettings(LoadOptions{Overrides: []string{"JOBDIR=nullish"}})
	if st, _ := s.Lookup("JOBDIR"); st.Value != "nullish" {
		t.Errorf("JOBDIR = %#v", st.Value)
	}
}

// A YAML syntax error names the line it is on, counted from 1.
func TestSettingsFileErrorLine(t *testing.T) {
	tests := []struct {
		content string
		want    string
	}{
		{"A: 1\n- x\n", "line 2: did not find expected key"},
		{"- x\nA: 1\n", "line 2: did not find expected '-' indicator"},
		{"SCHEDULER_DEBUG: false\nJOBDIR: [\nFOO: 1\n", "line 2: did not find expected ',' or ']'"},
		{"A: 1\nB: 2\n  C: 3\n", "line 3: mapping values are not allowed in this context"},
		{"A: 1\nB: \"x\n", "line 2: found unexpected end of stream"},
	}
	for _, tt := range tests {
		file := filepath.Join(t.TempDir(), "s.yaml")
		if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadSettings(LoadOptions{File: file})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.content, err, tt.want)
		}
	}
}

// mustLoad loads settings from a file holding content (none when ""), an
// environment and overrides, and returns them with the options used.
func mustLoad(t *testing.T, content string, env, overrides []string) (*Settings, LoadOptions) {
	t.Helper()
	opts := LoadOptions{Environ: env, Overrides: overrides}
	if content != "" {
		opts.File = writeFile(t, content)
	}
	s, err := LoadSettings(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, opts
}
