package framework

// INTERIM: replaced by the koanf-backed implementation (settings issue work).

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SourceKind says which layer a setting's value came from.
type SourceKind int

// Layers, lowest first.
const (
	SourceDefault SourceKind = iota
	SourceFile
	SourceEnv
	SourceCommandLine
	SourceCode
)

// Source is where a setting's value came from.
type Source struct {
	Kind SourceKind
	File string // settings file (SourceDefault: the embedded settings.yaml)
	Line int    // line in File, 0 when unknown
	Name string // environment variable or command-line text
}

func (s Source) String() string {
	switch s.Kind {
	case SourceDefault:
		return "default"
	case SourceFile:
		if s.Line > 0 {
			return fmt.Sprintf("%s:%d", s.File, s.Line)
		}
		return s.File
	case SourceEnv:
		return "environment " + s.Name
	case SourceCommandLine:
		return "command line " + s.Name
	default:
		return "code"
	}
}

// Setting is one setting's value and where it came from.
type Setting struct {
	Name   string
	Value  any
	Source Source
}

// Settings holds the crawl's settings.
type Settings struct {
	m map[string]Setting
}

// NewSettings returns the defaults.
func NewSettings() *Settings {
	s := &Settings{m: map[string]Setting{}}
	for k, v := range map[string]any{
		"SCHEDULER":                    "scrapy.core.scheduler.Scheduler",
		"SCHEDULER_DEBUG":              false,
		"SCHEDULER_DISK_QUEUE":         "scrapy.squeues.PickleLifoDiskQueue",
		"SCHEDULER_MEMORY_QUEUE":       "scrapy.squeues.LifoMemoryQueue",
		"SCHEDULER_PRIORITY_QUEUE":     "scrapy.pqueues.DownloaderAwarePriorityQueue",
		"SCHEDULER_START_DISK_QUEUE":   "scrapy.squeues.PickleFifoDiskQueue",
		"SCHEDULER_START_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
		"DUPEFILTER_CLASS":             "scrapy.dupefilters.RFPDupeFilter",
		"DUPEFILTER_DEBUG":             false,
		"JOBDIR":                       nil,
		"REQUEST_FINGERPRINTER_CLASS":  "scrapy.utils.request.RequestFingerprinter",
		"CONCURRENT_REQUESTS_PER_IP":   0,
	} {
		s.m[k] = Setting{Name: k, Value: v}
	}
	return s
}

// Set sets name to value.
func (s *Settings) Set(name string, value any, src Source) {
	s.m[name] = Setting{Name: name, Value: value, Source: src}
}

// Lookup returns a setting.
func (s *Settings) Lookup(name string) (Setting, bool) {
	v, ok := s.m[name]
	return v, ok
}

// Names returns every setting name, sorted.
func (s *Settings) Names() []string {
	out := make([]string, 0, len(s.m))
	for k := range s.m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *Settings) typeErr(st Setting, want string) error {
	return fmt.Errorf("%w: %s=%v (from %s): want %s", ErrSetting, st.Name, st.Value, st.Source, want)
}

// GetString returns a setting as a string; nil is "".
func (s *Settings) GetString(name string) (string, error) {
	st := s.m[name]
	switch v := st.Value.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return fmt.Sprint(v), nil
	}
}

// GetBool returns a setting as a bool with Scrapy's rules.
func (s *Settings) GetBool(name string) (bool, error) {
	st := s.m[name]
	switch v := st.Value.(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case int:
		return v != 0, nil
	case string:
		switch strings.ToLower(v) {
		case "1", "true":
			return true, nil
		case "0", "false", "":
			return false, nil
		}
	}
	return false, s.typeErr(st, "a boolean")
}

// GetInt returns a setting as an int.
func (s *Settings) GetInt(name string) (int, error) {
	st := s.m[name]
	switch v := st.Value.(type) {
	case nil:
		return 0, nil
	case int:
		return v, nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err == nil {
			return n, nil
		}
	}
	return 0, s.typeErr(st, "an integer")
}

// Component returns the component name a class setting holds; ok is false for
// null or "" (Scrapy's None).
func (s *Settings) Component(name string) (string, bool, error) {
	st := s.m[name]
	switch v := st.Value.(type) {
	case nil:
		return "", false, nil
	case string:
		v = strings.TrimSpace(v)
		return v, v != "", nil
	}
	return "", false, s.typeErr(st, "a component name")
}
