package framework

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// SettingError is a setting whose value a getter cannot convert. It wraps
// ErrSetting and the reason, and its message names the setting, the value and
// where the value came from.
type SettingError struct {
	Setting Setting
	Err     error
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("%v: %s=%s (from %s): %v",
		ErrSetting, e.Setting.Name, formatValue(e.Setting.Value), e.Setting.Source, e.Err)
}

// Unwrap returns ErrSetting and the reason.
func (e *SettingError) Unwrap() []error { return []error{ErrSetting, e.Err} }

// Reasons a getter gives; each is wrapped in a SettingError.
var (
	errWantBool     = errors.New("supported values for boolean settings are 0/1, True/False, '0'/'1', 'True'/'False' and 'true'/'false'")
	errWantInt      = errors.New("want an integer")
	errWantFloat    = errors.New("want a number")
	errWantList     = errors.New("want a list or a comma-separated string")
	errWantDict     = errors.New("want a map or a JSON object")
	errWantDuration = errors.New("want a Go duration such as 1s or 200ms, or a number of seconds")
	errWantString   = errors.New("want a string")
	errWantName     = errors.New("want a component name (a string), or null for none")
)

// get looks name up and converts its value; a setting no layer sets converts
// as null, like a missing name in Scrapy.
func get[T any](s *Settings, name string, conv func(any) (T, error)) (T, error) {
	st, _ := s.Lookup(name)
	v, err := conv(st.Value)
	if err != nil {
		var zero T
		return zero, &SettingError{Setting: st, Err: err}
	}
	return v, nil
}

// GetBool returns a setting as a bool with Scrapy's rules: null is false; a
// bool is itself; a number, or a string holding an integer, is true when not
// zero (a float is truncated first, as Python's int does); the strings
// "True"/"true" and "False"/"false" are true and false. Anything else is an
// error listing the supported values.
func (s *Settings) GetBool(name string) (bool, error) { return get(s, name, toBool) }

// GetInt returns a setting as an int with Python's int rules: null is 0, a
// bool is 0 or 1, a float is truncated toward zero, and a string must hold a
// base-10 integer (surrounding spaces and underscores between digits are
// allowed; "1.5" is an error).
func (s *Settings) GetInt(name string) (int, error) { return get(s, name, toInt) }

// GetFloat returns a setting as a float64 with Python's float rules: null is
// 0, a bool is 0 or 1, and a string must hold a decimal number ("inf" and
// "nan" included).
func (s *Settings) GetFloat(name string) (float64, error) { return get(s, name, toFloat) }

// GetList returns a setting as a list with Scrapy's rules: null and any
// empty or zero value give an empty list, a string is split on "," (without
// trimming), and a list is copied. A map or another value is an error.
func (s *Settings) GetList(name string) ([]any, error) { return get(s, name, toList) }

// GetDict returns a setting as a map with Scrapy's rules: null gives an
// empty map, a string is parsed as a JSON object (integers become int, other
// numbers float64), and a map is copied. Anything else is an error.
func (s *Settings) GetDict(name string) (map[string]any, error) { return get(s, name, toDict) }

// GetDuration returns a setting as a duration: a Go duration string ("1s",
// "200ms"), or a number of seconds as a number or a string ("1.5"). Null is 0.
func (s *Settings) GetDuration(name string) (time.Duration, error) {
	return get(s, name, toDuration)
}

// GetString returns a setting as a string: null is "", a bool or a number is
// formatted (true, 16, 0.5), and a list or a map is an error.
func (s *Settings) GetString(name string) (string, error) { return get(s, name, toString) }

// Component returns the registered name a component setting holds, trimmed
// of spaces. ok is false for null or "" (Scrapy's None: the component is
// turned off). A value that is not a string is an error.
func (s *Settings) Component(name string) (string, bool, error) {
	st, _ := s.Lookup(name)
	v, ok, err := componentName(st.Value)
	if err != nil {
		return "", false, &SettingError{Setting: st, Err: err}
	}
	return v, ok, nil
}

func componentName(v any) (string, bool, error) {
	switch v := v.(type) {
	case nil:
		return "", false, nil
	case string:
		v = strings.TrimSpace(v)
		return v, v != "", nil
	}
	return "", false, errWantName
}

// formatValue writes a value for an error message: strings quoted, null as
// null, lists and maps as JSON where possible, long values cut.
func formatValue(v any) string {
	var out string
	switch x := v.(type) {
	case nil:
		out = "null"
	case string:
		out = strconv.Quote(x)
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		out = fmt.Sprint(x)
	default:
		if b, err := json.Marshal(x); err == nil {
			out = string(b)
		} else {
			out = fmt.Sprintf("%v", x)
		}
	}
	const max = 120
	if len(out) > max {
		out = out[:max] + "..."
	}
	return out
}

func toBool(v any) (bool, error) {
	if v == nil {
		return false, nil
	}
	if b, ok := v.(bool); ok {
		return b, nil
	}
	if s, ok := v.(string); ok {
		if n, err := parsePyInt(s); err == nil {
			return n != 0, nil
		}
		switch s {
		case "True", "true":
			return true, nil
		case "False", "false":
			return false, nil
		}
		return false, errWantBool
	}
	n, err := toInt(v)
	if err != nil {
		return false, errWantBool
	}
	return n != 0, nil
}

func toInt(v any) (int, error) {
	if v == nil {
		return 0, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		if rv.Bool() {
			return 1, nil
		}
		return 0, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if u := rv.Uint(); u <= math.MaxInt {
			return int(u), nil
		}
		return 0, fmt.Errorf("%w: out of range", errWantInt)
	case reflect.Float32, reflect.Float64:
		f := math.Trunc(rv.Float())
		if math.IsNaN(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, fmt.Errorf("%w: out of range", errWantInt)
		}
		return int(f), nil
	case reflect.String:
		n, err := parsePyInt(rv.String())
		if err != nil {
			return 0, err
		}
		return n, nil
	}
	return 0, errWantInt
}

// parsePyInt parses s as Python's int(s) does for base 10: spaces around, an
// optional sign, digits with single underscores between them.
func parsePyInt(s string) (int, error) {
	digits, ok := pyDigits(strings.TrimSpace(s), false)
	if !ok {
		return 0, errWantInt
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: out of range", errWantInt)
	}
	return int(n), nil
}

// pyDigits checks Python's numeric literal shape (sign, digits, underscores
// only between digits; with frac also a point and an exponent) and returns s
// without its underscores.
func pyDigits(s string, frac bool) (string, bool) {
	if s == "" {
		return "", false
	}
	var b strings.Builder
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			b.WriteByte(c)
		case c == '_':
			if i == 0 || i == len(s)-1 || !isDigit(s[i-1]) || !isDigit(s[i+1]) {
				return "", false
			}
		case (c == '+' || c == '-') && (i == 0 || (frac && (s[i-1] == 'e' || s[i-1] == 'E'))):
			b.WriteByte(c)
		case frac && (c == '.' || c == 'e' || c == 'E'):
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), digits > 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func toFloat(v any) (float64, error) {
	if v == nil {
		return 0, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return parsePyFloat(rv.String())
	}
	n, err := toInt(v)
	if err != nil {
		return 0, errWantFloat
	}
	return float64(n), nil
}

// parsePyFloat parses s as Python's float(s) does: spaces around, a decimal
// number with an optional exponent and underscores between digits, or
// inf, infinity and nan in any case with an optional sign.
func parsePyFloat(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if len(s) > 0 && !strings.ContainsAny(s[1:], "+-") {
		sign := 1.0
		if s[0] == '-' {
			sign = -1
		}
		switch strings.ToLower(strings.TrimLeft(s, "+-")) {
		case "inf", "infinity":
			return math.Inf(int(sign)), nil
		case "nan":
			return math.NaN(), nil
		}
	}
	digits, ok := pyDigits(s, true)
	if !ok {
		return 0, errWantFloat
	}
	f, err := strconv.ParseFloat(digits, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return f, nil // Python gives inf, or 0 for an underflow
		}
		return 0, errWantFloat
	}
	return f, nil
}

func toList(v any) ([]any, error) {
	if !Truthy(v) {
		return []any{}, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		parts := strings.Split(rv.String(), ",")
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out, nil
	}
	return nil, errWantList
}

func toDict(v any) (map[string]any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return parseJSONObject(rv.String())
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := it.Key()
			if k.Kind() == reflect.String {
				out[k.String()] = it.Value().Interface()
			} else {
				out[fmt.Sprint(k.Interface())] = it.Value().Interface()
			}
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		if rv.Len() == 0 { // Python's dict([]) is {}
			return map[string]any{}, nil
		}
	}
	return nil, errWantDict
}

// parseJSONObject decodes s as one JSON object; integers become int (when
// they fit) and other numbers float64, as YAML gives them.
func parseJSONObject(s string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %w", errWantDict, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: text after the JSON value", errWantDict)
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the JSON value is not an object", errWantDict)
	}
	return fromJSONNumbers(m).(map[string]any), nil
}

func fromJSONNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return int(n)
		}
		f, _ := strconv.ParseFloat(x.String(), 64)
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = fromJSONNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = fromJSONNumbers(e)
		}
	}
	return v
}

func toDuration(v any) (time.Duration, error) {
	if v == nil {
		return 0, nil
	}
	if d, ok := v.(time.Duration); ok {
		return d, nil
	}
	rv := reflect.ValueOf(v)
	var secs float64
	switch rv.Kind() {
	case reflect.String:
		s := strings.TrimSpace(rv.String())
		if d, err := time.ParseDuration(s); err == nil {
			return d, nil
		}
		f, err := parsePyFloat(s)
		if err != nil {
			return 0, errWantDuration
		}
		secs = f
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		f, err := toFloat(v)
		if err != nil {
			return 0, errWantDuration
		}
		secs = f
	default:
		return 0, errWantDuration
	}
	ns := secs * float64(time.Second)
	if math.IsNaN(ns) || ns < math.MinInt64 || ns >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: out of range", errWantDuration)
	}
	return time.Duration(ns), nil
}

func toString(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case time.Duration:
		return x.String(), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'g', -1, 64), nil
	}
	return "", errWantString
}
