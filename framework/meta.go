package framework

import (
	"math"
	"reflect"
	"strconv"
	"strings"
)

// MetaFloat converts a meta or setting value to a number, leniently, as
// Python's float: a number of any Go type (an int in memory, an int64 or a
// float64 after a job directory round trip), a bool, or a string holding a
// number. ok is false for anything else, and for NaN.
func MetaFloat(v any) (float64, bool) {
	switch t := v.(type) {
	case nil:
		return 0, false
	case float64:
		return t, !math.IsNaN(t)
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case bool:
		if t {
			return 1, true
		}
		return 0, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return f, err == nil && !math.IsNaN(f)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), !math.IsNaN(rv.Float())
	}
	return 0, false
}

// MetaInt converts like MetaFloat and truncates toward zero, as Python's
// int; ok is false outside int64's range.
func MetaInt(v any) (int, bool) {
	f, ok := MetaFloat(v)
	if !ok || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0, false
	}
	return int(f), true
}
