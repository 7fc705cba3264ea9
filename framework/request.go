package framework

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/frontier-go/frontier/framework/urlnorm"
)

// Meta keys frontier and Scrapy give a meaning to.
const (
	MetaIsStartRequest = "is_start_request" // set on requests from the spider's start
	MetaDownloadSlot   = "download_slot"    // overrides the download slot (the host by default)
	MetaDepth          = "depth"            // link depth, set by the engine
	MetaVerbatimURL    = "verbatim_url"     // fingerprint the URL as is, without canonicalization
)

// Cookie is one cookie sent with a request.
type Cookie struct {
	Name, Value, Domain, Path string
}

// Request is a request to download, as Scrapy's Request. Callback and Errback
// are names of handlers registered on the [Spider], never functions, so that a
// request can be written to disk or sent over the wire.
//
// A Request handed to a scheduler belongs to it until returned by Next; callers
// must not change it in between.
type Request struct {
	URL        string
	Method     string
	Headers    http.Header
	Body       []byte
	Cookies    []Cookie
	Meta       map[string]any
	CbKwargs   map[string]any
	Flags      []string
	Priority   int
	DontFilter bool
	Encoding   string
	Callback   string
	Errback    string

	// Delivery identifies the request inside the queue that handed it out, so
	// that an acknowledgement finds it. Queues set it; users leave it alone.
	Delivery uint64
	// Redelivered is true when the request is handed out again after a crash
	// left it in flight.
	Redelivered bool

	// record is the record DecodeRequest read r from, kept for TakeRecord.
	record string
}

// NewRequest returns a GET request for rawURL, made safe the way Scrapy's
// Request constructor does it (percent-encoding what must be encoded). A URL
// without a scheme or with characters no URL may hold is an error wrapping
// [ErrInvalidURL].
func NewRequest(rawURL string) (*Request, error) {
	u, err := urlnorm.Safe(rawURL, "utf-8")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	return &Request{URL: u, Method: http.MethodGet}, nil
}

// MustRequest is NewRequest that panics on error, for tests and examples with
// literal URLs.
func MustRequest(rawURL string) *Request {
	r, err := NewRequest(rawURL)
	if err != nil {
		panic(err)
	}
	return r
}

// String returns the request as Scrapy prints it: "<GET https://example.org/>".
func (r *Request) String() string {
	return "<" + r.method() + " " + r.URL + ">"
}

func (r *Request) method() string {
	if r.Method == "" {
		return http.MethodGet
	}
	return r.Method
}

// IsStart reports whether meta marks r as a start request.
func (r *Request) IsStart() bool {
	return Truthy(r.Meta[MetaIsStartRequest])
}

// VerbatimURL reports whether meta["verbatim_url"] is truthy: the URL is
// then fingerprinted as it is, without canonicalization (Scrapy 2.17).
func (r *Request) VerbatimURL() bool {
	return Truthy(r.Meta[MetaVerbatimURL])
}

// Slot returns r's download slot: meta["download_slot"] when set and not nil,
// otherwise the lowercased host of its URL (without port), or "".
func (r *Request) Slot() string {
	if v, ok := r.Meta[MetaDownloadSlot]; ok && v != nil {
		if s, ok := v.(string); ok {
			return s
		}
		return fmt.Sprint(v)
	}
	return Hostname(r.URL)
}

// Hostname returns the lowercased host of rawURL without userinfo, port or
// brackets, as Python's urlparse(url).hostname, or "" when there is none.
func Hostname(rawURL string) string {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return ""
	}
	rest := rawURL[i+3:]
	// A byte loop, not strings.IndexAny: the authority is short and
	// IndexAny builds its byte set on every call.
	for j := 0; j < len(rest); j++ {
		if c := rest[j]; c == '/' || c == '?' || c == '#' {
			rest = rest[:j]
			break
		}
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if j := strings.IndexByte(rest, ']'); j >= 0 {
			rest = rest[1:j]
		}
	} else if j := strings.IndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	for k := 0; k < len(rest); k++ {
		if c := rest[k]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(rest)
		}
	}
	return rest
}

// Clone returns a deep copy of r's data (meta and cb_kwargs values are copied
// when they are maps or slices of plain data).
func (r *Request) Clone() *Request {
	c := *r
	c.record = ""
	c.Headers = r.Headers.Clone()
	c.Body = append([]byte(nil), r.Body...)
	if r.Body == nil {
		c.Body = nil
	}
	c.Cookies = append([]Cookie(nil), r.Cookies...)
	c.Flags = append([]string(nil), r.Flags...)
	c.Meta = cloneMap(r.Meta)
	c.CbKwargs = cloneMap(r.CbKwargs)
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return cloneMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = cloneValue(e)
		}
		return out
	case []byte:
		return append([]byte(nil), t...)
	default:
		return v
	}
}

// Truthy follows Python's truth rules for the plain values meta and settings
// hold: nil, zero numbers, false and empty strings, slices and maps are false.
// The common types are switched on directly; others go through reflection.
func Truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case int:
		return t != 0
	case int64:
		return t != 0
	case float64:
		return t != 0
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	case []byte:
		return len(t) > 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len() > 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return !rv.IsZero()
	}
	return true
}

// Fingerprint is a request fingerprint: 20 bytes, a SHA-1 digest for Scrapy's
// fingerprinter.
type Fingerprint [20]byte

// String returns the fingerprint in lowercase hex, as in Scrapy's requests.seen.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// ParseFingerprint parses 40 hex characters.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	if len(s) != 40 {
		return f, fmt.Errorf("framework: fingerprint %q: want 40 hex characters, got %d", s, len(s))
	}
	if _, err := hex.Decode(f[:], []byte(s)); err != nil {
		return f, fmt.Errorf("framework: fingerprint %q: %w", s, err)
	}
	return f, nil
}
