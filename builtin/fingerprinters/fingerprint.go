package fingerprinters

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/framework/urlnorm"
)

// Options are the arguments of Scrapy's fingerprint function.
type Options struct {
	// IncludeHeaders names the request headers whose values are part of the
	// fingerprint, matched case-insensitively, in any order. Headers are
	// ignored by default.
	IncludeHeaders []string
	// KeepFragments keeps the URL fragment ("#...") in the canonical URL.
	KeepFragments bool
}

// RequestFingerprinter is Scrapy's default fingerprinter
// (scrapy.utils.request.RequestFingerprinter), with its options fixed at
// construction. It is safe for concurrent use.
type RequestFingerprinter struct {
	headers []headerName
	keep    bool
}

var _ framework.Fingerprinter = (*RequestFingerprinter)(nil)

// New returns a fingerprinter computing Fingerprint(r, opts). Scrapy's
// RequestFingerprinter is New(Options{}).
func New(opts Options) *RequestFingerprinter {
	return &RequestFingerprinter{headers: prepareHeaders(opts.IncludeHeaders), keep: opts.KeepFragments}
}

// Fingerprint returns r's fingerprint.
func (f *RequestFingerprinter) Fingerprint(r *framework.Request) (framework.Fingerprint, error) {
	return fingerprint(r, f.headers, f.keep)
}

// Fingerprint returns Scrapy's fingerprint of r:
// scrapy.utils.request.fingerprint(r, include_headers=..., keep_fragments=...).
// The error wraps ErrURL when r.URL cannot be canonicalized.
func Fingerprint(r *framework.Request, opts Options) (framework.Fingerprint, error) {
	return fingerprint(r, prepareHeaders(opts.IncludeHeaders), opts.KeepFragments)
}

// headerName is an included header: its lowercased name as Scrapy hashes it,
// the name's hex form (the JSON key) and its canonical net/http form.
type headerName struct {
	lower, hex, canonical string
}

// prepareHeaders lowercases, deduplicates and sorts the included header
// names. json.dumps(sort_keys=True) orders the keys by hex form, which is the
// order of the names' bytes.
func prepareHeaders(names []string) []headerName {
	if len(names) == 0 {
		return nil
	}
	lowered := make([]string, 0, len(names))
	for _, n := range names {
		lowered = append(lowered, strings.ToLower(n))
	}
	slices.Sort(lowered)
	lowered = slices.Compact(lowered)
	out := make([]headerName, 0, len(lowered))
	for _, n := range lowered {
		out = append(out, headerName{lower: n, hex: hex.EncodeToString([]byte(n)), canonical: textproto.CanonicalMIMEHeaderKey(n)})
	}
	return out
}

// headerValues returns the values of the header named h in r, and whether it
// is present, matching names case-insensitively as Scrapy's Headers does.
// Keys stored without net/http's canonical form are found when the canonical
// key is absent; several such spellings are merged in sorted key order.
func headerValues(hdr http.Header, h headerName) ([]string, bool) {
	if v, ok := hdr[h.canonical]; ok {
		return v, true
	}
	var keys []string
	for k := range hdr {
		if strings.EqualFold(k, h.lower) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, false
	}
	slices.Sort(keys)
	var vs []string
	for _, k := range keys {
		vs = append(vs, hdr[k]...)
	}
	return vs, true
}

func fingerprint(r *framework.Request, headers []headerName, keep bool) (framework.Fingerprint, error) {
	url := r.URL
	if !r.VerbatimURL() {
		var err error
		if url, err = urlnorm.Canonicalize(r.URL, keep); err != nil {
			return framework.Fingerprint{}, fmt.Errorf("%w: %s: %w", ErrURL, r, err)
		}
	}
	// The preimage is built on the stack; only large bodies or many headers
	// make append move it to the heap.
	var arr [512]byte
	b := append(arr[:0], `{"body": "`...)
	b = hex.AppendEncode(b, r.Body)
	b = append(b, `", "headers": {`...)
	first := true
	for _, h := range headers {
		vs, ok := headerValues(r.Headers, h)
		if !ok {
			continue
		}
		if !first {
			b = append(b, ", "...)
		}
		first = false
		b = append(b, '"')
		b = append(b, h.hex...)
		b = append(b, `": [`...)
		for i, v := range vs {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '"')
			b = appendHexString(b, v)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	b = append(b, `}, "method": `...)
	b = appendJSONString(b, method(r.Method))
	b = append(b, `, "url": `...)
	b = appendJSONString(b, url)
	b = append(b, '}')
	return framework.Fingerprint(sha1.Sum(b)), nil
}

// method returns the method as Scrapy's Request stores it: uppercased, GET
// when empty.
func method(m string) string {
	if m == "" {
		return http.MethodGet
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; 'a' <= c && c <= 'z' || c >= 0x80 {
			return strings.ToUpper(m)
		}
	}
	return m
}

const hexLower = "0123456789abcdef"

// jsonPlain marks the bytes json.dumps writes as they are with
// ensure_ascii=True: printable ASCII but '"' and '\\'.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendJSONString appends s as a JSON string the way Python's json.dumps
// writes it with ensure_ascii=True: the two-character escapes for ", \, \n,
// \r, \t, \b and \f, \u00XX for other control characters and DEL, and \uXXXX
// (lowercase hex, surrogate pairs beyond the BMP) for every non-ASCII
// character. Bytes that are not UTF-8 are written as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		size := 1
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\b':
			b = append(b, `\b`...)
		case '\f':
			b = append(b, `\f`...)
		default:
			if c < 0x80 {
				b = appendU(b, rune(c))
				break
			}
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if r >= 0x10000 {
				r -= 0x10000
				b = appendU(b, 0xD800+(r>>10))
				b = appendU(b, 0xDC00+(r&0x3FF))
			} else {
				b = appendU(b, r)
			}
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendHexString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b = append(b, hexLower[s[i]>>4], hexLower[s[i]&15])
	}
	return b
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexLower[r>>12&15], hexLower[r>>8&15], hexLower[r>>4&15], hexLower[r&15])
}
