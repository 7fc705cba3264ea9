package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

const sum64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func entry(kv ...any) map[string]any {
	m := map[string]any{
		"name":     "acme",
		"command":  []any{"./acme", "--fast"},
		"sha256":   sum64,
		"provides": []any{map[string]any{"name": "acme.Fifo", "kind": "queue"}},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
			continue
		}
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func setting(v any) framework.Setting {
	return framework.Setting{Name: "PLUGINS", Value: v, Source: framework.Source{Kind: framework.SourceFile, File: "settings.yaml", Line: 12}}
}

func TestParseDecls(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value any
		err   string // substring of the error; "" for success
		check func(t *testing.T, ds []Decl)
	}{
		{name: "null", value: nil, check: func(t *testing.T, ds []Decl) {
			if len(ds) != 0 {
				t.Fatal(ds)
			}
		}},
		{name: "empty list", value: []any{}},
		{name: "empty string", value: ""},
		{name: "minimal", value: []any{entry()}, check: func(t *testing.T, ds []Decl) {
			d := ds[0]
			if d.Name != "acme" || len(d.Command) != 2 || d.Command[1] != "--fast" || len(d.SHA256) != 32 ||
				d.StartTimeout != DefaultStartTimeout || d.CallTimeout != DefaultCallTimeout || d.BatchSize != DefaultBatchSize ||
				len(d.Provides) != 1 || d.Provides[0] != (Provide{Name: "acme.Fifo", Kind: registry.KindQueue}) || d.Config == nil {
				t.Fatalf("%+v", d)
			}
		}},
		{name: "all keys", value: []any{entry("start_timeout", "2s", "call_timeout", 5, "batch_size", 64, "config", map[string]any{"synchronous": "full"},
			"provides", []any{
				map[string]any{"name": "acme.PQ", "kind": "priority_queue"},
				map[string]any{"name": "acme.PQ2", "kind": "priority queue"},
				map[string]any{"name": "acme.DF", "kind": "dupefilter"},
			})}, check: func(t *testing.T, ds []Decl) {
			d := ds[0]
			if d.StartTimeout != 2*time.Second || d.CallTimeout != 5*time.Second || d.BatchSize != 64 || d.Config["synchronous"] != "full" ||
				d.Provides[0].Kind != registry.KindPriorityQueue || d.Provides[1].Kind != registry.KindPriorityQueue || d.Provides[2].Kind != registry.KindDupeFilter {
				t.Fatalf("%+v", d)
			}
		}},
		{name: "JSON string", value: `[{"name": "acme", "command": ["./acme"], "insecure_skip_checksum": true, "provides": [{"name": "acme.Fifo", "kind": "queue"}]}]`,
			check: func(t *testing.T, ds []Decl) {
				if !ds[0].InsecureSkipChecksum || ds[0].SHA256 != nil {
					t.Fatalf("%+v", ds[0])
				}
			}},
		{name: "unknown key", value: []any{entry("sha265", "x")}, err: `PLUGINS[0] (acme) (from settings.yaml:12): unknown key "sha265" (did you mean "sha256"?)`},
		{name: "unknown key in provides", value: []any{entry("provides", []any{map[string]any{"name": "a", "kind": "queue", "knd": "x"}})}, err: `provides[0]: unknown key "knd"`},
		{name: "missing sha256", value: []any{entry("sha256", nil)}, err: "sha256 is required"},
		{name: "skip checksum false", value: []any{entry("sha256", nil, "insecure_skip_checksum", false)}, err: "sha256 is required"},
		{name: "skip checksum not bool", value: []any{entry("insecure_skip_checksum", "yes")}, err: "insecure_skip_checksum: want true or false"},
		{name: "bad sha256", value: []any{entry("sha256", "abc")}, err: "want 64 hex digits"},
		{name: "missing name", value: []any{entry("name", nil)}, err: "name is required"},
		{name: "name with space", value: []any{entry("name", "a b")}, err: "whitespace"},
		{name: "command string", value: []any{entry("command", "./acme --fast")}, err: "command: want a list of strings"},
		{name: "empty command", value: []any{entry("command", []any{})}, err: "command: want a non-empty list"},
		{name: "missing provides", value: []any{entry("provides", nil)}, err: "provides: want a non-empty list"},
		{name: "bad kind", value: []any{entry("provides", []any{map[string]any{"name": "a", "kind": "scheduler"}})}, err: `kind "scheduler": want queue, priority_queue or dupefilter`},
		{name: "provides twice", value: []any{entry("provides", []any{map[string]any{"name": "a", "kind": "queue"}, map[string]any{"name": "a", "kind": "queue"}})}, err: `"a" is listed twice`},
		{name: "bad timeout", value: []any{entry("start_timeout", "soon")}, err: "start_timeout: want a duration"},
		{name: "negative timeout", value: []any{entry("start_timeout", "-1s")}, err: "want a positive duration"},
		{name: "bad batch", value: []any{entry("batch_size", 0)}, err: "batch_size: want an integer from 1 to 65536"},
		{name: "config not a map", value: []any{entry("config", []any{1})}, err: "config: want a map"},
		{name: "entry not a map", value: []any{"acme"}, err: "PLUGINS[0] (from settings.yaml:12): want a map"},
		{name: "not a list", value: map[string]any{"name": "acme"}, err: "want a list of plugin entries"},
		{name: "bad JSON", value: "[{", err: "a string value must be a JSON list"},
		{name: "duplicate names", value: []any{entry(), entry("provides", []any{map[string]any{"name": "b", "kind": "queue"}})}, err: `PLUGINS[0] and PLUGINS[1] are both named "acme"`},
		{name: "name provided twice", value: []any{entry(), entry("name", "other")}, err: `"acme.Fifo" is provided by both plugin "acme" and plugin "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := ParseDecls(setting(tc.value))
			if tc.err != "" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want ErrConfig saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, ds)
			}
		})
	}
}

// Register puts every declared name in the registry with the plugin origin
// and the factory of its kind, and starts nothing.
func TestRegister(t *testing.T) {
	s := framework.NewSettings()
	s.Set("PLUGINS", []any{entry("provides", []any{
		map[string]any{"name": "acme.Fifo", "kind": "queue"},
		map[string]any{"name": "acme.PQ", "kind": "priority_queue"},
		map[string]any{"name": "acme.DF", "kind": "dupefilter"},
	})}, framework.Source{Kind: framework.SourceCode})
	reg := registry.New()
	m, err := Register(reg, s)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for name, kind := range map[string]registry.Kind{"acme.Fifo": registry.KindQueue, "acme.PQ": registry.KindPriorityQueue, "acme.DF": registry.KindDupeFilter} {
		e, err := reg.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind() != kind || e.Origin != "plugin:acme" || !strings.Contains(e.Doc, "./acme --fast") {
			t.Fatalf("%s: %+v", name, e)
		}
	}
	if _, _, err := registry.Get[framework.QueueFactory](reg, "acme.Fifo"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := registry.Get[framework.PriorityQueueFactory](reg, "acme.PQ"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := registry.Get[framework.DupeFilterFactory](reg, "acme.DF"); err != nil {
		t.Fatal(err)
	}
	if len(m.Running()) != 0 {
		t.Fatal("a plugin started at registration")
	}
	// The factory starts the process: here the binary is missing.
	f, _, _ := registry.Get[framework.QueueFactory](reg, "acme.Fifo")
	if _, err := f(context.Background(), framework.NewCrawler(s, reg, nil), framework.QueueConfig{Key: "k"}); !errors.Is(err, ErrBinaryNotFound) {
		t.Fatalf("factory of a missing binary: %v", err)
	}
	// After Close, factories refuse.
	m.Close()
	if _, err := f(context.Background(), framework.NewCrawler(s, reg, nil), framework.QueueConfig{Key: "k"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("factory after Close: %v", err)
	}
}

// A declared name that is already registered is refused, and nothing of the
// plugin is registered.
func TestRegisterConflict(t *testing.T) {
	reg := registry.New()
	reg.MustRegister(registry.Entry{Name: "acme.DF", Origin: "builtin",
		Factory: framework.DupeFilterFactory(func(context.Context, *framework.Crawler) (framework.DupeFilter, error) { return nil, nil })})
	s := framework.NewSettings()
	s.Set("PLUGINS", []any{entry("provides", []any{
		map[string]any{"name": "acme.Fifo", "kind": "queue"},
		map[string]any{"name": "acme.DF", "kind": "dupefilter"},
	})}, framework.Source{Kind: framework.SourceCode})
	if _, err := Register(reg, s); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"acme.DF", already registered`) {
		t.Fatalf("error = %v", err)
	}
	if _, err := reg.Lookup("acme.Fifo"); err == nil {
		t.Fatal("part of the plugin was registered")
	}
}

// FuzzParseDecls: any PLUGINS value given as text never panics, and what it
// accepts is complete.
func FuzzParseDecls(f *testing.F) {
	f.Add(`[{"name": "acme", "command": ["./acme"], "sha256": "` + sum64 + `", "provides": [{"name": "a.B", "kind": "queue"}], "config": {"x": [1, {"y": null}]}}]`)
	f.Add(`[{"name": "acme", "command": ["./acme"], "insecure_skip_checksum": true, "start_timeout": 1.5, "batch_size": 1e3, "provides": [{"name": "a.B", "kind": "dupefilter"}]}]`)
	f.Add(`[1, "x", null, {}]`)
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := ParseDecls(setting(s))
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		for _, d := range ds {
			if d.Name == "" || len(d.Command) == 0 || len(d.Provides) == 0 || (len(d.SHA256) != 32 && !d.InsecureSkipChecksum) ||
				d.StartTimeout <= 0 || d.CallTimeout <= 0 || d.BatchSize < 1 {
				t.Fatalf("incomplete declaration accepted: %+v", d)
			}
		}
	})
}
