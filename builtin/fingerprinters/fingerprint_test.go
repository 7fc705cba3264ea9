package fingerprinters

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/framework/urlnorm"
	"github.com/frontier-go/frontier/registry"
)

// vector is a line of testdata/fingerprints.jsonl (computed by Scrapy 2.8 with
// w3lib 2.1.1, a copy of the shared reference) or of
// testdata/fingerprints_extra.jsonl (Scrapy 2.8 with w3lib 2.4.1, see
// gen_fingerprints.py).
type vector struct {
	URL            string                     `json:"url"`
	Method         string                     `json:"method"`
	Body           string                     `json:"body"`
	BodyHex        string                     `json:"body_hex"`
	Headers        map[string]json.RawMessage `json:"headers"`
	IncludeHeaders []string                   `json:"include_headers"`
	KeepFragments  bool                       `json:"keep_fragments"`
	VerbatimURL    bool                       `json:"verbatim_url"`
	RequestURL     string                     `json:"request_url"`
	Canonical      string                     `json:"canonical"`
	Fingerprint    string                     `json:"fingerprint"`
}

func loadVectors(t *testing.T) []vector {
	var vs []vector
	for _, name := range []string{"testdata/fingerprints.jsonl", "testdata/fingerprints_extra.jsonl"} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		n := 0
		for sc.Scan() {
			var v vector
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("%s: %s: %v", name, sc.Text(), err)
			}
			vs = append(vs, v)
			n++
		}
		f.Close()
		if err := sc.Err(); err != nil || n < 20 {
			t.Fatalf("%s: %d vectors, %v", name, n, err)
		}
	}
	return vs
}

// request builds the request a vector describes, the way Scrapy's Request
// constructor does (Safe on the URL, unless verbatim_url).
func (v vector) request(t *testing.T) *framework.Request {
	t.Helper()
	var r *framework.Request
	if v.VerbatimURL {
		r = &framework.Request{URL: v.URL, Meta: map[string]any{framework.MetaVerbatimURL: true}}
	} else {
		var err error
		if r, err = framework.NewRequest(v.URL); err != nil {
			t.Fatalf("NewRequest(%q): %v", v.URL, err)
		}
	}
	if r.URL != v.RequestURL {
		t.Errorf("request URL of %q = %q; Scrapy has %q", v.URL, r.URL, v.RequestURL)
	}
	if v.Method != "" {
		r.Method = v.Method
	}
	r.Body = []byte(v.Body)
	if v.BodyHex != "" {
		b, err := hex.DecodeString(v.BodyHex)
		if err != nil {
			t.Fatal(err)
		}
		r.Body = b
	}
	if len(v.Headers) > 0 {
		r.Headers = http.Header{}
		for name, raw := range v.Headers {
			var one string
			var many []string
			if json.Unmarshal(raw, &one) == nil {
				many = []string{one}
			} else if err := json.Unmarshal(raw, &many); err != nil {
				t.Fatalf("header %s: %v", name, err)
			}
			for _, val := range many {
				r.Headers.Add(name, val)
			}
		}
	}
	return r
}

// TestHashes checks every vector computed by Scrapy: Scrapy's test_hashes and
// more.
func TestHashes(t *testing.T) {
	for _, v := range loadVectors(t) {
		r := v.request(t)
		opts := Options{IncludeHeaders: v.IncludeHeaders, KeepFragments: v.KeepFragments}
		fp, err := Fingerprint(r, opts)
		if err != nil {
			t.Errorf("Fingerprint(%s, %+v): %v", r, opts, err)
			continue
		}
		if fp.String() != v.Fingerprint {
			t.Errorf("Fingerprint(%s, %+v) = %s; Scrapy gives %s", r, opts, fp, v.Fingerprint)
		}
		if fp2, _ := New(opts).Fingerprint(r); fp2 != fp {
			t.Errorf("New(%+v).Fingerprint(%s) = %s; Fingerprint gives %s", opts, r, fp2, fp)
		}
	}
}

// TestCanonicalURLs checks that the canonical URL of each vector is
// urlnorm.Canonicalize of the URL Scrapy's Request holds.
func TestCanonicalURLs(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.VerbatimURL {
			continue
		}
		got, err := urlnorm.Canonicalize(v.RequestURL, v.KeepFragments)
		if err != nil || got != v.Canonical {
			t.Errorf("Canonicalize(%q, %v) = %q, %v; Scrapy has %q", v.RequestURL, v.KeepFragments, got, err, v.Canonical)
		}
	}
}

func mustRequest(t *testing.T, url string) *framework.Request {
	t.Helper()
	r, err := framework.NewRequest(url)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func fp(t *testing.T, r *framework.Request, opts Options) framework.Fingerprint {
	t.Helper()
	f, err := Fingerprint(r, opts)
	if err != nil {
		t.Fatalf("Fingerprint(%s): %v", r, err)
	}
	return f
}

func TestQueryStringKeyOrder(t *testing.T) {
	r1 := mustRequest(t, "http://www.example.com/query?id=111&cat=222")
	r2 := mustRequest(t, "http://www.example.com/query?cat=222&id=111")
	if fp(t, r1, Options{}) != fp(t, r1, Options{}) {
		t.Error("fingerprint of the same request differs")
	}
	if fp(t, r1, Options{}) != fp(t, r2, Options{}) {
		t.Error("query order changes the fingerprint")
	}
}

func TestQueryStringKeyWithoutValue(t *testing.T) {
	r1 := mustRequest(t, "http://www.example.com/hnnoticiaj1.aspx?78132,199")
	r2 := mustRequest(t, "http://www.example.com/hnnoticiaj1.aspx?78160,199")
	if fp(t, r1, Options{}) == fp(t, r2, Options{}) {
		t.Error("different keys without values give the same fingerprint")
	}
}

func TestHeader(t *testing.T) {
	r1 := mustRequest(t, "http://www.example.com/members/offers.html")
	r2 := mustRequest(t, "http://www.example.com/members/offers.html")
	r2.Headers = http.Header{}
	r2.Headers.Set("SESSIONID", "somehash")
	if fp(t, r1, Options{}) != fp(t, r2, Options{}) {
		t.Error("a header changes the default fingerprint")
	}
}

func TestHeaders(t *testing.T) {
	r1 := mustRequest(t, "http://www.example.com/")
	r2 := mustRequest(t, "http://www.example.com/")
	r2.Headers = http.Header{}
	r2.Headers.Set("Accept-Language", "en")
	r3 := mustRequest(t, "http://www.example.com/")
	r3.Headers = http.Header{}
	r3.Headers.Set("Accept-Language", "en")
	r3.Headers.Set("SESSIONID", "somehash")

	if f1, f2, f3 := fp(t, r1, Options{}), fp(t, r2, Options{}), fp(t, r3, Options{}); f1 != f2 || f2 != f3 {
		t.Error("headers change the default fingerprint")
	}
	if fp(t, r1, Options{}) != fp(t, r1, Options{IncludeHeaders: []string{"Accept-Language"}}) {
		t.Error("an included header the request lacks changes the fingerprint")
	}
	if fp(t, r1, Options{}) == fp(t, r2, Options{IncludeHeaders: []string{"Accept-Language"}}) {
		t.Error("an included header does not change the fingerprint")
	}
	if fp(t, r3, Options{IncludeHeaders: []string{"accept-language", "sessionid"}}) !=
		fp(t, r3, Options{IncludeHeaders: []string{"SESSIONID", "Accept-Language"}}) {
		t.Error("included header names are not case- and order-insensitive")
	}
	// Keys stored without net/http's canonical form are found too.
	r4 := mustRequest(t, "http://www.example.com/")
	r4.Headers = http.Header{"accept-language": {"en"}}
	if fp(t, r4, Options{IncludeHeaders: []string{"Accept-Language"}}) != fp(t, r2, Options{IncludeHeaders: []string{"Accept-Language"}}) {
		t.Error("a non-canonical header key is not matched")
	}
}

func TestFragment(t *testing.T) {
	r1 := mustRequest(t, "http://www.example.com/test.html")
	r2 := mustRequest(t, "http://www.example.com/test.html#fragment")
	keep := Options{KeepFragments: true}
	if fp(t, r1, Options{}) != fp(t, r2, Options{}) {
		t.Error("the fragment changes the default fingerprint")
	}
	if fp(t, r1, Options{}) != fp(t, r1, keep) {
		t.Error("KeepFragments changes the fingerprint of a URL without fragment")
	}
	if fp(t, r2, Options{}) == fp(t, r2, keep) {
		t.Error("KeepFragments does not keep the fragment")
	}
	if fp(t, r1, Options{}) == fp(t, r2, keep) {
		t.Error("a kept fragment does not change the fingerprint")
	}
}

func TestVerbatimURL(t *testing.T) {
	verbatim := func(url string) *framework.Request {
		r := mustRequest(t, url)
		r.Meta = map[string]any{framework.MetaVerbatimURL: true}
		return r
	}
	if fp(t, verbatim("http://www.example.com/query?a=1&b=2"), Options{}) == fp(t, verbatim("http://www.example.com/query?b=2&a=1"), Options{}) {
		t.Error("verbatim URLs are canonicalized")
	}
	if fp(t, mustRequest(t, "http://www.example.com/query?a=1&b=2"), Options{}) != fp(t, mustRequest(t, "http://www.example.com/query?b=2&a=1"), Options{}) {
		t.Error("query order matters without verbatim_url")
	}
	r5 := verbatim("http://www.example.com/test#fragment")
	r6 := verbatim("http://www.example.com/test")
	if fp(t, r5, Options{}) == fp(t, r6, Options{}) {
		t.Error("the fragment of a verbatim URL is dropped")
	}
	if fp(t, r5, Options{}) != fp(t, r5, Options{KeepFragments: true}) {
		t.Error("KeepFragments matters for a verbatim URL")
	}
	// A falsy value is not verbatim.
	r7 := mustRequest(t, "http://www.example.com/query?b=2&a=1")
	r7.Meta = map[string]any{framework.MetaVerbatimURL: ""}
	if fp(t, r7, Options{}) != fp(t, mustRequest(t, "http://www.example.com/query?a=1&b=2"), Options{}) {
		t.Error(`meta["verbatim_url"] = "" is taken as true`)
	}
}

func TestMethodAndBody(t *testing.T) {
	r1 := mustRequest(t, "http://www.example.com")
	r2 := mustRequest(t, "http://www.example.com")
	r2.Method = "POST"
	r3 := mustRequest(t, "http://www.example.com")
	r3.Method = "POST"
	r3.Body = []byte("request body")
	if fp(t, r1, Options{}) == fp(t, r2, Options{}) {
		t.Error("the method does not change the fingerprint")
	}
	if fp(t, r2, Options{}) == fp(t, r3, Options{}) {
		t.Error("the body does not change the fingerprint")
	}
	// Scrapy stores the method uppercased; an empty one is GET.
	r4 := mustRequest(t, "http://www.example.com")
	r4.Method = "post"
	r5 := mustRequest(t, "http://www.example.com")
	r5.Method = ""
	if fp(t, r4, Options{}) != fp(t, r2, Options{}) || fp(t, r5, Options{}) != fp(t, r1, Options{}) {
		t.Error("method case or default differs from Scrapy's")
	}
}

func TestRequestReplace(t *testing.T) {
	r1 := mustRequest(t, "http://www.example.com")
	r2 := r1.Clone()
	r2.URL = "http://www.example.com/other"
	if fp(t, r1, Options{}) == fp(t, r2, Options{}) {
		t.Error("a changed URL keeps the fingerprint")
	}
}

func TestPartSeparation(t *testing.T) {
	r1 := mustRequest(t, "http://www.example.com/foo")
	r2 := mustRequest(t, "http://www.example.com/f")
	r2.Body = []byte("oo")
	if fp(t, r1, Options{}) == fp(t, r2, Options{}) {
		t.Error("URL and body are not separated")
	}
}

func TestInvalidURL(t *testing.T) {
	r := &framework.Request{URL: "http://[::1/", Method: "GET"}
	if _, err := Fingerprint(r, Options{}); !errors.Is(err, ErrURL) || !errors.Is(err, urlnorm.ErrInvalid) {
		t.Errorf("Fingerprint(%s) error = %v; want ErrURL wrapping urlnorm.ErrInvalid", r, err)
	}
}

// TestRequestFingerprinter ports TestRequestFingerprinter.test_fingerprint:
// the crawler's fingerprinter, resolved from the default
// REQUEST_FINGERPRINTER_CLASS, gives fingerprint(request).
func TestRequestFingerprinter(t *testing.T) {
	reg := registry.New()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	c := framework.NewCrawler(framework.NewSettings(), reg, nil)
	f, err := c.Fingerprinter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := mustRequest(t, "https://example.com")
	got, err := f.Fingerprint(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := fp(t, r, Options{}); got != want {
		t.Errorf("crawler fingerprinter gives %s; Fingerprint gives %s", got, want)
	}
	for _, name := range []string{Name, ScrapyName} {
		e, err := reg.Lookup(name)
		if err != nil || e.Kind() != registry.KindFingerprinter || e.Origin != "builtin" || e.Doc == "" {
			t.Errorf("Lookup(%q) = %+v, %v", name, e, err)
		}
	}
}

// TestIncludeHeadersFingerprinter ports
// TestCustomRequestFingerprinter.test_include_headers.
func TestIncludeHeadersFingerprinter(t *testing.T) {
	f := New(Options{IncludeHeaders: []string{"X-ID"}})
	r1 := mustRequest(t, "http://www.example.com")
	r1.Headers = http.Header{"X-Id": {"1"}}
	r2 := mustRequest(t, "http://www.example.com")
	r2.Headers = http.Header{"X-Id": {"2"}}
	f1, err1 := f.Fingerprint(r1)
	f2, err2 := f.Fingerprint(r2)
	if err1 != nil || err2 != nil || f1 == f2 {
		t.Errorf("X-ID values 1 and 2 give %s, %v and %s, %v", f1, err1, f2, err2)
	}
}

func TestAppendJSONString(t *testing.T) {
	// Expected values are Python's json.dumps(s) (ensure_ascii=True).
	for _, tt := range []struct{ in, want string }{
		{"http://example.org/", `"http://example.org/"`},
		{"a\"b\\c/d", `"a\"b\\c/d"`},
		{"\n\r\t\b\f\x01\x1f\x7f", `"\n\r\t\b\f\u0001\u001f\u007f"`},
		{"é\u2028\uffff", `"\u00e9\u2028\uffff"`},
		{"\U0001F600", `"\ud83d\ude00"`},
		{"a\xffb", `"a\ufffdb"`},
	} {
		if got := string(appendJSONString(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSONString(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestFingerprintAllocs(t *testing.T) {
	r := mustRequest(t, "https://host-123.example/path/4567?a=1")
	f := New(Options{})
	f.Fingerprint(r) // fill the pool
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := f.Fingerprint(r); err != nil {
			t.Fatal(err)
		}
	}); n > 0 {
		t.Errorf("Fingerprint of a canonical URL allocates %v times; want 0", n)
	}
}
