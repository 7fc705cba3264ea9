package framework

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"

	"github.com/frontier-go/frontier"
	"github.com/frontier-go/frontier/registry"
)

// SourceKind says which layer a setting's value came from.
type SourceKind int

// Layers, lowest first. A value from a higher layer replaces the value of a
// lower one as a whole: a map in a settings file replaces the default map, it
// is not merged into it.
const (
	// SourceDefault is the embedded settings.yaml.
	SourceDefault SourceKind = iota
	// SourceFile is a settings file named in LoadOptions.File.
	SourceFile
	// SourceEnv is a FRONTIER_<NAME> environment variable.
	SourceEnv
	// SourceCommandLine is a -s NAME=VALUE override.
	SourceCommandLine
	// SourceCode is a value given to Settings.Set.
	SourceCode
)

// EnvPrefix starts the name of every environment variable that sets a
// setting: FRONTIER_SCHEDULER_DEBUG=1 sets SCHEDULER_DEBUG.
const EnvPrefix = "FRONTIER_"

// defaultsFile names the embedded defaults in sources.
const defaultsFile = "settings.yaml"

// keyDelim is koanf's key-path delimiter. It never occurs in a setting name
// or in a dotted component path, so neither a name nor a dict key such as
// "scrapy.squeues.FifoMemoryQueue" is ever split; settings are only read by
// their top-level name.
const keyDelim = "::"

// Source is where a setting's value came from.
type Source struct {
	Kind SourceKind
	// File is the settings file (SourceDefault: settings.yaml).
	File string
	// Line is the line of the setting's key in File, 0 when unknown.
	Line int
	// Name is the environment variable (SourceEnv), the NAME=VALUE text of
	// the override (SourceCommandLine), or an optional description of the
	// code that set the value (SourceCode).
	Name string
}

// String describes the source for error messages, as in
// `SCHEDULER_DEBUG="maybe" (from environment variable FRONTIER_SCHEDULER_DEBUG)`.
func (s Source) String() string {
	switch s.Kind {
	case SourceDefault:
		file := s.File
		if file == "" {
			file = defaultsFile
		}
		return "default in " + fileLine(file, s.Line)
	case SourceFile:
		file := s.File
		if file == "" {
			file = "settings file"
		}
		return fileLine(file, s.Line)
	case SourceEnv:
		return "environment variable " + s.Name
	case SourceCommandLine:
		return fmt.Sprintf("-s %s on the command line", s.Name)
	case SourceCode:
		if s.Name != "" {
			return "code (" + s.Name + ")"
		}
		return "code"
	default:
		return fmt.Sprintf("unknown source %d", int(s.Kind))
	}
}

func fileLine(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// Setting is one setting's value and where it came from. Value is what the
// layer held: a YAML value (nil, bool, int, float64, string, []any,
// map[string]any), a string from the environment or the command line, or any
// Go value set in code.
type Setting struct {
	Name   string
	Value  any
	Source Source
}

// Settings holds a crawl's settings in layers (defaults < settings file <
// environment < -s overrides < code) and remembers where each value came
// from. Getters convert with Scrapy's rules and fail with an error wrapping
// ErrSetting that names the setting, its value and its source.
//
// Settings is safe for concurrent use. Build one with NewSettings or
// LoadSettings; the zero value holds nothing, not even the defaults.
type Settings struct {
	mu       sync.RWMutex
	k        *koanf.Koanf
	src      map[string]Source
	warnings []string
}

// LoadOptions says where LoadSettings finds the layers above the defaults.
type LoadOptions struct {
	// File is a YAML settings file; "" means none.
	File string
	// Environ is the environment, as os.Environ returns it; only variables
	// starting with EnvPrefix are read. nil means no environment: a program
	// that wants it passes os.Environ().
	Environ []string
	// Overrides are -s NAME=VALUE texts, applied in order.
	Overrides []string
}

// defaultLayer is the parsed embedded settings.yaml: each top-level name with
// its value and line.
type defaultLayer struct {
	values map[string]any
	lines  map[string]int
	names  []string // sorted
}

var loadDefaults = sync.OnceValues(func() (*defaultLayer, error) {
	lines, err := topLevelLines(frontier.DefaultSettings)
	if err != nil {
		return nil, fmt.Errorf("embedded %s: %w", defaultsFile, err)
	}
	k := koanf.New(keyDelim)
	if err := k.Load(rawbytes.Provider(frontier.DefaultSettings), kyaml.Parser()); err != nil {
		return nil, fmt.Errorf("embedded %s: %w", defaultsFile, err)
	}
	d := &defaultLayer{values: k.Raw(), lines: lines}
	d.names = slices.Sorted(maps.Keys(d.values))
	return d, nil
})

// KnownSettings returns the name of every setting documented in the
// embedded settings.yaml, sorted.
func KnownSettings() []string {
	d, err := loadDefaults()
	if err != nil {
		panic(err) // the embedded file is part of the build; tests parse it
	}
	return slices.Clone(d.names)
}

// NewSettings returns the defaults from the embedded settings.yaml. It panics
// only when that file does not parse, which the package's tests rule out.
func NewSettings() *Settings {
	d, err := loadDefaults()
	if err != nil {
		panic(err)
	}
	s := &Settings{k: koanf.New(keyDelim), src: make(map[string]Source, len(d.values))}
	// The defaults are loaded once; each Settings gets its own deep copy.
	if _, err := s.apply(confmap.Provider(d.values, ""), nil, func(name string) Source {
		return Source{Kind: SourceDefault, File: defaultsFile, Line: d.lines[name]}
	}); err != nil {
		panic(err)
	}
	return s
}

// LoadSettings layers the defaults, opts.File, the FRONTIER_ variables of
// opts.Environ and opts.Overrides, in that order. A file that cannot be read
// or parsed, or an override without "=", is an error naming it. Names that
// settings.yaml does not document are accepted and reported by Warnings.
func LoadSettings(opts LoadOptions) (*Settings, error) {
	s := NewSettings()
	if opts.File != "" {
		data, err := os.ReadFile(opts.File)
		if err != nil {
			return nil, fmt.Errorf("settings file: %w", err)
		}
		if err := s.loadYAML(data, opts.File); err != nil {
			return nil, err
		}
	}
	if err := s.loadEnv(opts.Environ); err != nil {
		return nil, err
	}
	if err := s.loadOverrides(opts.Overrides); err != nil {
		return nil, err
	}
	return s, nil
}

// loadYAML applies a settings file's bytes as the file layer.
func (s *Settings) loadYAML(data []byte, file string) error {
	lines, err := topLevelLines(data)
	if err != nil {
		return fmt.Errorf("%w: settings file %s: %w", ErrSetting, file, err)
	}
	names, err := s.apply(rawbytes.Provider(data), kyaml.Parser(), func(name string) Source {
		return Source{Kind: SourceFile, File: file, Line: lines[name]}
	})
	if err != nil {
		return fmt.Errorf("%w: settings file %s: %w", ErrSetting, file, err)
	}
	s.warnUnknown(names)
	return nil
}

// loadEnv applies the FRONTIER_<NAME> variables of environ.
func (s *Settings) loadEnv(environ []string) error {
	if len(environ) == 0 {
		return nil
	}
	p := env.Provider("", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(k, v string) (string, any) {
			return strings.TrimPrefix(k, EnvPrefix), nullable(v)
		},
	})
	names, err := s.apply(p, nil, func(name string) Source {
		return Source{Kind: SourceEnv, Name: EnvPrefix + name}
	})
	if err != nil {
		return fmt.Errorf("%w: environment: %w", ErrSetting, err)
	}
	s.warnUnknown(names)
	return nil
}

// loadOverrides applies -s NAME=VALUE texts in order; the values stay
// strings and getters convert them, as in Scrapy, except that YAML's null
// is null.
func (s *Settings) loadOverrides(overrides []string) error {
	for _, o := range overrides {
		name, value, ok := strings.Cut(o, "=")
		if !ok || name == "" {
			return fmt.Errorf("%w: invalid -s %q: want -s NAME=VALUE", ErrSetting, o)
		}
		names, err := s.apply(confmap.Provider(map[string]any{name: nullable(value)}, ""), nil, func(string) Source {
			return Source{Kind: SourceCommandLine, Name: o}
		})
		if err != nil {
			return fmt.Errorf("%w: -s %q: %w", ErrSetting, o, err)
		}
		s.warnUnknown(names)
	}
	return nil
}

// nullable returns nil for YAML's spellings of null (null, Null, NULL, ~),
// so that FRONTIER_NAME=null and -s NAME=null mean None as in settings.yaml,
// and the text itself otherwise.
func nullable(text string) any {
	switch text {
	case "null", "Null", "NULL", "~":
		return nil
	}
	return text
}

// apply loads one layer through koanf. Each top-level name the layer holds
// replaces the current value whole, and source says where it came from. It
// returns the names the layer set, sorted.
func (s *Settings) apply(p koanf.Provider, pa koanf.Parser, source func(name string) Source) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	var names []string
	replace := func(layer, dest map[string]any) error {
		for name, v := range layer {
			dest[name] = v
			names = append(names, name)
		}
		return nil
	}
	if err := s.k.Load(p, pa, koanf.WithMergeFunc(replace)); err != nil {
		return nil, err
	}
	slices.Sort(names)
	for _, name := range names {
		s.src[name] = source(name)
	}
	return names, nil
}

// init makes the zero Settings usable; s.mu is held.
func (s *Settings) init() {
	if s.k == nil {
		s.k = koanf.New(keyDelim)
		s.src = map[string]Source{}
	}
}

// warnUnknown records a warning for each name settings.yaml does not know,
// with the closest known names.
func (s *Settings) warnUnknown(names []string) {
	known := KnownSettings()
	var ws []string
	for _, name := range names {
		if _, ok := slices.BinarySearch(known, name); ok {
			continue
		}
		s.mu.RLock()
		src := s.src[name]
		s.mu.RUnlock()
		w := fmt.Sprintf("unknown setting %q (from %s)", name, src)
		if c := registry.Closest(name, known, 3); len(c) > 0 {
			w += "; did you mean " + orList(c) + "?"
		}
		ws = append(ws, w)
	}
	s.mu.Lock()
	s.warnings = append(s.warnings, ws...)
	s.mu.Unlock()
}

// orList joins names as "A", "A or B", "A, B or C".
func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Warnings returns what LoadSettings accepted but a user should hear about:
// setting names that settings.yaml does not document (with the closest known
// names), and a deprecated CONCURRENT_REQUESTS_PER_IP that is not zero.
func (s *Settings) Warnings() []string {
	s.mu.RLock()
	out := slices.Clone(s.warnings)
	s.mu.RUnlock()
	if st, ok := s.Lookup("CONCURRENT_REQUESTS_PER_IP"); ok && !isZeroInt(st.Value) {
		out = append(out, fmt.Sprintf("CONCURRENT_REQUESTS_PER_IP=%s (from %s) is deprecated since Scrapy 2.14: "+
			"use CONCURRENT_REQUESTS_PER_DOMAIN; the downloader-aware priority queue refuses a non-zero value",
			formatValue(st.Value), st.Source))
	}
	return out
}

// isZeroInt reports whether v is null, empty or an integer zero in any form
// GetInt accepts.
func isZeroInt(v any) bool {
	if v == nil || v == "" {
		return true
	}
	n, err := toInt(v)
	return err == nil && n == 0
}

// Set sets name to value from src, above every loaded layer; code passes
// Source{Kind: SourceCode}. value should be plain data: nil (Scrapy's None),
// a bool, a number, a string, a time.Duration, or slices and maps of those.
// Values are deep-copied in and out (by koanf), and a struct keeps only its
// exported fields.
func (s *Settings) Set(name string, value any, src Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	replace := func(layer, dest map[string]any) error {
		maps.Copy(dest, layer)
		return nil
	}
	// confmap with no delimiter keeps name whole; the merge cannot fail.
	_ = s.k.Load(confmap.Provider(map[string]any{name: value}, ""), nil, koanf.WithMergeFunc(replace))
	s.src[name] = src
}

// Lookup returns a setting's value and source, and false when no layer sets
// it. A map or slice value is a copy the caller may change.
func (s *Settings) Lookup(name string) (Setting, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	src, ok := s.src[name]
	if !ok {
		return Setting{Name: name}, false
	}
	return Setting{Name: name, Value: s.k.Get(name), Source: src}, true
}

// Names returns the name of every setting that has a value, sorted.
func (s *Settings) Names() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.src))
}

// Clone returns an independent copy: setting a value in one does not change
// the other.
func (s *Settings) Clone() *Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := &Settings{warnings: slices.Clone(s.warnings)}
	if s.k != nil {
		c.k = s.k.Copy()
		c.src = maps.Clone(s.src)
	}
	return c
}
