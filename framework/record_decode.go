package framework

import (
	"fmt"
	"math"
	"net/http"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// DecodeRequest reads a record written by [EncodeRequest] or by any encoder of
// frontier.record.v1: fields in any order, unknown fields skipped, repeated
// fields merged as protobuf does. Unlike the protobuf runtime, which keeps a
// known field of the wrong wire type as an unknown field, DecodeRequest
// reports it as corrupt.
//
// Bytes that are not a record give an error wrapping [ErrCorruptRecord] with
// the offset of the fault; a record of another format version gives one
// wrapping [ErrRecordVersion]. When sp is not nil, a callback or errback name
// sp has not registered gives an error wrapping [ErrUnknownCallback]. Decoding
// only builds data: it never runs code and never panics.
//
// Meta and cb_kwargs values come back as nil, bool, int (int64 where int is
// narrower), float64, string, []byte, []any and map[string]any, whatever plain
// Go type they were written from. Strings in the request share no memory with
// b, which the caller may reuse.
func DecodeRequest(b []byte, sp *Spider) (*Request, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty record", ErrCorruptRecord)
	}
	if b[0] != RecordVersion {
		return nil, fmt.Errorf("%w: record format version %d, this build reads version %d (written by a newer frontier?)",
			ErrRecordVersion, b[0], RecordVersion)
	}
	var r *Request
	d := decoder{b: b[1:], base: 1}
	if len(b) <= sharedStringMax {
		r, d.rec = newRequestWithRecord(b)
	} else {
		r = new(Request)
	}
	if err := d.request(r); err != nil {
		return nil, err
	}
	if err := findHandlers(r, sp); err != nil {
		return nil, err
	}
	r.record = d.rec
	return r, nil
}

// TakeRecord returns the record DecodeRequest read r from, and forgets it:
// a scheduler that journals a request it just popped from a disk queue uses
// it instead of encoding the request again. ok is false when there is none
// (r was not decoded, its record was larger than a few hundred bytes, or it
// was taken already). The record does not follow changes made to r after
// decoding: only the holder of a freshly decoded request may use it.
func TakeRecord(r *Request) (rec string, ok bool) {
	rec, r.record = r.record, ""
	return rec, rec != ""
}

// findHandlers reports a callback or errback name sp has not registered.
func findHandlers(r *Request, sp *Spider) error {
	if sp == nil {
		return nil
	}
	if r.Callback != "" {
		if fn, ok := sp.Callback(r.Callback); !ok || fn == nil {
			return fmt.Errorf("%w: callback method %q not found in: %s", ErrUnknownCallback, r.Callback, spiderRepr(sp))
		}
	}
	if r.Errback != "" {
		if fn, ok := sp.Errback(r.Errback); !ok || fn == nil {
			return fmt.Errorf("%w: errback method %q not found in: %s", ErrUnknownCallback, r.Errback, spiderRepr(sp))
		}
	}
	return nil
}

// newRequestWithRecord returns a new Request and a copy of rec as a string,
// in one allocation when rec is short (the common case: a URL and a few
// fields), two when it is not. The string is written once, here, and never
// changed; it keeps the whole allocation alive, the size of a Request and a
// record.
func newRequestWithRecord(rec []byte) (*Request, string) {
	switch n := len(rec); {
	case n <= 64:
		x := new(struct {
			r   Request
			rec [64]byte
		})
		copy(x.rec[:], rec)
		return &x.r, unsafe.String(&x.rec[0], n)
	case n <= 128:
		x := new(struct {
			r   Request
			rec [128]byte
		})
		copy(x.rec[:], rec)
		return &x.r, unsafe.String(&x.rec[0], n)
	case n <= 256:
		x := new(struct {
			r   Request
			rec [256]byte
		})
		copy(x.rec[:], rec)
		return &x.r, unsafe.String(&x.rec[0], n)
	}
	return new(Request), string(rec)
}

// sharedStringMax is the size up to which a record is copied into one string
// that the decoded strings share, to allocate once instead of once per
// string. Larger records, which hold a body or large meta values, allocate
// their strings one by one, so that a short string kept alive does not keep a
// large record alive.
const sharedStringMax = 512

// decoder reads the fields of one message, b, found at offset base of the
// record (for error messages and for rec).
type decoder struct {
	b    []byte
	i    int
	base int
	rec  string // the whole record, when it is short enough to share
}

// string returns p, found at offset at of d.b, as a string.
func (d *decoder) string(p []byte, at int) string {
	if d.rec != "" {
		start := d.base + at
		return d.rec[start : start+len(p)]
	}
	return string(p)
}

func (d *decoder) corrupt(at int, format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrCorruptRecord, d.base+at, fmt.Sprintf(format, args...))
}

func (d *decoder) more() bool { return d.i < len(d.b) }

// varint reads a varint.
func (d *decoder) varint() (uint64, error) {
	if d.i < len(d.b) && d.b[d.i] < 0x80 {
		v := d.b[d.i]
		d.i++
		return uint64(v), nil
	}
	v, n := protowire.ConsumeVarint(d.b[d.i:])
	if n < 0 {
		return 0, d.corrupt(d.i, "varint: %v", protowire.ParseError(n))
	}
	d.i += n
	return v, nil
}

// tag reads a field's tag.
func (d *decoder) tag() (protowire.Number, protowire.Type, error) {
	at := d.i
	v, err := d.varint()
	if err != nil {
		return 0, 0, err
	}
	num, typ := protowire.DecodeTag(v)
	if num < protowire.MinValidNumber || num > protowire.MaxValidNumber {
		return 0, 0, d.corrupt(at, "invalid field number %d", num)
	}
	return num, typ, nil
}

// bytes reads a length-delimited payload, after checking that the field has
// that wire type. It returns the payload's offset in d.b too.
func (d *decoder) bytes(num protowire.Number, typ protowire.Type) ([]byte, int, error) {
	if typ != protowire.BytesType {
		return nil, 0, d.wrongType(num, typ)
	}
	at := d.i
	n, err := d.varint()
	if err != nil {
		return nil, 0, err
	}
	if n > uint64(len(d.b)-d.i) {
		return nil, 0, d.corrupt(at, "field %d: length %d overruns the record (%d bytes left)", num, n, len(d.b)-d.i)
	}
	p := d.b[d.i : d.i+int(n) : d.i+int(n)]
	start := d.i
	d.i += int(n)
	return p, start, nil
}

// str reads a string field, which must be UTF-8 as protobuf requires.
func (d *decoder) str(num protowire.Number, typ protowire.Type) (string, error) {
	p, at, err := d.bytes(num, typ)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(p) {
		return "", d.corrupt(at, "field %d: string is not valid UTF-8", num)
	}
	return d.string(p, at), nil
}

// sub returns a decoder for a nested message found at offset at of d.b.
func (d *decoder) sub(p []byte, at int) decoder {
	return decoder{b: p, base: d.base + at, rec: d.rec}
}

// vint reads a varint field.
func (d *decoder) vint(num protowire.Number, typ protowire.Type) (uint64, error) {
	if typ != protowire.VarintType {
		return 0, d.wrongType(num, typ)
	}
	return d.varint()
}

func (d *decoder) wrongType(num protowire.Number, typ protowire.Type) error {
	return d.corrupt(d.i, "field %d has wire type %d, which the schema does not give it", num, typ)
}

// skip steps over the value of a field this version does not know.
func (d *decoder) skip(num protowire.Number, typ protowire.Type) error {
	n := protowire.ConsumeFieldValue(num, typ, d.b[d.i:])
	if n < 0 {
		return d.corrupt(d.i, "field %d: %v", num, protowire.ParseError(n))
	}
	d.i += n
	return nil
}

// request reads the fields of a Request message into r.
func (d *decoder) request(r *Request) error {
	for d.more() {
		num, typ, err := d.tag()
		if err != nil {
			return err
		}
		switch num {
		case 1:
			r.URL, err = d.str(num, typ)
		case 2:
			var p []byte
			var at int
			if p, at, err = d.bytes(num, typ); err == nil {
				r.Method, err = d.method(p, at)
			}
		case 3:
			var p []byte
			var at int
			if p, at, err = d.bytes(num, typ); err == nil {
				if r.Headers == nil {
					r.Headers = make(http.Header, 4)
				}
				s := d.sub(p, at)
				err = s.header(r.Headers)
			}
		case 4:
			var p []byte
			if p, _, err = d.bytes(num, typ); err == nil {
				r.Body = nil
				if len(p) > 0 {
					r.Body = append([]byte(nil), p...)
				}
			}
		case 5:
			var p []byte
			var at int
			if p, at, err = d.bytes(num, typ); err == nil {
				var c Cookie
				s := d.sub(p, at)
				if err = s.cookie(&c); err == nil {
					r.Cookies = append(r.Cookies, c)
				}
			}
		case 6:
			if r.Meta == nil {
				r.Meta = make(map[string]any, 2)
			}
			err = d.entry(num, typ, r.Meta, 1)
		case 7:
			if r.CbKwargs == nil {
				r.CbKwargs = make(map[string]any, 2)
			}
			err = d.entry(num, typ, r.CbKwargs, 1)
		case 8:
			var f string
			if f, err = d.str(num, typ); err == nil {
				r.Flags = append(r.Flags, f)
			}
		case 9:
			var v uint64
			at := d.i
			if v, err = d.vint(num, typ); err == nil {
				p := protowire.DecodeZigZag(v)
				if int64(int(p)) != p {
					err = d.corrupt(at, "priority %d does not fit in int", p)
				}
				r.Priority = int(p)
			}
		case 10:
			var v uint64
			if v, err = d.vint(num, typ); err == nil {
				r.DontFilter = v != 0
			}
		case 11:
			r.Encoding, err = d.str(num, typ)
		case 12:
			r.Callback, err = d.str(num, typ)
		case 13:
			r.Errback, err = d.str(num, typ)
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// method returns the method in p without allocating for the common ones.
func (d *decoder) method(p []byte, at int) (string, error) {
	switch string(p) {
	case "GET":
		return "GET", nil
	case "POST":
		return "POST", nil
	case "HEAD":
		return "HEAD", nil
	case "PUT":
		return "PUT", nil
	case "DELETE":
		return "DELETE", nil
	case "PATCH":
		return "PATCH", nil
	case "OPTIONS":
		return "OPTIONS", nil
	}
	if !utf8.Valid(p) {
		return "", d.corrupt(at, "field 2: string is not valid UTF-8")
	}
	return d.string(p, at), nil
}

// header reads a Header message into h, appending to values already there.
func (d *decoder) header(h http.Header) error {
	var name string
	var values []string
	for d.more() {
		num, typ, err := d.tag()
		if err != nil {
			return err
		}
		switch num {
		case 1:
			name, err = d.str(num, typ)
		case 2:
			var p []byte
			var at int
			if p, at, err = d.bytes(num, typ); err == nil {
				values = append(values, d.string(p, at))
			}
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return err
		}
	}
	h[name] = append(h[name], values...)
	return nil
}

// cookie reads a Cookie message into c.
func (d *decoder) cookie(c *Cookie) error {
	for d.more() {
		num, typ, err := d.tag()
		if err != nil {
			return err
		}
		switch num {
		case 1:
			c.Name, err = d.str(num, typ)
		case 2:
			c.Value, err = d.str(num, typ)
		case 3:
			c.Domain, err = d.str(num, typ)
		case 4:
			c.Path, err = d.str(num, typ)
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// entry reads one map entry field (key 1, value 2) into m. A later entry with
// the same key replaces an earlier one, as protobuf maps do.
func (d *decoder) entry(num protowire.Number, typ protowire.Type, m map[string]any, depth int) error {
	p, at, err := d.bytes(num, typ)
	if err != nil {
		return err
	}
	s := d.sub(p, at)
	var key string
	var val any
	for s.more() {
		num, typ, err := s.tag()
		if err != nil {
			return err
		}
		switch num {
		case 1:
			var kp []byte
			var kat int
			if kp, kat, err = s.bytes(num, typ); err == nil {
				key, err = s.key(kp, kat)
			}
		case 2:
			var vp []byte
			var vat int
			if vp, vat, err = s.bytes(num, typ); err == nil {
				v := s.sub(vp, vat)
				val, err = v.value(val, depth)
			}
		default:
			err = s.skip(num, typ)
		}
		if err != nil {
			return err
		}
	}
	m[key] = val
	return nil
}

// key returns the map key in p, without allocating for the meta keys frontier
// and Scrapy use most.
func (d *decoder) key(p []byte, at int) (string, error) {
	switch string(p) {
	case MetaDepth:
		return MetaDepth, nil
	case MetaDownloadSlot:
		return MetaDownloadSlot, nil
	case MetaIsStartRequest:
		return MetaIsStartRequest, nil
	case MetaVerbatimURL:
		return MetaVerbatimURL, nil
	case "download_timeout":
		return "download_timeout", nil
	case "dont_redirect":
		return "dont_redirect", nil
	case "dont_retry":
		return "dont_retry", nil
	case "retry_times":
		return "retry_times", nil
	case "proxy":
		return "proxy", nil
	case "cookiejar":
		return "cookiejar", nil
	}
	if !utf8.Valid(p) {
		return "", d.corrupt(at, "map key is not valid UTF-8")
	}
	return d.string(p, at), nil
}

// value reads a Value message. cur is the value read so far for the same
// field: protobuf merges a repeated message field, so a second list_value or
// map_value extends the first, while other kinds replace it.
func (d *decoder) value(cur any, depth int) (any, error) {
	v := cur
	for d.more() {
		num, typ, err := d.tag()
		if err != nil {
			return nil, err
		}
		switch num {
		case 1:
			if _, err = d.vint(num, typ); err == nil {
				v = nil
			}
		case 2:
			var u uint64
			if u, err = d.vint(num, typ); err == nil {
				v = u != 0
			}
		case 3:
			var u uint64
			if u, err = d.vint(num, typ); err == nil {
				n := protowire.DecodeZigZag(u)
				if int64(int(n)) == n {
					v = int(n)
				} else {
					v = n
				}
			}
		case 4:
			if typ != protowire.Fixed64Type {
				return nil, d.wrongType(num, typ)
			}
			u, n := protowire.ConsumeFixed64(d.b[d.i:])
			if n < 0 {
				return nil, d.corrupt(d.i, "field 4: %v", protowire.ParseError(n))
			}
			d.i += n
			v = math.Float64frombits(u)
		case 5:
			v, err = d.str(num, typ)
		case 6:
			var p []byte
			if p, _, err = d.bytes(num, typ); err == nil {
				v = append([]byte{}, p...)
			}
		case 7:
			var p []byte
			var at int
			if p, at, err = d.bytes(num, typ); err == nil {
				if depth > maxValueDepth {
					return nil, d.corrupt(at, "lists or maps nested more than %d deep", maxValueDepth)
				}
				l, _ := v.([]any)
				if l == nil {
					l = []any{}
				}
				s := d.sub(p, at)
				v, err = s.list(l, depth+1)
			}
		case 8:
			var p []byte
			var at int
			if p, at, err = d.bytes(num, typ); err == nil {
				if depth > maxValueDepth {
					return nil, d.corrupt(at, "lists or maps nested more than %d deep", maxValueDepth)
				}
				m, _ := v.(map[string]any)
				if m == nil {
					m = make(map[string]any)
				}
				s := d.sub(p, at)
				err = s.mapValue(m, depth+1)
				v = m
			}
		default:
			err = d.skip(num, typ)
		}
		if err != nil {
			return nil, err
		}
	}
	return v, nil
}

// list reads a List message, appending its values to l.
func (d *decoder) list(l []any, depth int) ([]any, error) {
	for d.more() {
		num, typ, err := d.tag()
		if err != nil {
			return nil, err
		}
		if num != 1 {
			if err := d.skip(num, typ); err != nil {
				return nil, err
			}
			continue
		}
		p, at, err := d.bytes(num, typ)
		if err != nil {
			return nil, err
		}
		s := d.sub(p, at)
		e, err := s.value(nil, depth)
		if err != nil {
			return nil, err
		}
		l = append(l, e)
	}
	return l, nil
}

// mapValue reads a Map message into m.
func (d *decoder) mapValue(m map[string]any, depth int) error {
	for d.more() {
		num, typ, err := d.tag()
		if err != nil {
			return err
		}
		if num != 1 {
			err = d.skip(num, typ)
		} else {
			err = d.entry(num, typ, m, depth)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
