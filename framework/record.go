package framework

import (
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// RecordVersion is the format version byte that starts every request record
// this build writes. DecodeRequest refuses any other version with an error
// wrapping [ErrRecordVersion].
//
// Version 1 is the version byte followed by a frontier.record.v1.Request
// message (framework/recordpb/v1/record.proto) in the protobuf binary
// encoding. frontier writes it deterministically: fields in number order, map
// entries and headers sorted by key, the same bytes as
// proto.MarshalOptions{Deterministic: true}. The record carries no length or
// checksum; the file or message that holds it frames it.
const RecordVersion byte = 1

// maxValueDepth bounds how deeply lists and maps may nest in meta and
// cb_kwargs, on both sides of the codec: deeper data is more likely a value
// that holds itself than a real request.
const maxValueDepth = 100

// Field tags of frontier.record.v1 (field number << 3 | wire type).
const (
	tagURL        = 1<<3 | 2
	tagMethod     = 2<<3 | 2
	tagHeaders    = 3<<3 | 2
	tagBody       = 4<<3 | 2
	tagCookies    = 5<<3 | 2
	tagMeta       = 6<<3 | 2
	tagCbKwargs   = 7<<3 | 2
	tagFlags      = 8<<3 | 2
	tagPriority   = 9<<3 | 0
	tagDontFilter = 10<<3 | 0
	tagEncoding   = 11<<3 | 2
	tagCallback   = 12<<3 | 2
	tagErrback    = 13<<3 | 2

	tagHeaderName   = 1<<3 | 2
	tagHeaderValues = 2<<3 | 2

	tagCookieName   = 1<<3 | 2
	tagCookieValue  = 2<<3 | 2
	tagCookieDomain = 3<<3 | 2
	tagCookiePath   = 4<<3 | 2

	tagEntryKey   = 1<<3 | 2 // map entries of meta, cb_kwargs and Map
	tagEntryValue = 2<<3 | 2

	tagNull   = 1<<3 | 0 // Value oneof
	tagBool   = 2<<3 | 0
	tagInt    = 3<<3 | 0
	tagFloat  = 4<<3 | 1
	tagString = 5<<3 | 2
	tagBytes  = 6<<3 | 2
	tagList   = 7<<3 | 2
	tagMap    = 8<<3 | 2

	tagListValues = 1<<3 | 2
	tagMapEntries = 1<<3 | 2
)

// EncodeRequest returns r as a record (see [RecordVersion]). Only r's data is
// written; Delivery and Redelivered belong to the queue that holds r.
//
// A request that cannot be written is an error wrapping [ErrUnserializable]: a
// meta or cb_kwargs value that is not plain data, a string that is not valid
// UTF-8, or, when sp is not nil, a callback or errback name sp has not
// registered. Plain data is nil, bool, integers that fit in int64, float32 and
// float64, string, []byte, and slices, arrays and string-keyed maps of plain
// data (named types included).
//
// EncodeRequest is safe for concurrent use as long as r is not changed meanwhile.
func EncodeRequest(r *Request, sp *Spider) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil request", ErrUnserializable)
	}
	n := 32 + len(r.URL) + len(r.Method) + len(r.Body) + len(r.Callback) + len(r.Errback) + len(r.Encoding) +
		32*(len(r.Headers)+len(r.Cookies)+len(r.Meta)+len(r.CbKwargs)+len(r.Flags))
	b, err := AppendRequest(make([]byte, 0, n), r, sp)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendRequest appends r's record to dst and returns the extended slice, as
// [EncodeRequest]. On error it returns dst unchanged in length (its spare
// capacity may have been written to).
func AppendRequest(dst []byte, r *Request, sp *Spider) ([]byte, error) {
	if r == nil {
		return dst, fmt.Errorf("%w: nil request", ErrUnserializable)
	}
	if err := checkHandlers(r, sp); err != nil {
		return dst, err
	}
	if err := checkRequestStrings(r); err != nil {
		return dst, err
	}
	start := len(dst)
	b := append(dst, RecordVersion)
	if r.URL != "" {
		b = appendString(b, tagURL, r.URL)
	}
	if r.Method != "" {
		b = appendString(b, tagMethod, r.Method)
	}
	if len(r.Headers) > 0 {
		var err error
		if b, err = appendHeaders(b, r.Headers); err != nil {
			return dst[:start], err
		}
	}
	if len(r.Body) > 0 {
		b = appendString(b, tagBody, r.Body)
	}
	for i := range r.Cookies {
		b = appendCookie(b, &r.Cookies[i])
	}
	var verr *valueError
	if len(r.Meta) > 0 {
		if b, verr = appendValueMap(b, tagMeta, r.Meta, 1); verr != nil {
			return dst[:start], verr.inField("meta")
		}
	}
	if len(r.CbKwargs) > 0 {
		if b, verr = appendValueMap(b, tagCbKwargs, r.CbKwargs, 1); verr != nil {
			return dst[:start], verr.inField("cb_kwargs")
		}
	}
	for _, f := range r.Flags {
		b = appendString(b, tagFlags, f)
	}
	if r.Priority != 0 {
		b = appendVarint(append(b, tagPriority), protowire.EncodeZigZag(int64(r.Priority)))
	}
	if r.DontFilter {
		b = append(b, tagDontFilter, 1)
	}
	if r.Encoding != "" {
		b = appendString(b, tagEncoding, r.Encoding)
	}
	if r.Callback != "" {
		b = appendString(b, tagCallback, r.Callback)
	}
	if r.Errback != "" {
		b = appendString(b, tagErrback, r.Errback)
	}
	return b, nil
}

// checkHandlers reports a callback or errback name sp has not registered,
// Scrapy's "is not an instance method" error. A handler registered as nil
// counts as missing.
func checkHandlers(r *Request, sp *Spider) error {
	if sp == nil {
		return nil
	}
	if r.Callback != "" {
		if fn, ok := sp.Callback(r.Callback); !ok || fn == nil {
			return fmt.Errorf("%w: callback %q is not a callback registered in: %s", ErrUnserializable, r.Callback, spiderRepr(sp))
		}
	}
	if r.Errback != "" {
		if fn, ok := sp.Errback(r.Errback); !ok || fn == nil {
			return fmt.Errorf("%w: errback %q is not an errback registered in: %s", ErrUnserializable, r.Errback, spiderRepr(sp))
		}
	}
	return nil
}

func spiderRepr(sp *Spider) string {
	return "<Spider " + strconv.Quote(sp.Name) + ">"
}

// checkRequestStrings reports a string field of r that the schema cannot hold
// (protobuf strings are UTF-8). Header values are bytes and need no check;
// header names and meta and cb_kwargs strings are checked as they are written.
func checkRequestStrings(r *Request) error {
	bad := func(field, s string) error {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrUnserializable, field, s)
	}
	for _, f := range [...]struct{ name, s string }{
		{"url", r.URL}, {"method", r.Method}, {"encoding", r.Encoding}, {"callback", r.Callback}, {"errback", r.Errback},
	} {
		if !utf8.ValidString(f.s) {
			return bad(f.name, f.s)
		}
	}
	for _, c := range r.Cookies {
		if !utf8.ValidString(c.Name) || !utf8.ValidString(c.Value) || !utf8.ValidString(c.Domain) || !utf8.ValidString(c.Path) {
			return bad("cookie", c.Name+"="+c.Value)
		}
	}
	for _, f := range r.Flags {
		if !utf8.ValidString(f) {
			return bad("flag", f)
		}
	}
	return nil
}

// appendVarint is protowire.AppendVarint with the one-byte case inlined.
func appendVarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

// appendString appends a length-delimited field.
func appendString[S string | []byte](b []byte, tag byte, s S) []byte {
	b = append(b, tag)
	if len(s) < 0x80 {
		b = append(b, byte(len(s)))
	} else {
		b = protowire.AppendVarint(b, uint64(len(s)))
	}
	return append(b, s...)
}

// endLen fills in the length of the field whose one-byte placeholder is at
// b[at], moving the payload when the length needs more than one byte.
func endLen(b []byte, at int) []byte {
	n := len(b) - at - 1
	if n < 0x80 {
		b[at] = byte(n)
		return b
	}
	k := protowire.SizeVarint(uint64(n))
	var pad [9]byte
	b = append(b, pad[:k-1]...)
	copy(b[at+k:], b[at+1:at+1+n])
	protowire.AppendVarint(b[:at], uint64(n))
	return b
}

func appendHeaders(b []byte, h http.Header) ([]byte, error) {
	var buf [8]entry[[]string]
	hs := sortedEntries(buf[:0], h)
	for _, e := range hs {
		if !utf8.ValidString(e.k) {
			return b, badHeaderName(e.k)
		}
		b = append(b, tagHeaders, 0)
		at := len(b) - 1
		if e.k != "" {
			b = appendString(b, tagHeaderName, e.k)
		}
		for _, v := range e.v {
			b = appendString(b, tagHeaderValues, v)
		}
		b = endLen(b, at)
	}
	return b, nil
}

func badHeaderName(name string) error {
	return fmt.Errorf("%w: header name %q is not valid UTF-8", ErrUnserializable, name)
}

// entry is a map entry, for writing maps sorted by key.
type entry[V any] struct {
	k string
	v V
}

// sortedEntries appends m's entries to dst, sorted by key.
func sortedEntries[V any, M ~map[string]V](dst []entry[V], m M) []entry[V] {
	for k, v := range m {
		dst = append(dst, entry[V]{k, v})
	}
	if len(dst) > 12 {
		slices.SortFunc(dst, func(a, b entry[V]) int { return strings.Compare(a.k, b.k) })
		return dst
	}
	for i := 1; i < len(dst); i++ { // insertion sort: few keys is the common case
		for j := i; j > 0 && dst[j].k < dst[j-1].k; j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst
}

func appendCookie(b []byte, c *Cookie) []byte {
	b = append(b, tagCookies, 0)
	at := len(b) - 1
	if c.Name != "" {
		b = appendString(b, tagCookieName, c.Name)
	}
	if c.Value != "" {
		b = appendString(b, tagCookieValue, c.Value)
	}
	if c.Domain != "" {
		b = appendString(b, tagCookieDomain, c.Domain)
	}
	if c.Path != "" {
		b = appendString(b, tagCookiePath, c.Path)
	}
	return endLen(b, at)
}

// appendValueMap appends m's entries as map fields with the given tag, sorted
// by key.
func appendValueMap(b []byte, tag byte, m map[string]any, depth int) ([]byte, *valueError) {
	if len(m) == 1 {
		for k, v := range m {
			return appendValueEntry(b, tag, k, v, depth)
		}
	}
	var buf [8]entry[any]
	var err *valueError
	for _, e := range sortedEntries(buf[:0], m) {
		if b, err = appendValueEntry(b, tag, e.k, e.v, depth); err != nil {
			return b, err
		}
	}
	return b, nil
}

func appendValueEntry(b []byte, tag byte, k string, v any, depth int) ([]byte, *valueError) {
	if !utf8.ValidString(k) {
		return b, &valueError{path: []string{keyPath(k)}, reason: "a key that is not valid UTF-8"}
	}
	b = append(b, tag, 0)
	at := len(b) - 1
	b = appendString(b, tagEntryKey, k)
	b = append(b, tagEntryValue, 0)
	vat := len(b) - 1
	b, err := appendValue(b, v, depth)
	if err != nil {
		return b, err.in(keyPath(k))
	}
	return endLen(endLen(b, vat), at), nil
}

// appendValue appends the fields of a frontier.record.v1.Value holding v.
func appendValue(b []byte, v any, depth int) ([]byte, *valueError) {
	switch t := v.(type) {
	case nil:
		return append(b, tagNull, 0), nil
	case bool:
		if t {
			return append(b, tagBool, 1), nil
		}
		return append(b, tagBool, 0), nil
	case int:
		return appendVarint(append(b, tagInt), protowire.EncodeZigZag(int64(t))), nil
	case int64:
		return appendVarint(append(b, tagInt), protowire.EncodeZigZag(t)), nil
	case int32:
		return appendVarint(append(b, tagInt), protowire.EncodeZigZag(int64(t))), nil
	case float64:
		return protowire.AppendFixed64(append(b, tagFloat), math.Float64bits(t)), nil
	case string:
		if !utf8.ValidString(t) {
			return b, &valueError{reason: "a string that is not valid UTF-8"}
		}
		return appendString(b, tagString, t), nil
	case []byte:
		return appendString(b, tagBytes, t), nil
	case []any:
		if depth > maxValueDepth {
			return b, errTooDeep()
		}
		b = append(b, tagList, 0)
		at := len(b) - 1
		for i, e := range t {
			b = append(b, tagListValues, 0)
			eat := len(b) - 1
			var err *valueError
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err.in(indexPath(i))
			}
			b = endLen(b, eat)
		}
		return endLen(b, at), nil
	case map[string]any:
		if depth > maxValueDepth {
			return b, errTooDeep()
		}
		b = append(b, tagMap, 0)
		at := len(b) - 1
		b, err := appendValueMap(b, tagMapEntries, t, depth+1)
		if err != nil {
			return b, err
		}
		return endLen(b, at), nil
	case []string:
		if depth > maxValueDepth {
			return b, errTooDeep()
		}
		b = append(b, tagList, 0)
		at := len(b) - 1
		for i, s := range t {
			if !utf8.ValidString(s) {
				return b, (&valueError{reason: "a string that is not valid UTF-8"}).in(indexPath(i))
			}
			b = append(b, tagListValues, 0)
			eat := len(b) - 1
			b = endLen(appendString(b, tagString, s), eat)
		}
		return endLen(b, at), nil
	}
	c, err := plainValue(v)
	if err != nil {
		return b, err
	}
	return appendValue(b, c, depth)
}

// plainValue returns v, which has no type the fast paths know, as one that
// they do (int64, float64, string, []byte, []any, map[string]any), or an
// error naming v's type when v is not plain data.
func plainValue(v any) (any, *valueError) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, &valueError{reason: fmt.Sprintf("%T %d, which does not fit in int64", v, u)}
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return rv.Bytes(), nil
		}
		return plainList(rv)
	case reflect.Array:
		return plainList(rv)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[it.Key().String()] = it.Value().Interface()
		}
		return out, nil
	}
	return nil, &valueError{reason: fmt.Sprintf("a %T, which is not plain data", v)}
}

func plainList(rv reflect.Value) ([]any, *valueError) {
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, nil
}

// valueError is a meta or cb_kwargs value that cannot be written, with the
// path to it inside the outermost value.
type valueError struct {
	path   []string // innermost first
	reason string
}

func (e *valueError) Error() string {
	var sb strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		sb.WriteString(e.path[i])
	}
	return sb.String() + " holds " + e.reason
}

// in returns e with one more path element, outside the ones it has.
func (e *valueError) in(elem string) *valueError {
	e.path = append(e.path, elem)
	return e
}

func keyPath(k string) string { return "[" + strconv.Quote(k) + "]" }

func indexPath(i int) string { return "[" + strconv.Itoa(i) + "]" }

func errTooDeep() *valueError {
	return &valueError{reason: fmt.Sprintf("lists or maps nested more than %d deep (a value that holds itself?)", maxValueDepth)}
}

// inField returns e as the error callers see, for a value in field (meta or cb_kwargs).
func (e *valueError) inField(field string) error {
	return fmt.Errorf("%w: %s%v (plain data is nil, bool, integers, floats, strings, []byte, and slices and string-keyed maps of them)",
		ErrUnserializable, field, e)
}
