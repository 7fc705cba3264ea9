package framework

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	recordpb "github.com/frontier-go/frontier/framework/recordpb/v1"
)

var updateRecords = flag.Bool("update-records", false, "rewrite testdata/record golden files")

// methodsSpider is the spider of Scrapy's test_request_dict.py: named
// callbacks and errbacks, some of them aliases of others.
func methodsSpider() *Spider {
	sp := NewSpider("methods")
	parse := func(context.Context, *Response, Output) error { return nil }
	handle := func(context.Context, *Request, error, Output) error { return nil }
	sp.HandleCallback("parse", parse)
	sp.HandleCallback("parse_item", parse)
	sp.HandleCallback("parse_item_reference", parse)
	sp.HandleCallback("_MethodsSpider__parse_item_private", parse)
	sp.HandleCallback("delegated_callback", parse)
	sp.HandleErrback("handle_error", handle)
	sp.HandleErrback("handle_error_reference", handle)
	sp.HandleErrback("_MethodsSpider__handle_error_private", handle)
	return sp
}

// assertSerializesOK round-trips r through a record and through the protobuf
// types and checks that every attribute survives, as Scrapy's
// _assert_serializes_ok.
func assertSerializesOK(t *testing.T, r *Request, sp *Spider) {
	t.Helper()
	b, err := EncodeRequest(r, sp)
	if err != nil {
		t.Fatalf("EncodeRequest: %v", err)
	}
	if b[0] != RecordVersion {
		t.Fatalf("first byte %d, want version %d", b[0], RecordVersion)
	}
	got, err := DecodeRequest(b, sp)
	if err != nil {
		t.Fatalf("DecodeRequest: %v", err)
	}
	compareRequests(t, "record", got, r)

	m, err := RequestToProto(r, sp)
	if err != nil {
		t.Fatalf("RequestToProto: %v", err)
	}
	got, err = RequestFromProto(m, sp)
	if err != nil {
		t.Fatalf("RequestFromProto: %v", err)
	}
	compareRequests(t, "proto", got, r)
}

func compareRequests(t *testing.T, via string, got, want *Request) {
	t.Helper()
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"url", got.URL, want.URL},
		{"callback", got.Callback, want.Callback},
		{"errback", got.Errback, want.Errback},
		{"method", got.Method, want.Method},
		{"body", got.Body, want.Body},
		{"headers", got.Headers, want.Headers},
		{"cookies", got.Cookies, want.Cookies},
		{"meta", got.Meta, want.Meta},
		{"cb_kwargs", got.CbKwargs, want.CbKwargs},
		{"encoding", got.Encoding, want.Encoding},
		{"priority", got.Priority, want.Priority},
		{"dont_filter", got.DontFilter, want.DontFilter},
		{"flags", got.Flags, want.Flags},
	} {
		if !reflect.DeepEqual(f.got, f.want) {
			t.Errorf("via %s: %s = %#v, want %#v", via, f.name, f.got, f.want)
		}
	}
}

func allAttributesRequest() *Request {
	return &Request{
		URL:    "http://www.example.com",
		Method: "POST",
		Body:   []byte("some body"),
		Headers: http.Header{
			"Content-Encoding": {"text/html; charset=latin-1"},
			"Accept":           {"text/html", "application/xhtml+xml"},
		},
		Cookies:  []Cookie{{Name: "currency", Value: "руб"}},
		Encoding: "latin-1",
		Priority: 20,
		Meta:     map[string]any{"a": "b"},
		CbKwargs: map[string]any{"k": "v"},
		Flags:    []string{"testFlag"},
		Callback: "parse_item",
		Errback:  "handle_error",
	}
}

func TestRecordBasic(t *testing.T) {
	assertSerializesOK(t, MustRequest("http://www.example.com"), nil)
}

func TestRecordAllAttributes(t *testing.T) {
	assertSerializesOK(t, allAttributesRequest(), methodsSpider())
}

func TestRecordLatin1Body(t *testing.T) {
	r := MustRequest("http://www.example.com")
	r.Body = []byte("\xa3")
	assertSerializesOK(t, r, nil)
}

func TestRecordUTF8Body(t *testing.T) {
	r := MustRequest("http://www.example.com")
	r.Body = []byte("\xc2\xa3")
	assertSerializesOK(t, r, nil)
}

func TestRecordCallbackSerialization(t *testing.T) {
	sp := methodsSpider()
	for _, names := range [][2]string{
		{"parse_item", "handle_error"},
		{"parse_item_reference", "handle_error_reference"},
		{"_MethodsSpider__parse_item_private", "_MethodsSpider__handle_error_private"},
		{"delegated_callback", ""},
		{"", "handle_error"},
	} {
		t.Run(names[0]+"/"+names[1], func(t *testing.T) {
			r := MustRequest("http://www.example.com")
			r.Callback, r.Errback = names[0], names[1]
			assertSerializesOK(t, r, sp)
		})
	}
}

func TestRecordUnserializableCallback(t *testing.T) {
	sp := methodsSpider()
	sp.HandleCallback("replaced", nil) // Scrapy's test 3: spider.parse = None
	for _, tc := range []struct {
		name              string
		callback, errback string
		wantSub           string
	}{
		{"unknown callback", "lambda", "", `callback "lambda" is not a callback registered in: <Spider "methods">`},
		{"unknown errback", "parse", "handle_nothing", `errback "handle_nothing" is not an errback registered in: <Spider "methods">`},
		{"callback name used as errback", "", "parse_item", `errback "parse_item"`},
		{"handler replaced by nil", "replaced", "", `callback "replaced"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := MustRequest("http://www.example.com")
			r.Callback, r.Errback = tc.callback, tc.errback
			b, err := EncodeRequest(r, sp)
			if !errors.Is(err, ErrUnserializable) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("EncodeRequest = %q, %v; want an ErrUnserializable containing %q", b, err, tc.wantSub)
			}
			if _, err := RequestToProto(r, sp); !errors.Is(err, ErrUnserializable) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("RequestToProto: %v; want an ErrUnserializable containing %q", err, tc.wantSub)
			}
		})
	}
}

// TestRecordNoSpider: without a spider, handler names are data and are not
// checked on either side (the plugin wire has no spider).
func TestRecordNoSpider(t *testing.T) {
	r := MustRequest("http://www.example.com")
	r.Callback, r.Errback = "anything", "whatever"
	assertSerializesOK(t, r, nil)
}

func TestRecordCallbackNotAvailable(t *testing.T) {
	r := MustRequest("http://www.example.com")
	r.Callback = "delegated_callback"
	b, err := EncodeRequest(r, methodsSpider())
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeRequest(b, NewSpider("other"))
	const want = `callback method "delegated_callback" not found in: <Spider "other">`
	if !errors.Is(err, ErrUnknownCallback) || !strings.Contains(err.Error(), want) {
		t.Fatalf("DecodeRequest: %v; want an ErrUnknownCallback containing %q", err, want)
	}
	m, err := RequestToProto(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RequestFromProto(m, NewSpider("other")); !errors.Is(err, ErrUnknownCallback) {
		t.Fatalf("RequestFromProto: %v; want ErrUnknownCallback", err)
	}

	r.Callback, r.Errback = "", "handle_error"
	b, _ = EncodeRequest(r, nil)
	if _, err := DecodeRequest(b, NewSpider("other")); !errors.Is(err, ErrUnknownCallback) || !strings.Contains(err.Error(), `errback method "handle_error"`) {
		t.Fatalf("DecodeRequest of an unknown errback: %v", err)
	}
}

func TestRecordUnserializableMeta(t *testing.T) {
	type point struct{ X, Y int }
	n := 1
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for _, tc := range []struct {
		name    string
		meta    map[string]any
		kwargs  map[string]any
		wantSub string
	}{
		{"func", map[string]any{"f": func() {}}, nil, `meta["f"] holds a func()`},
		{"chan", map[string]any{"c": make(chan int)}, nil, `meta["c"] holds a chan int`},
		{"struct", map[string]any{"p": point{1, 2}}, nil, `meta["p"] holds a framework.point`},
		{"pointer", map[string]any{"p": &n}, nil, `meta["p"] holds a *int`},
		{"complex", map[string]any{"z": complex(1, 2)}, nil, `meta["z"] holds a complex128`},
		{"uint64 overflow", map[string]any{"u": uint64(math.MaxUint64)}, nil, `meta["u"] holds uint64 18446744073709551615, which does not fit in int64`},
		{"int-keyed map", map[string]any{"m": map[int]string{1: "a"}}, nil, `meta["m"] holds a map[int]string`},
		{"nested in list", map[string]any{"l": []any{1, "a", []any{func() {}}}}, nil, `meta["l"][2][0] holds a func()`},
		{"nested in map", map[string]any{"ok": 1, "m": map[string]any{"x": map[string]any{"y": make(chan bool)}}}, nil, `meta["m"]["x"]["y"] holds a chan bool`},
		{"in cb_kwargs", nil, map[string]any{"cb": func() {}}, `cb_kwargs["cb"] holds a func()`},
		{"invalid UTF-8 string", map[string]any{"s": "\xff"}, nil, `meta["s"] holds a string that is not valid UTF-8`},
		{"invalid UTF-8 key", map[string]any{"\xff": 1}, nil, `meta["\xff"] holds a key that is not valid UTF-8`},
		{"invalid UTF-8 in []string", map[string]any{"s": []string{"a", "\xfe"}}, nil, `meta["s"][1] holds a string that is not valid UTF-8`},
		{"value that holds itself", map[string]any{"c": cyclic}, nil, `nested more than 100 deep`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := MustRequest("http://www.example.com")
			r.Meta, r.CbKwargs = tc.meta, tc.kwargs
			prefix := []byte("prefix")
			b, err := AppendRequest(prefix, r, nil)
			if !errors.Is(err, ErrUnserializable) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("AppendRequest: %v; want an ErrUnserializable containing %q", err, tc.wantSub)
			}
			if string(b) != "prefix" {
				t.Errorf("AppendRequest returned %q on error, want the prefix unchanged", b)
			}
			if _, err := RequestToProto(r, nil); !errors.Is(err, ErrUnserializable) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("RequestToProto: %v; want an ErrUnserializable containing %q", err, tc.wantSub)
			}
		})
	}
}

func TestRecordUnserializableStrings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Request)
		wantSub string
	}{
		{"url", func(r *Request) { r.URL = "http://a/\xff" }, "url"},
		{"method", func(r *Request) { r.Method = "G\xffT" }, "method"},
		{"header name", func(r *Request) { r.Headers = http.Header{"X-\xff": {"v"}} }, "header name"},
		{"cookie", func(r *Request) { r.Cookies = []Cookie{{Name: "n", Value: "\xa3"}} }, "cookie"},
		{"flag", func(r *Request) { r.Flags = []string{"\xa3"} }, "flag"},
		{"encoding", func(r *Request) { r.Encoding = "\xa3" }, "encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := MustRequest("http://www.example.com")
			tc.edit(r)
			if _, err := EncodeRequest(r, nil); !errors.Is(err, ErrUnserializable) || !strings.Contains(err.Error(), tc.wantSub) {
				t.Fatalf("EncodeRequest: %v; want an ErrUnserializable naming %s", err, tc.wantSub)
			}
		})
	}
	// Header values are bytes: Latin-1 text is fine.
	r := MustRequest("http://www.example.com")
	r.Headers = http.Header{"X-Currency": {"\xa3"}}
	assertSerializesOK(t, r, nil)
}

// TestRecordPlainTypes: every kind of plain data is accepted and comes back as
// its canonical Go type.
func TestRecordPlainTypes(t *testing.T) {
	type myString string
	type myInt int16
	type myList []float32
	type myMap map[string]myInt
	for _, tc := range []struct {
		name    string
		in, out any
	}{
		{"nil", nil, nil},
		{"true", true, true},
		{"false", false, false},
		{"int", -7, -7},
		{"int max", math.MaxInt64, math.MaxInt64},
		{"int min", math.MinInt64, math.MinInt64},
		{"int8", int8(-8), -8},
		{"int16", int16(300), 300},
		{"int32", int32(-1 << 30), -1 << 30},
		{"int64", int64(1) << 62, 1 << 62},
		{"uint", uint(5), 5},
		{"uint8", uint8(255), 255},
		{"uint16", uint16(65535), 65535},
		{"uint32", uint32(math.MaxUint32), math.MaxUint32},
		{"uint64 max int64", uint64(math.MaxInt64), math.MaxInt64},
		{"float64", 2.5, 2.5},
		{"float32", float32(0.25), 0.25},
		{"+Inf", math.Inf(1), math.Inf(1)},
		{"string", "руб", "руб"},
		{"empty string", "", ""},
		{"bytes", []byte{0, 0xff}, []byte{0, 0xff}},
		{"nil bytes", []byte(nil), []byte{}},
		{"list", []any{1, "a", nil, []any{}}, []any{1, "a", nil, []any{}}},
		{"nil list", []any(nil), []any{}},
		{"map", map[string]any{"a": map[string]any{}, "b": []any{true}}, map[string]any{"a": map[string]any{}, "b": []any{true}}},
		{"strings", []string{"x", "y"}, []any{"x", "y"}},
		{"ints", []int{1, 2}, []any{1, 2}},
		{"string map", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"int map", map[string]int{"k": 3}, map[string]any{"k": 3}},
		{"array", [2]uint8{1, 2}, []any{1, 2}},
		{"named string", myString("s"), "s"},
		{"named int", myInt(9), 9},
		{"named list", myList{0.5}, []any{0.5}},
		{"named map", myMap{"k": 1}, map[string]any{"k": 1}},
		{"map of lists", map[string][]string{"k": {"v"}}, map[string]any{"k": []any{"v"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := MustRequest("http://www.example.com")
			r.Meta = map[string]any{"v": tc.in}
			r.CbKwargs = map[string]any{"v": tc.in}
			want := r.Clone()
			want.Meta = map[string]any{"v": tc.out}
			want.CbKwargs = map[string]any{"v": tc.out}

			b, err := EncodeRequest(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			compareRequests(t, "record", got, want)

			m, err := RequestToProto(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err = RequestFromProto(m, nil)
			if err != nil {
				t.Fatal(err)
			}
			compareRequests(t, "proto", got, want)
		})
	}
}

func TestRecordFloatBits(t *testing.T) {
	for _, f := range []float64{math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8_0000_dead_beef), math.SmallestNonzeroFloat64} {
		r := MustRequest("http://www.example.com")
		r.Meta = map[string]any{"f": f}
		b, err := EncodeRequest(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRequest(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := got.Meta["f"].(float64); !ok || math.Float64bits(g) != math.Float64bits(f) {
			t.Errorf("float %#x came back as %#v", math.Float64bits(f), got.Meta["f"])
		}
	}
}

func TestRecordNotWritten(t *testing.T) {
	r := MustRequest("http://www.example.com")
	r.Delivery, r.Redelivered = 42, true
	b, err := EncodeRequest(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRequest(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Delivery != 0 || got.Redelivered {
		t.Errorf("Delivery, Redelivered = %d, %t; the record must not carry queue state", got.Delivery, got.Redelivered)
	}
}

func TestAppendRequest(t *testing.T) {
	r := allAttributesRequest()
	one, err := EncodeRequest(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("head")
	buf, err = AppendRequest(buf, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf, err = AppendRequest(buf, MustRequest("http://b.example/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf, []byte("head")) || !bytes.Equal(buf[4:4+len(one)], one) {
		t.Fatalf("AppendRequest wrote %q, want head + %q + ...", buf, one)
	}
	if _, err := EncodeRequest(nil, nil); !errors.Is(err, ErrUnserializable) {
		t.Errorf("EncodeRequest(nil) = %v, want ErrUnserializable", err)
	}
}

func TestDecodeRequestVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
		sub  string
	}{
		{"empty", nil, ErrCorruptRecord, "empty record"},
		{"version 0", []byte{0, 0x0a, 1, 'x'}, ErrRecordVersion, "version 0, this build reads version 1"},
		{"version 2", []byte{2}, ErrRecordVersion, "version 2, this build reads version 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRequest(tc.in, nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.sub) {
				t.Fatalf("DecodeRequest(%q) = %v, %v; want %v containing %q", tc.in, r, err, tc.want, tc.sub)
			}
		})
	}
	// The version byte alone is an empty request.
	r, err := DecodeRequest([]byte{RecordVersion}, nil)
	if rec, ok := TakeRecord(r); !ok || rec != string([]byte{RecordVersion}) {
		t.Fatalf("TakeRecord after DecodeRequest = %q, %v", rec, ok)
	}
	if _, ok := TakeRecord(r); ok {
		t.Fatal("TakeRecord gave the record twice")
	}
	if err != nil || !reflect.DeepEqual(r, &Request{}) {
		t.Fatalf("DecodeRequest(version only) = %#v, %v", r, err)
	}
}

func TestDecodeRequestCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		sub  string
	}{
		{"truncated varint", []byte{1, 0x48, 0x80}, "at byte 2: varint"},
		{"overlong varint", append([]byte{1, 0x48}, bytes.Repeat([]byte{0xff}, 11)...), "at byte 2: varint"},
		{"length overruns", []byte{1, 0x0a, 5, 'a', 'b'}, "at byte 2: field 1: length 5 overruns the record (2 bytes left)"},
		{"field number 0", []byte{1, 0x02, 0}, "at byte 1: invalid field number 0"},
		{"url not UTF-8", []byte{1, 0x0a, 1, 0xff}, "at byte 3: field 1: string is not valid UTF-8"},
		{"url as varint", []byte{1, 0x08, 1}, "field 1 has wire type 0"},
		{"priority as bytes", []byte{1, 0x4a, 0}, "field 9 has wire type 2"},
		{"meta key not UTF-8", []byte{1, tagMeta, 3, tagEntryKey, 1, 0xc0}, "at byte 5: map key is not valid UTF-8"},
		{"meta value truncated", []byte{1, tagMeta, 4, tagEntryValue, 2, tagInt, 0x80}, "at byte 6: varint"},
		{"float truncated", []byte{1, tagMeta, 5, tagEntryValue, 3, tagFloat, 0, 0}, "at byte 6: field 4: unexpected EOF"},
		{"header name not UTF-8", []byte{1, tagHeaders, 3, tagHeaderName, 1, 0xff}, "at byte 5: field 1: string is not valid UTF-8"},
		{"unknown field truncated", []byte{1, 0x7a, 3, 'a'}, "field 15"},
		{"stray end group", []byte{1, 0x7c}, "field 15"},
		{"nested too deep", nestedLists(maxValueDepth + 1), "nested more than 100 deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRequest(tc.in, nil)
			if !errors.Is(err, ErrCorruptRecord) || !strings.Contains(err.Error(), tc.sub) {
				t.Fatalf("DecodeRequest(%x) = %v, %v; want ErrCorruptRecord containing %q", tc.in, r, err, tc.sub)
			}
		})
	}
	// The deepest nesting allowed decodes.
	if _, err := DecodeRequest(nestedLists(maxValueDepth), nil); err != nil {
		t.Fatalf("lists nested %d deep: %v", maxValueDepth, err)
	}
}

// nestedLists returns a record whose meta["x"] is n lists nested in each other.
func nestedLists(n int) []byte {
	v := []byte{} // an empty Value: null
	for range n {
		list := appendString(nil, tagListValues, v) // List{values: [v]}
		v = appendString(nil, tagList, list)        // Value{list_value: list}
	}
	entry := appendString(appendString(nil, tagEntryKey, "x"), tagEntryValue, v)
	return appendString([]byte{RecordVersion}, tagMeta, entry)
}

// TestDecodeRequestTruncated: every prefix of a record either decodes (it ends
// on a field boundary) or is an ErrCorruptRecord; none panics.
func TestDecodeRequestTruncated(t *testing.T) {
	r := allAttributesRequest()
	r.Meta = map[string]any{"nested": map[string]any{"l": []any{1, 2.5, "x", []byte("y"), nil, true}}}
	b, err := EncodeRequest(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The prefixes that end on a top-level field boundary.
	boundary := map[int]bool{1: true}
	for rest := b[1:]; len(rest) > 0; {
		_, _, n := protowire.ConsumeField(rest)
		if n < 0 {
			t.Fatalf("test record does not parse: %v", protowire.ParseError(n))
		}
		rest = rest[n:]
		boundary[len(b)-len(rest)] = true
	}
	for n := 1; n < len(b); n++ {
		_, err := DecodeRequest(b[:n], nil)
		switch {
		case boundary[n] && err != nil:
			t.Errorf("prefix of %d bytes ends on a field boundary: %v", n, err)
		case !boundary[n] && !errors.Is(err, ErrCorruptRecord):
			t.Errorf("prefix of %d bytes: %v, want ErrCorruptRecord", n, err)
		}
	}
}

// TestDecodeRequestProtobufRules: fields in any order, repeated scalars (last
// wins), repeated Values (merged), unknown fields (skipped), as protobuf reads
// them.
func TestDecodeRequestProtobufRules(t *testing.T) {
	var b []byte
	b = append(b, RecordVersion)
	b = appendString(b, 0x7a, "unknown field 15")
	b = append(b, tagPriority, 4) // 2
	b = appendString(b, tagURL, "http://first/")
	b = appendString(b, tagURL, "http://second/")
	list := func(vals ...[]byte) []byte {
		var l []byte
		for _, v := range vals {
			l = appendString(l, tagListValues, v)
		}
		return appendString(nil, tagList, l)
	}
	intValue := func(n byte) []byte { return []byte{tagInt, n} }
	// One entry whose Value field appears twice: the lists merge.
	entry := appendString(nil, tagEntryKey, "l")
	entry = appendString(entry, tagEntryValue, list(intValue(2)))
	entry = appendString(entry, tagEntryValue, list(intValue(4)))
	b = appendString(b, tagMeta, entry)
	// A later entry with the same key replaces the earlier one.
	b = appendString(b, tagMeta, appendString(appendString(nil, tagEntryKey, "k"), tagEntryValue, intValue(2)))
	b = appendString(b, tagMeta, appendString(appendString(nil, tagEntryKey, "k"), tagEntryValue, []byte{tagString, 1, 'z'}))
	// An entry without a value is null; a Value with two kinds keeps the last.
	b = appendString(b, tagMeta, appendString(nil, tagEntryKey, "none"))
	b = appendString(b, tagMeta, appendString(appendString(nil, tagEntryKey, "two"), tagEntryValue, []byte{tagBool, 1, tagInt, 6}))
	// Two Header messages with one name append their values.
	b = appendString(b, tagHeaders, appendString(appendString(nil, tagHeaderName, "A"), tagHeaderValues, "1"))
	b = appendString(b, tagHeaders, appendString(appendString(nil, tagHeaderName, "A"), tagHeaderValues, "2"))

	got, err := DecodeRequest(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{
		URL:      "http://second/",
		Priority: 2,
		Headers:  http.Header{"A": {"1", "2"}},
		Meta:     map[string]any{"l": []any{1, 2}, "k": "z", "none": nil, "two": 3},
	}
	compareRequests(t, "record", got, want)

	var m recordpb.Request
	if err := proto.Unmarshal(b[1:], &m); err != nil {
		t.Fatal(err)
	}
	fromProto, err := RequestFromProto(&m, nil)
	if err != nil {
		t.Fatal(err)
	}
	compareRequests(t, "protobuf runtime", fromProto, want)
}

// TestRecordGolden pins the version 1 format: records written by earlier
// builds must keep decoding to the same requests, and this build must keep
// writing the same bytes.
func TestRecordGolden(t *testing.T) {
	sp := methodsSpider()
	full := allAttributesRequest()
	full.DontFilter = true
	full.Priority = -3
	full.Meta = map[string]any{
		MetaDepth: 2, MetaDownloadSlot: "example.com", MetaIsStartRequest: true,
		"n": nil, "f": 1.5, "raw": []byte{0, 1}, "big": strings.Repeat("x", 200),
		"list": []any{int64(-1), "a", []any{}}, "map": map[string]any{"k": map[string]any{"z": false}},
	}
	for _, tc := range []struct {
		file string
		r    *Request
	}{
		{"v1-basic.bin", MustRequest("https://example.org/a?b=c")},
		{"v1-full.bin", full},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "record", tc.file)
			b, err := EncodeRequest(tc.r, sp)
			if err != nil {
				t.Fatal(err)
			}
			if *updateRecords {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update-records to create it)", err)
			}
			if !bytes.Equal(b, golden) {
				t.Errorf("encoding changed:\n got %x\nwant %x", b, golden)
			}
			got, err := DecodeRequest(golden, sp)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.r.Clone()
			if l, ok := want.Meta["list"].([]any); ok {
				l[0] = -1 // int64 comes back as int
			}
			compareRequests(t, "golden", got, want)
		})
	}
}
