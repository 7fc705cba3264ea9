package framework

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/frontier-go/frontier/registry"
)

// SettingType is the kind of value a setting holds.
type SettingType int

// Setting types. Each converts with the getter of the same name (GetBool,
// GetInt, ...); an enum is a string from a fixed list, a component a
// registered name of one registry kind.
const (
	TypeBool SettingType = iota + 1
	TypeInt
	TypeFloat
	TypeDuration
	TypeString
	TypeEnum
	TypeList
	TypeDict
	TypeComponent
)

// SettingSpec is what a setting may hold: its type, and where one applies,
// its lowest value, its allowed values or its component kind.
type SettingSpec struct {
	Name string
	Type SettingType
	// Min is the lowest value of an int, float or duration (in seconds);
	// nil means no bound.
	Min *float64
	// Values are an enum's allowed values; AnyCase compares them without
	// regard to case (and to surrounding spaces).
	Values  []string
	AnyCase bool
	// Kind is a component's registry kind; Required refuses null and "".
	Kind     registry.Kind
	Required bool
	// Unused says why nothing reads the setting yet (empty when something
	// does): the value is checked, but changing it changes nothing.
	Unused string
}

// settingSchema describes every setting in settings.yaml; a test keeps the
// two in step.
var settingSchema = []SettingSpec{
	{Name: "SCHEDULER", Type: TypeComponent, Kind: registry.KindScheduler, Required: true},
	{Name: "SCHEDULER_DEBUG", Type: TypeBool},
	{Name: "SCHEDULER_DISK_QUEUE", Type: TypeComponent, Kind: registry.KindQueue, Required: true},
	{Name: "SCHEDULER_MEMORY_QUEUE", Type: TypeComponent, Kind: registry.KindQueue, Required: true},
	{Name: "SCHEDULER_PRIORITY_QUEUE", Type: TypeComponent, Kind: registry.KindPriorityQueue, Required: true},
	{Name: "SCHEDULER_START_DISK_QUEUE", Type: TypeComponent, Kind: registry.KindQueue},
	{Name: "SCHEDULER_START_MEMORY_QUEUE", Type: TypeComponent, Kind: registry.KindQueue},
	{Name: "DUPEFILTER_CLASS", Type: TypeComponent, Kind: registry.KindDupeFilter, Required: true},
	{Name: "DUPEFILTER_DEBUG", Type: TypeBool},
	{Name: "DUPEFILTER_BLOOM_CAPACITY", Type: TypeInt, Min: new(1.0)},
	{Name: "DUPEFILTER_BLOOM_ERROR_RATE", Type: TypeFloat, Min: new(0.0)},
	{Name: "REDIS_URL", Type: TypeString},
	{Name: "REDIS_HOST", Type: TypeString},
	{Name: "REDIS_PORT", Type: TypeInt, Min: new(1.0)},
	{Name: "REDIS_PARAMS", Type: TypeDict},
	{Name: "REDIS_WORKER_ID", Type: TypeString},
	{Name: "REDIS_VISIBILITY_TIMEOUT", Type: TypeDuration, Min: new(1.0)},
	{Name: "REDIS_PREFETCH", Type: TypeInt, Min: new(1.0)},
	{Name: "REDIS_DUPEFILTER_CAPACITY", Type: TypeInt, Min: new(1.0)},
	{Name: "REDIS_START_URLS_KEY", Type: TypeString},
	{Name: "REDIS_START_URLS_AS_SET", Type: TypeBool},
	{Name: "SCHEDULER_PERSIST", Type: TypeBool},
	{Name: "SCHEDULER_FLUSH_ON_START", Type: TypeBool},
	{Name: "SCHEDULER_IDLE_BEFORE_CLOSE", Type: TypeDuration, Min: new(0.0)},
	{Name: "SCHEDULER_QUEUE_KEY", Type: TypeString},
	{Name: "SCHEDULER_QUEUE_CLASS", Type: TypeEnum, Values: []string{
		"scrapy_redis.queue.PriorityQueue", "scrapy_redis.queue.FifoQueue", "scrapy_redis.queue.LifoQueue",
		"frontier.redis.PriorityQueue", "frontier.redis.FifoQueue", "frontier.redis.LifoQueue"}},
	{Name: "SCHEDULER_DUPEFILTER_KEY", Type: TypeString},
	{Name: "DUPEFILTER_KEY", Type: TypeString, Unused: "scrapy-redis's key of a dupefilter used without its scheduler; frontier's Redis dupefilter shares SCHEDULER_DUPEFILTER_KEY with the crawl's workers"},
	{Name: "JOBDIR", Type: TypeString},
	{Name: "JOBDIR_FSYNC", Type: TypeEnum, Values: []string{"interval", "always", "never"}, AnyCase: true},
	{Name: "JOBDIR_FSYNC_INTERVAL", Type: TypeDuration, Min: new(0.0)},
	{Name: "JOBDIR_FLUSH_INTERVAL", Type: TypeDuration, Min: new(0.0)},
	{Name: "JOBDIR_SEGMENT_BYTES", Type: TypeInt, Min: new(0.0)},
	{Name: "JOBDIR_QUEUE_LAYOUT", Type: TypeEnum, Values: []string{"store", "files"}},
	{Name: "REQUEST_FINGERPRINTER_CLASS", Type: TypeComponent, Kind: registry.KindFingerprinter},
	{Name: "CONCURRENT_REQUESTS", Type: TypeInt, Min: new(0.0)},
	{Name: "CONCURRENT_REQUESTS_PER_DOMAIN", Type: TypeInt, Min: new(1.0)},
	{Name: "CONCURRENT_REQUESTS_PER_IP", Type: TypeInt, Min: new(0.0)},
	{Name: "DOWNLOAD_SLOTS", Type: TypeDict},
	{Name: "DEPTH_LIMIT", Type: TypeInt, Min: new(0.0)},
	{Name: "DEPTH_PRIORITY", Type: TypeInt},
	{Name: "DEPTH_STATS_VERBOSE", Type: TypeBool},
	{Name: "DOWNLOAD_DELAY", Type: TypeDuration, Min: new(0.0)},
	{Name: "RANDOMIZE_DOWNLOAD_DELAY", Type: TypeBool},
	{Name: "DOWNLOAD_TIMEOUT", Type: TypeDuration, Min: new(0.0)},
	{Name: "DOWNLOAD_MAXSIZE", Type: TypeInt, Min: new(0.0)},
	{Name: "DOWNLOAD_WARNSIZE", Type: TypeInt, Min: new(0.0)},
	{Name: "USER_AGENT", Type: TypeString},
	{Name: "DEFAULT_REQUEST_HEADERS", Type: TypeDict},
	{Name: "COMPRESSION_ENABLED", Type: TypeBool},
	{Name: "COOKIES_ENABLED", Type: TypeBool},
	{Name: "COOKIES_DEBUG", Type: TypeBool},
	{Name: "RETRY_ENABLED", Type: TypeBool},
	{Name: "RETRY_TIMES", Type: TypeInt, Min: new(0.0)},
	{Name: "RETRY_HTTP_CODES", Type: TypeList},
	{Name: "RETRY_PRIORITY_ADJUST", Type: TypeInt},
	{Name: "RETRY_AFTER_MAX", Type: TypeDuration, Min: new(0.0)},
	{Name: "REDIRECT_ENABLED", Type: TypeBool},
	{Name: "REDIRECT_MAX_TIMES", Type: TypeInt, Min: new(0.0)},
	{Name: "REDIRECT_PRIORITY_ADJUST", Type: TypeInt},
	{Name: "HTTPERROR_ALLOWED_CODES", Type: TypeList},
	{Name: "HTTPERROR_ALLOW_ALL", Type: TypeBool},
	{Name: "ROBOTSTXT_OBEY", Type: TypeBool},
	{Name: "CLOSESPIDER_PAGECOUNT", Type: TypeInt, Min: new(0.0)},
	{Name: "CLOSESPIDER_ITEMCOUNT", Type: TypeInt, Min: new(0.0)},
	{Name: "CLOSESPIDER_TIMEOUT", Type: TypeDuration, Min: new(0.0)},
	{Name: "CLOSESPIDER_ERRORCOUNT", Type: TypeInt, Min: new(0.0)},
	{Name: "LOGSTATS_INTERVAL", Type: TypeDuration, Min: new(0.0)},
	{Name: "STATS_DUMP", Type: TypeBool},
	{Name: "FEED_EXPORT_FIELDS", Type: TypeList},
	{Name: "LOG_LEVEL", Type: TypeEnum, Values: []string{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, AnyCase: true},
	{Name: "LOG_FORMAT", Type: TypeEnum, Values: []string{"auto", "console", "json"}},
	{Name: "LOG_FILE", Type: TypeString},
	{Name: "PLUGINS", Type: TypeList},
}

// SettingSchema returns the spec of every setting settings.yaml documents,
// in its order.
func SettingSchema() []SettingSpec { return slices.Clone(settingSchema) }

// LookupSpec returns the spec of a setting, and false for a name
// settings.yaml does not document.
func LookupSpec(name string) (SettingSpec, bool) {
	i := slices.IndexFunc(settingSchema, func(s SettingSpec) bool { return s.Name == name })
	if i < 0 {
		return SettingSpec{}, false
	}
	return settingSchema[i], true
}

// InvalidSettingError is a setting whose value its spec refuses. It wraps
// ErrSetting; its message names the setting, the value, where the value
// came from and what is allowed.
type InvalidSettingError struct {
	Setting Setting
	Want    string
	// Err is the registry's error for a component name (unknown, or of
	// another kind), nil otherwise.
	Err error
}

func (e *InvalidSettingError) Error() string {
	return fmt.Sprintf("setting %s=%s (from %s): %s", e.Setting.Name, formatValue(e.Setting.Value), e.Setting.Source, e.Want)
}

// Unwrap returns ErrSetting, and the registry's error for a component
// name, so that errors.Is finds registry.ErrUnknown or ErrWrongKind too.
func (e *InvalidSettingError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrSetting}
	}
	return []error{ErrSetting, e.Err}
}

// Validate checks every documented setting's value against its spec and
// returns every problem at once (joined, each an *InvalidSettingError), or
// nil. Component names are looked up in r, which must then hold everything
// the settings may name (built-ins and declared plugins); a nil r checks
// only that they are names. Names settings.yaml does not document are left
// to Warnings.
func (s *Settings) Validate(r *registry.Registry) error {
	var errs []error
	for _, spec := range settingSchema {
		st, ok := s.Lookup(spec.Name)
		if !ok {
			continue
		}
		if want, cause := spec.check(st.Value, r); want != "" {
			errs = append(errs, &InvalidSettingError{Setting: st, Want: want, Err: cause})
		}
	}
	return errors.Join(errs...)
}

// check returns what the spec wants when v does not fit, or "", and for a
// component name the registry's error.
func (spec SettingSpec) check(v any, r *registry.Registry) (string, error) {
	var num float64
	var err error
	switch spec.Type {
	case TypeBool:
		_, err = toBool(v)
	case TypeInt:
		var n int
		n, err = toInt(v)
		num = float64(n)
	case TypeFloat:
		num, err = toFloat(v)
	case TypeDuration:
		d, derr := toDuration(v)
		num, err = d.Seconds(), derr
	case TypeString:
		_, err = toString(v)
	case TypeList:
		_, err = toList(v)
	case TypeDict:
		_, err = toDict(v)
	case TypeEnum:
		return spec.checkEnum(v), nil
	case TypeComponent:
		return spec.checkComponent(v, r)
	}
	if err != nil || (spec.Min != nil && num < *spec.Min) {
		return spec.Describe(), nil
	}
	return "", nil
}

func (spec SettingSpec) checkEnum(v any) string {
	str, err := toString(v)
	if err == nil && v != nil {
		for _, allowed := range spec.Values {
			if str == allowed || spec.AnyCase && strings.EqualFold(strings.TrimSpace(str), allowed) {
				return ""
			}
		}
	}
	return spec.Describe()
}

func (spec SettingSpec) checkComponent(v any, r *registry.Registry) (string, error) {
	name, ok, err := componentName(v)
	switch {
	case err != nil:
		return spec.Describe(), nil
	case !ok && spec.Required:
		return spec.Describe() + "; it cannot be null or empty", nil
	case !ok || r == nil:
		return "", nil
	}
	e, err := r.Lookup(name)
	var unknown *registry.UnknownError
	switch {
	case errors.As(err, &unknown):
		want := "no component has this name"
		if len(unknown.Closest) > 0 {
			want += " (did you mean " + orList(quoteAll(unknown.Closest)) + "?)"
		}
		return want + "; want " + article(string(spec.Kind)) + " name: `frontier list` shows them, and a plugin's names need its PLUGINS entry", err
	case err != nil:
		return err.Error(), err
	case e.Kind() != spec.Kind:
		return fmt.Sprintf("%q is %s, want %s", name, article(string(e.Kind())), article(string(spec.Kind))),
			&registry.WrongKindError{Name: name, Expected: spec.Kind, Actual: e.Kind()}
	}
	return "", nil
}

// Describe says what the spec allows, as in "want an integer >= 0".
func (spec SettingSpec) Describe() string {
	bound := ""
	if spec.Min != nil {
		bound = fmt.Sprintf(" >= %g", *spec.Min)
	}
	switch spec.Type {
	case TypeBool:
		return "want a boolean: true or false (also 0/1, True/False)"
	case TypeInt:
		return "want an integer" + bound
	case TypeFloat:
		return "want a number" + bound
	case TypeDuration:
		if spec.Min != nil {
			bound = fmt.Sprintf(" of at least %gs", *spec.Min)
		}
		return "want a Go duration such as 1s or 200ms, or a number of seconds" + bound
	case TypeString:
		return "want a string"
	case TypeEnum:
		return "want one of " + orList(spec.Values)
	case TypeList:
		return "want a list or a comma-separated string"
	case TypeDict:
		return "want a map or a JSON object"
	case TypeComponent:
		want := "want " + article(string(spec.Kind)) + " name"
		if !spec.Required {
			want += ", or null for none"
		}
		return want
	}
	return "unknown setting type"
}

// article prefixes a kind with "a" or "an".
func article(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}
