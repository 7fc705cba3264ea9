package framework

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// getterCase is one value given to a getter; bad says the getter must fail.
type getterCase struct {
	value any
	want  any
	bad   bool
}

// checkGetter sets X to each value (from code) and checks what get returns.
// A failure must wrap ErrSetting, be a *SettingError and name the setting,
// the value and the source.
func checkGetter[T any](t *testing.T, get func(s *Settings, name string) (T, error), reason string, cases []getterCase) {
	t.Helper()
	src := Source{Kind: SourceCode, Name: "getter test"}
	for _, c := range cases {
		s := NewSettings()
		s.Set("X", c.value, src)
		got, err := get(s, "X")
		if c.bad {
			var se *SettingError
			switch {
			case err == nil:
				t.Errorf("%#v: got %#v, want an error", c.value, got)
			case !errors.Is(err, ErrSetting) || !errors.As(err, &se):
				t.Errorf("%#v: error %v is not a SettingError wrapping ErrSetting", c.value, err)
			case !strings.Contains(err.Error(), "X="+formatValue(c.value)+" (from code (getter test)): "+reason):
				t.Errorf("%#v: error %q does not name setting, value, source and %q", c.value, err, reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("%#v: %v", c.value, err)
			continue
		}
		if f, ok := any(got).(float64); ok && math.IsNaN(f) {
			if w, ok := c.want.(float64); !ok || !math.IsNaN(w) {
				t.Errorf("%#v: got NaN, want %#v", c.value, c.want)
			}
			continue
		}
		if !reflect.DeepEqual(any(got), c.want) {
			t.Errorf("%#v: got %#v, want %#v", c.value, got, c.want)
		}
	}
}

func TestGetBool(t *testing.T) {
	checkGetter(t, (*Settings).GetBool, "supported values for boolean settings are 0/1, True/False, '0'/'1', 'True'/'False' and 'true'/'false'", []getterCase{
		{value: nil, want: false},
		{value: true, want: true},
		{value: false, want: false},
		{value: 1, want: true},
		{value: 0, want: false},
		{value: 2, want: true}, // Python's bool(int(2))
		{value: -1, want: true},
		{value: uint8(1), want: true},
		{value: 0.5, want: false}, // int(0.5) == 0
		{value: 1.5, want: true},
		{value: "1", want: true},
		{value: "0", want: false},
		{value: " 1 ", want: true},
		{value: "+1", want: true},
		{value: "00", want: false},
		{value: "True", want: true},
		{value: "true", want: true},
		{value: "False", want: false},
		{value: "false", want: false},
		{value: "TRUE", bad: true},
		{value: "yes", bad: true},
		{value: "on", bad: true},
		{value: "off", bad: true},
		{value: "", bad: true},
		{value: "1.0", bad: true},
		{value: math.NaN(), bad: true},
		{value: []any{true}, bad: true},
		{value: map[string]any{}, bad: true},
	})
}

func TestGetInt(t *testing.T) {
	checkGetter(t, (*Settings).GetInt, "want an integer", []getterCase{
		{value: nil, want: 0},
		{value: 16, want: 16},
		{value: -3, want: -3},
		{value: int64(math.MaxInt64), want: math.MaxInt},
		{value: uint64(7), want: 7},
		{value: true, want: 1},
		{value: false, want: 0},
		{value: 2.9, want: 2}, // Python's int() truncates toward zero
		{value: -2.9, want: -2},
		{value: "123", want: 123},
		{value: " 123\n", want: 123},
		{value: "-5", want: -5},
		{value: "1_000", want: 1000},
		{value: "007", want: 7},
		{value: "", bad: true},
		{value: "1.5", bad: true},
		{value: "0x10", bad: true},
		{value: "1__0", bad: true},
		{value: "_1", bad: true},
		{value: "1_", bad: true},
		{value: "12abc", bad: true},
		{value: "99999999999999999999", bad: true},
		{value: uint64(math.MaxUint64), bad: true},
		{value: math.Inf(1), bad: true},
		{value: math.NaN(), bad: true},
		{value: []any{1}, bad: true},
		{value: map[string]any{"a": 1}, bad: true},
	})
}

func TestGetFloat(t *testing.T) {
	checkGetter(t, (*Settings).GetFloat, "want a number", []getterCase{
		{value: nil, want: 0.0},
		{value: 123.45, want: 123.45},
		{value: 3, want: 3.0},
		{value: true, want: 1.0},
		{value: "123.45", want: 123.45},
		{value: " 1e3 ", want: 1000.0},
		{value: "-.5", want: -0.5},
		{value: "1_000.5", want: 1000.5},
		{value: "7", want: 7.0},
		{value: "inf", want: math.Inf(1)},
		{value: "-Infinity", want: math.Inf(-1)},
		{value: "nan", want: math.NaN()},
		{value: "1e400", want: math.Inf(1)},
		{value: "", bad: true},
		{value: ".", bad: true},
		{value: "e5", bad: true},
		{value: "0x1p3", bad: true},
		{value: "1,5", bad: true},
		{value: "--1", bad: true},
		{value: "--inf", bad: true},
		{value: []any{1.0}, bad: true},
	})
}

func TestGetList(t *testing.T) {
	checkGetter(t, (*Settings).GetList, "want a list or a comma-separated string", []getterCase{
		{value: nil, want: []any{}},
		{value: "", want: []any{}},
		{value: []any{}, want: []any{}},
		{value: 0, want: []any{}}, // Python: "not value"
		{value: false, want: []any{}},
		{value: map[string]any{}, want: []any{}},
		{value: "one,two", want: []any{"one", "two"}},
		{value: "one, two", want: []any{"one", " two"}}, // not trimmed, as Scrapy
		{value: "one", want: []any{"one"}},
		{value: "a.b.c,d.e", want: []any{"a.b.c", "d.e"}},
		{value: []any{"one", "two"}, want: []any{"one", "two"}},
		{value: []string{"x", "y"}, want: []any{"x", "y"}},
		{value: []any{map[string]any{"command": "p"}}, want: []any{map[string]any{"command": "p"}}},
		{value: 5, bad: true},
		{value: true, bad: true},
		{value: map[string]any{"a": 1}, bad: true},
	})
}

func TestGetDict(t *testing.T) {
	checkGetter(t, (*Settings).GetDict, "want a map or a JSON object", []getterCase{
		{value: nil, want: map[string]any{}},
		{value: map[string]any{}, want: map[string]any{}},
		{value: []any{}, want: map[string]any{}},
		{value: map[string]any{"key1": "val1", "ke2": 3}, want: map[string]any{"key1": "val1", "ke2": 3}},
		{value: map[string]int{"a": 1}, want: map[string]any{"a": 1}},
		{value: `{"key1": "val1", "ke2": 3}`, want: map[string]any{"key1": "val1", "ke2": 3}},
		{value: `{"a.b": {"delay": 0.5, "n": [1, 2.5]}}`,
			want: map[string]any{"a.b": map[string]any{"delay": 0.5, "n": []any{1, 2.5}}}},
		{value: " {} ", want: map[string]any{}},
		{value: "", bad: true},
		{value: "[1]", bad: true},
		{value: `{"a": 1} x`, bad: true},
		{value: `{"a": 1`, bad: true},
		{value: "one,two", bad: true},
		{value: []any{"one", "two"}, bad: true}, // Scrapy: "dictionary update sequence element"
		{value: 3, bad: true},
		{value: true, bad: true},
	})
}

func TestGetDuration(t *testing.T) {
	checkGetter(t, (*Settings).GetDuration, "want a Go duration such as 1s or 200ms, or a number of seconds", []getterCase{
		{value: nil, want: time.Duration(0)},
		{value: "1s", want: time.Second},
		{value: "200ms", want: 200 * time.Millisecond},
		{value: " 1m30s ", want: 90 * time.Second},
		{value: "0", want: time.Duration(0)},
		{value: "1.5", want: 1500 * time.Millisecond},
		{value: "2", want: 2 * time.Second},
		{value: 2, want: 2 * time.Second},
		{value: 0.25, want: 250 * time.Millisecond},
		{value: time.Minute, want: time.Minute},
		{value: "", bad: true},
		{value: "1 s", bad: true},
		{value: "soon", bad: true},
		{value: true, bad: true},
		{value: "1e300", bad: true},
		{value: math.NaN(), bad: true},
		{value: []any{"1s"}, bad: true},
	})
}

func TestGetString(t *testing.T) {
	checkGetter(t, (*Settings).GetString, "want a string", []getterCase{
		{value: nil, want: ""},
		{value: "", want: ""},
		{value: "DEBUG", want: "DEBUG"},
		{value: "scrapy.squeues.FifoMemoryQueue", want: "scrapy.squeues.FifoMemoryQueue"},
		{value: 2024, want: "2024"},
		{value: 0.5, want: "0.5"},
		{value: true, want: "true"},
		{value: 1500 * time.Millisecond, want: "1.5s"},
		{value: []any{"a"}, bad: true},
		{value: map[string]any{"a": "b"}, bad: true},
	})
}

// TestGettersScrapyTestGet ports Scrapy's tests/test_settings
// BaseSettingsTest.test_get: the values come from a YAML file (YAML types)
// and from strings, as the environment and -s give them.
func TestGettersScrapyTestGet(t *testing.T) {
	file := writeFile(t, `TEST_ENABLED1: '1'
TEST_ENABLED2: true
TEST_ENABLED3: 1
TEST_ENABLED4: 'True'
TEST_ENABLED5: 'true'
TEST_ENABLED_WRONG: 'on'
TEST_DISABLED1: '0'
TEST_DISABLED2: false
TEST_DISABLED3: 0
TEST_DISABLED4: 'False'
TEST_DISABLED5: 'false'
TEST_DISABLED_WRONG: 'off'
TEST_INT1: 123
TEST_FLOAT1: 123.45
TEST_LIST1: [one, two]
TEST_LIST3: ''
TEST_STR: value
TEST_DICT1: {key1: val1, ke2: 3}
`)
	s, err := LoadSettings(LoadOptions{
		File:      file,
		Environ:   []string{"FRONTIER_TEST_INT2=123", "FRONTIER_TEST_FLOAT2=123.45"},
		Overrides: []string{"TEST_LIST2=one,two", `TEST_DICT2={"key1": "val1", "ke2": 3}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"TEST_ENABLED1", "TEST_ENABLED2", "TEST_ENABLED3", "TEST_ENABLED4", "TEST_ENABLED5"} {
		if b, err := s.GetBool(name); !b || err != nil {
			t.Errorf("GetBool(%s) = %v, %v", name, b, err)
		}
	}
	for _, name := range []string{"TEST_DISABLED1", "TEST_DISABLED2", "TEST_DISABLED3", "TEST_DISABLED4",
		"TEST_DISABLED5", "TEST_ENABLEDx"} {
		if b, err := s.GetBool(name); b || err != nil {
			t.Errorf("GetBool(%s) = %v, %v", name, b, err)
		}
	}
	for _, name := range []string{"TEST_ENABLED_WRONG", "TEST_DISABLED_WRONG"} {
		_, err := s.GetBool(name)
		if err == nil || !strings.Contains(err.Error(), "supported values for boolean settings are") {
			t.Errorf("GetBool(%s) error = %v", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), file) {
			t.Errorf("GetBool(%s) error %q does not name the file", name, err)
		}
	}
	ints := map[string]int{"TEST_INT1": 123, "TEST_INT2": 123, "TEST_INTx": 0}
	for name, want := range ints {
		if n, err := s.GetInt(name); n != want || err != nil {
			t.Errorf("GetInt(%s) = %v, %v", name, n, err)
		}
	}
	floats := map[string]float64{"TEST_FLOAT1": 123.45, "TEST_FLOAT2": 123.45, "TEST_FLOATx": 0}
	for name, want := range floats {
		if f, err := s.GetFloat(name); f != want || err != nil {
			t.Errorf("GetFloat(%s) = %v, %v", name, f, err)
		}
	}
	lists := map[string][]any{"TEST_LIST1": {"one", "two"}, "TEST_LIST2": {"one", "two"}, "TEST_LIST3": {}, "TEST_LISTx": {}}
	for name, want := range lists {
		if l, err := s.GetList(name); !reflect.DeepEqual(l, want) || err != nil {
			t.Errorf("GetList(%s) = %#v, %v", name, l, err)
		}
	}
	if v, err := s.GetString("TEST_STR"); v != "value" || err != nil {
		t.Errorf("GetString(TEST_STR) = %q, %v", v, err)
	}
	if v, err := s.GetString("TEST_STRx"); v != "" || err != nil {
		t.Errorf("GetString(TEST_STRx) = %q, %v", v, err)
	}
	dict := map[string]any{"key1": "val1", "ke2": 3}
	for _, name := range []string{"TEST_DICT1", "TEST_DICT2"} {
		if d, err := s.GetDict(name); !reflect.DeepEqual(d, dict) || err != nil {
			t.Errorf("GetDict(%s) = %#v, %v", name, d, err)
		}
	}
	if d, err := s.GetDict("TEST_DICT3"); len(d) != 0 || err != nil {
		t.Errorf("GetDict(TEST_DICT3) = %#v, %v", d, err)
	}
	if _, err := s.GetDict("TEST_LIST1"); err == nil {
		t.Error("GetDict(TEST_LIST1) succeeded")
	}
}

// TestGetterErrorSources checks that a conversion error names the layer the
// bad value came from.
func TestGetterErrorSources(t *testing.T) {
	file := writeFile(t, "# depth\nDEPTH_LIMIT: [1, 2]\n")
	tests := []struct {
		name string
		opts LoadOptions
		want string
	}{
		{"file", LoadOptions{File: file}, `DEPTH_LIMIT=[1,2] (from ` + file + `:2): want an integer`},
		{"env", LoadOptions{Environ: []string{"FRONTIER_DEPTH_LIMIT=deep"}},
			`DEPTH_LIMIT="deep" (from environment variable FRONTIER_DEPTH_LIMIT): want an integer`},
		{"-s", LoadOptions{Overrides: []string{"DEPTH_LIMIT=1.5"}},
			`DEPTH_LIMIT="1.5" (from -s DEPTH_LIMIT=1.5 on the command line): want an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSettings(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.GetInt("DEPTH_LIMIT")
			if err == nil || err.Error() != "framework: bad setting: "+tt.want {
				t.Errorf("error = %v\nwant framework: bad setting: %s", err, tt.want)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		v    any
		want string
	}{
		{nil, "null"},
		{"a\"b", `"a\"b"`},
		{3, "3"},
		{false, "false"},
		{[]any{1, "a"}, `[1,"a"]`},
		{map[string]any{"k": nil}, `{"k":null}`},
		{long, `"` + long[:119] + "..."},
		{func() {}, ""}, // only checked not to panic
	}
	for _, tt := range tests {
		got := formatValue(tt.v)
		if tt.want != "" && got != tt.want {
			t.Errorf("formatValue(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
