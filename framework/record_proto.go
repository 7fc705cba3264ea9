package framework

import (
	"fmt"
	"net/http"
	"slices"
	"unicode/utf8"

	recordpb "github.com/frontier-go/frontier/framework/recordpb/v1"
)

// RequestToProto returns r as a frontier.record.v1.Request message, for code
// that speaks the schema through the protobuf runtime, such as the plugin gRPC
// layer. It accepts and refuses what [EncodeRequest] does, with the same
// errors; proto.Marshal of the result with Deterministic set gives the bytes of
// EncodeRequest after its version byte.
func RequestToProto(r *Request, sp *Spider) (*recordpb.Request, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil request", ErrUnserializable)
	}
	if err := checkHandlers(r, sp); err != nil {
		return nil, err
	}
	if err := checkRequestStrings(r); err != nil {
		return nil, err
	}
	m := &recordpb.Request{
		Url:        r.URL,
		Method:     r.Method,
		Flags:      slices.Clone(r.Flags),
		Priority:   int64(r.Priority),
		DontFilter: r.DontFilter,
		Encoding:   r.Encoding,
		Callback:   r.Callback,
		Errback:    r.Errback,
	}
	if len(r.Body) > 0 {
		m.Body = slices.Clone(r.Body)
	}
	if len(r.Headers) > 0 {
		names := make([]string, 0, len(r.Headers))
		for name := range r.Headers {
			if !utf8.ValidString(name) {
				return nil, badHeaderName(name)
			}
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			h := &recordpb.Header{Name: name}
			for _, v := range r.Headers[name] {
				h.Values = append(h.Values, []byte(v))
			}
			m.Headers = append(m.Headers, h)
		}
	}
	for _, c := range r.Cookies {
		m.Cookies = append(m.Cookies, &recordpb.Cookie{Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path})
	}
	var verr *valueError
	if len(r.Meta) > 0 {
		if m.Meta, verr = protoValueMap(r.Meta, 1); verr != nil {
			return nil, verr.inField("meta")
		}
	}
	if len(r.CbKwargs) > 0 {
		if m.CbKwargs, verr = protoValueMap(r.CbKwargs, 1); verr != nil {
			return nil, verr.inField("cb_kwargs")
		}
	}
	return m, nil
}

func protoValueMap(m map[string]any, depth int) (map[string]*recordpb.Value, *valueError) {
	out := make(map[string]*recordpb.Value, len(m))
	for k, v := range m {
		if !utf8.ValidString(k) {
			return nil, &valueError{path: []string{keyPath(k)}, reason: "a key that is not valid UTF-8"}
		}
		pv, err := protoValue(v, depth)
		if err != nil {
			return nil, err.in(keyPath(k))
		}
		out[k] = pv
	}
	return out, nil
}

func protoValue(v any, depth int) (*recordpb.Value, *valueError) {
	switch t := v.(type) {
	case nil:
		return &recordpb.Value{Kind: &recordpb.Value_NullValue{}}, nil
	case bool:
		return &recordpb.Value{Kind: &recordpb.Value_BoolValue{BoolValue: t}}, nil
	case int:
		return &recordpb.Value{Kind: &recordpb.Value_IntValue{IntValue: int64(t)}}, nil
	case int64:
		return &recordpb.Value{Kind: &recordpb.Value_IntValue{IntValue: t}}, nil
	case float64:
		return &recordpb.Value{Kind: &recordpb.Value_FloatValue{FloatValue: t}}, nil
	case string:
		if !utf8.ValidString(t) {
			return nil, &valueError{reason: "a string that is not valid UTF-8"}
		}
		return &recordpb.Value{Kind: &recordpb.Value_StringValue{StringValue: t}}, nil
	case []byte:
		return &recordpb.Value{Kind: &recordpb.Value_BytesValue{BytesValue: slices.Clone(t)}}, nil
	case []any:
		if depth > maxValueDepth {
			return nil, errTooDeep()
		}
		l := &recordpb.List{Values: make([]*recordpb.Value, len(t))}
		for i, e := range t {
			pv, err := protoValue(e, depth+1)
			if err != nil {
				return nil, err.in(indexPath(i))
			}
			l.Values[i] = pv
		}
		return &recordpb.Value{Kind: &recordpb.Value_ListValue{ListValue: l}}, nil
	case map[string]any:
		if depth > maxValueDepth {
			return nil, errTooDeep()
		}
		entries, err := protoValueMap(t, depth+1)
		if err != nil {
			return nil, err
		}
		return &recordpb.Value{Kind: &recordpb.Value_MapValue{MapValue: &recordpb.Map{Entries: entries}}}, nil
	}
	c, err := plainValue(v)
	if err != nil {
		return nil, err
	}
	return protoValue(c, depth)
}

// RequestFromProto returns the request m describes, as [DecodeRequest] does for
// a record: meta and cb_kwargs values come back as the same Go types, and when
// sp is not nil a callback or errback name sp has not registered is an error
// wrapping [ErrUnknownCallback]. A nil m, or lists and maps nested more than
// DecodeRequest allows (m may have been built in memory and hold itself), is
// an error wrapping [ErrCorruptRecord].
func RequestFromProto(m *recordpb.Request, sp *Spider) (*Request, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil message", ErrCorruptRecord)
	}
	r := &Request{
		URL:        m.GetUrl(),
		Method:     m.GetMethod(),
		Flags:      slices.Clone(m.GetFlags()),
		DontFilter: m.GetDontFilter(),
		Encoding:   m.GetEncoding(),
		Callback:   m.GetCallback(),
		Errback:    m.GetErrback(),
	}
	p := m.GetPriority()
	if int64(int(p)) != p {
		return nil, fmt.Errorf("%w: priority %d does not fit in int", ErrCorruptRecord, p)
	}
	r.Priority = int(p)
	if len(m.GetBody()) > 0 {
		r.Body = slices.Clone(m.GetBody())
	}
	for _, h := range m.GetHeaders() {
		if r.Headers == nil {
			r.Headers = make(http.Header, len(m.GetHeaders()))
		}
		name := h.GetName()
		vals := r.Headers[name]
		for _, v := range h.GetValues() {
			vals = append(vals, string(v))
		}
		r.Headers[name] = vals
	}
	for _, c := range m.GetCookies() {
		r.Cookies = append(r.Cookies, Cookie{Name: c.GetName(), Value: c.GetValue(), Domain: c.GetDomain(), Path: c.GetPath()})
	}
	var err error
	if len(m.GetMeta()) > 0 {
		if r.Meta, err = fromProtoMap(m.GetMeta(), 1); err != nil {
			return nil, fmt.Errorf("%w: meta: %w", ErrCorruptRecord, err)
		}
	}
	if len(m.GetCbKwargs()) > 0 {
		if r.CbKwargs, err = fromProtoMap(m.GetCbKwargs(), 1); err != nil {
			return nil, fmt.Errorf("%w: cb_kwargs: %w", ErrCorruptRecord, err)
		}
	}
	if err := findHandlers(r, sp); err != nil {
		return nil, err
	}
	return r, nil
}

func fromProtoMap(m map[string]*recordpb.Value, depth int) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, pv := range m {
		v, err := fromProtoValue(pv, depth)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func fromProtoValue(pv *recordpb.Value, depth int) (any, error) {
	switch k := pv.GetKind().(type) {
	case *recordpb.Value_BoolValue:
		return k.BoolValue, nil
	case *recordpb.Value_IntValue:
		if int64(int(k.IntValue)) == k.IntValue {
			return int(k.IntValue), nil
		}
		return k.IntValue, nil
	case *recordpb.Value_FloatValue:
		return k.FloatValue, nil
	case *recordpb.Value_StringValue:
		return k.StringValue, nil
	case *recordpb.Value_BytesValue:
		return append([]byte{}, k.BytesValue...), nil
	case *recordpb.Value_ListValue:
		if depth > maxValueDepth {
			return nil, fmt.Errorf("lists or maps nested more than %d deep", maxValueDepth)
		}
		l := make([]any, 0, len(k.ListValue.GetValues()))
		for _, e := range k.ListValue.GetValues() {
			v, err := fromProtoValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case *recordpb.Value_MapValue:
		if depth > maxValueDepth {
			return nil, fmt.Errorf("lists or maps nested more than %d deep", maxValueDepth)
		}
		return fromProtoMap(k.MapValue.GetEntries(), depth+1)
	}
	return nil, nil // null, or no kind set
}
