package host

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// Defaults of a PLUGINS entry.
const (
	DefaultStartTimeout = time.Minute
	DefaultCallTimeout  = time.Minute
	DefaultBatchSize    = 8192
	// DefaultBatchBytes bounds the records one batch carries.
	DefaultBatchBytes = 4 << 20
)

// Decl is one entry of the PLUGINS setting: a plugin binary and what it
// provides.
type Decl struct {
	// Name names the plugin in messages and in registry origins
	// ("plugin:<name>").
	Name string
	// Command is the executable and its arguments. A name without a slash is
	// looked up in PATH; a relative path is relative to the working directory.
	Command []string
	// SHA256 is the expected digest of the executable; required unless
	// InsecureSkipChecksum.
	SHA256               []byte
	InsecureSkipChecksum bool
	// StartTimeout bounds the start and handshake (default 1m).
	StartTimeout time.Duration
	// CallTimeout bounds each call to the plugin (default 1m).
	CallTimeout time.Duration
	// BatchSize is how many requests the host buffers before pushing, and
	// prefetches at most when popping (default 8192).
	BatchSize int
	// Provides are the components the binary must describe.
	Provides []Provide
	// Config is sent to the plugin's Configure call as a JSON object.
	Config map[string]any
	// Source is where the PLUGINS setting came from, for messages.
	Source string
}

// Provide is one component a plugin provides.
type Provide struct {
	Name string
	Kind registry.Kind
}

var declKeys = []string{"name", "command", "sha256", "insecure_skip_checksum", "start_timeout", "call_timeout", "batch_size", "provides", "config"}

// ParseDecls decodes the PLUGINS setting strictly: each entry is a map with
// the keys name, command (a list: executable, then arguments), sha256,
// insecure_skip_checksum, start_timeout, call_timeout, batch_size, provides
// (a list of {name, kind}) and config (a map); any other key is an error, as
// is a missing name, command, provides or sha256 (unless
// insecure_skip_checksum is true). A null or empty setting declares no
// plugin. A string value is read as a JSON list, for the environment and the
// command line. Errors wrap ErrConfig and name the entry and the setting's
// source.
func ParseDecls(st framework.Setting) ([]Decl, error) {
	src := st.Source.String()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: PLUGINS (from %s): %s", ErrConfig, src, fmt.Sprintf(format, args...))
	}
	var list []any
	switch v := st.Value.(type) {
	case nil:
		return nil, nil
	case []any:
		list = v
	case []map[string]any:
		for _, m := range v {
			list = append(list, m)
		}
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			return nil, fail("a string value must be a JSON list of plugin entries: %v", err)
		}
	default:
		return nil, fail("want a list of plugin entries, got %T", st.Value)
	}
	var out []Decl
	names := map[string]int{}
	provided := map[string]string{}
	for i, raw := range list {
		d, err := parseDecl(raw, src)
		if err != nil {
			return nil, fmt.Errorf("%w: PLUGINS[%d]%s (from %s): %w", ErrConfig, i, entryName(raw), src, err)
		}
		if j, dup := names[d.Name]; dup {
			return nil, fail("PLUGINS[%d] and PLUGINS[%d] are both named %q", j, i, d.Name)
		}
		names[d.Name] = i
		for _, p := range d.Provides {
			if other, dup := provided[p.Name]; dup {
				return nil, fail("%q is provided by both plugin %q and plugin %q", p.Name, other, d.Name)
			}
			provided[p.Name] = d.Name
		}
		out = append(out, d)
	}
	return out, nil
}

func entryName(raw any) string {
	if m, ok := asMap(raw); ok {
		if n, ok := m["name"].(string); ok && n != "" {
			return fmt.Sprintf(" (%s)", n)
		}
	}
	return ""
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			ks, ok := k.(string)
			if !ok {
				return nil, false
			}
			out[ks] = v
		}
		return out, true
	}
	return nil, false
}

func parseDecl(raw any, src string) (Decl, error) {
	d := Decl{StartTimeout: DefaultStartTimeout, CallTimeout: DefaultCallTimeout, BatchSize: DefaultBatchSize, Source: src}
	m, ok := asMap(raw)
	if !ok {
		return d, fmt.Errorf("want a map with the keys %s, got %T", strings.Join(declKeys, ", "), raw)
	}
	if err := unknownKeys(m, declKeys); err != nil {
		return d, err
	}
	var err error
	if d.Name, err = str(m, "name", true); err != nil {
		return d, err
	}
	if err := validName(d.Name); err != nil {
		return d, fmt.Errorf("name: %w", err)
	}
	if d.Command, err = strList(m, "command"); err != nil {
		return d, err
	}
	if len(d.Command) == 0 || d.Command[0] == "" {
		return d, fmt.Errorf("command: want a non-empty list: the executable, then its arguments")
	}
	if v, ok := m["insecure_skip_checksum"]; ok && v != nil {
		b, ok := v.(bool)
		if !ok {
			return d, fmt.Errorf("insecure_skip_checksum: want true or false, got %v", v)
		}
		d.InsecureSkipChecksum = b
	}
	sum, err := str(m, "sha256", false)
	if err != nil {
		return d, err
	}
	if sum != "" {
		b, err := hex.DecodeString(strings.TrimSpace(sum))
		if err != nil || len(b) != 32 {
			return d, fmt.Errorf("sha256: want 64 hex digits (sha256sum of the executable), got %q", sum)
		}
		d.SHA256 = b
	} else if !d.InsecureSkipChecksum {
		return d, fmt.Errorf("sha256 is required (the output of sha256sum on the executable); set insecure_skip_checksum: true to run an unchecked binary")
	}
	if d.StartTimeout, err = duration(m, "start_timeout", DefaultStartTimeout); err != nil {
		return d, err
	}
	if d.CallTimeout, err = duration(m, "call_timeout", DefaultCallTimeout); err != nil {
		return d, err
	}
	if v, ok := m["batch_size"]; ok && v != nil {
		n, ok := toInt(v)
		if !ok || n < 1 || n > 1<<16 {
			return d, fmt.Errorf("batch_size: want an integer from 1 to 65536, got %v", v)
		}
		d.BatchSize = n
	}
	if d.Provides, err = provides(m["provides"]); err != nil {
		return d, err
	}
	switch c := m["config"].(type) {
	case nil:
		d.Config = map[string]any{}
	default:
		cm, ok := asMap(c)
		if !ok {
			return d, fmt.Errorf("config: want a map, got %T", c)
		}
		if _, err := json.Marshal(jsonable(cm)); err != nil {
			return d, fmt.Errorf("config: %w", err)
		}
		d.Config = cm
	}
	return d, nil
}

func unknownKeys(m map[string]any, known []string) error {
	var bad []string
	for k := range m {
		if !slices.Contains(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	k := bad[0]
	msg := fmt.Sprintf("unknown key %q", k)
	if c := registry.Closest(k, known, 1); len(c) > 0 {
		msg += fmt.Sprintf(" (did you mean %q?)", c[0])
	}
	return fmt.Errorf("%s; known keys: %s", msg, strings.Join(known, ", "))
}

func str(m map[string]any, key string, required bool) (string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			return "", fmt.Errorf("%s is required", key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: want a string, got %v", key, v)
	}
	if required && strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%s is required", key)
	}
	return s, nil
}

func strList(m map[string]any, key string) ([]string, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, fmt.Errorf("%s is required", key)
	}
	l, ok := v.([]any)
	if !ok {
		if sl, ok2 := v.([]string); ok2 {
			return slices.Clone(sl), nil
		}
		return nil, fmt.Errorf("%s: want a list of strings (the executable, then its arguments), got %v", key, v)
	}
	out := make([]string, len(l))
	for i, e := range l {
		switch s := e.(type) {
		case string:
			out[i] = s
		case int, int64, float64, bool:
			out[i] = fmt.Sprint(s)
		default:
			return nil, fmt.Errorf("%s[%d]: want a string, got %v", key, i, e)
		}
	}
	return out, nil
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		return int(min(n, math.MaxInt32)), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<31 {
			return int(n), true
		}
	}
	return 0, false
}

func duration(m map[string]any, key string, def time.Duration) (time.Duration, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return def, nil
	}
	var d time.Duration
	switch t := v.(type) {
	case string:
		p, err := time.ParseDuration(strings.TrimSpace(t))
		if err != nil {
			return 0, fmt.Errorf("%s: want a duration such as 30s or 2m, got %q", key, t)
		}
		d = p
	case int, int64, float64:
		f, _ := toFloat(t)
		d = time.Duration(f * float64(time.Second))
	default:
		return 0, fmt.Errorf("%s: want a duration such as 30s, got %v", key, v)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s: want a positive duration, got %v", key, v)
	}
	return d, nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// kinds maps the spellings a PLUGINS entry may use to registry kinds.
var kinds = map[string]registry.Kind{
	"queue":          registry.KindQueue,
	"priority queue": registry.KindPriorityQueue,
	"priority_queue": registry.KindPriorityQueue,
	"pqueue":         registry.KindPriorityQueue,
	"dupefilter":     registry.KindDupeFilter,
}

func provides(v any) ([]Provide, error) {
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return nil, fmt.Errorf("provides: want a non-empty list of {name, kind} (kind: queue, priority_queue or dupefilter), got %v", v)
	}
	var out []Provide
	seen := map[string]bool{}
	for i, e := range l {
		m, ok := asMap(e)
		if !ok {
			return nil, fmt.Errorf("provides[%d]: want a map {name, kind}, got %v", i, e)
		}
		if err := unknownKeys(m, []string{"name", "kind"}); err != nil {
			return nil, fmt.Errorf("provides[%d]: %w", i, err)
		}
		name, err := str(m, "name", true)
		if err != nil {
			return nil, fmt.Errorf("provides[%d]: %w", i, err)
		}
		if err := validName(name); err != nil {
			return nil, fmt.Errorf("provides[%d]: name: %w", i, err)
		}
		if seen[name] {
			return nil, fmt.Errorf("provides[%d]: %q is listed twice", i, name)
		}
		seen[name] = true
		ks, err := str(m, "kind", true)
		if err != nil {
			return nil, fmt.Errorf("provides[%d] (%s): %w", i, name, err)
		}
		k, ok := kinds[strings.ToLower(strings.TrimSpace(ks))]
		if !ok {
			return nil, fmt.Errorf("provides[%d] (%s): kind %q: want queue, priority_queue or dupefilter", i, name, ks)
		}
		out = append(out, Provide{Name: name, Kind: k})
	}
	return out, nil
}

func validName(n string) error {
	if strings.TrimSpace(n) == "" {
		return fmt.Errorf("empty")
	}
	if strings.IndexFunc(n, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("%q holds whitespace or control characters", n)
	}
	return nil
}

// jsonable converts YAML-decoded values (maps with non-string keys) into
// values encoding/json accepts.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonable(e)
		}
		return out
	default:
		return v
	}
}
