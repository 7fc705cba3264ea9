package download

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func gzipped(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func zlibbed(s string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func deflated(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// encodedServer serves text encoded as the path says: /gzip, /deflate-zlib...
func encodedServer(t *testing.T, text string) string {
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var enc, body string
		switch r.URL.Path {
		case "/gzip":
			enc, body = "gzip", gzipped(text)
		case "/x-gzip":
			enc, body = "x-gzip", gzipped(text)
		case "/deflate-zlib":
			enc, body = "deflate", zlibbed(text)
		case "/deflate-raw":
			enc, body = "deflate", deflated(text)
		case "/gzip-twice":
			enc, body = "gzip, gzip", gzipped(gzipped(text))
		case "/br":
			enc, body = "br", "not really brotli"
		case "/bad-gzip":
			enc, body = "gzip", "this is not gzip at all"
		case "/plain":
			body = text
		case "/ask":
			if r.Header.Get("Accept-Encoding") != "" {
				enc, body = "gzip", gzipped(text)
			} else {
				body = text
			}
		}
		if enc != "" {
			w.Header().Set("Content-Encoding", enc)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write([]byte(body))
	})).URL
}

func TestDecompression(t *testing.T) {
	text := strings.Repeat("frontier crawls the web. ", 200)
	base := encodedServer(t, text)
	d, _, _ := newDownloader(t)
	for _, path := range []string{"/gzip", "/x-gzip", "/deflate-zlib", "/deflate-raw", "/gzip-twice", "/plain", "/ask"} {
		t.Run(path, func(t *testing.T) {
			resp := fetch(t, d, get(t, base+path))
			if string(resp.Body) != text {
				t.Errorf("body %.40q..., want the text", resp.Body)
			}
			if ce := resp.Headers.Get("Content-Encoding"); ce != "" {
				t.Errorf("Content-Encoding %q left on a decoded response", ce)
			}
		})
	}
	t.Run("unknown encoding is handed on", func(t *testing.T) {
		resp := fetch(t, d, get(t, base+"/br"))
		if string(resp.Body) != "not really brotli" || resp.Headers.Get("Content-Encoding") != "br" {
			t.Errorf("body %q, Content-Encoding %q", resp.Body, resp.Headers.Get("Content-Encoding"))
		}
	})
	t.Run("corrupt gzip", func(t *testing.T) {
		if e := fetchErr(t, d, get(t, base+"/bad-gzip"), KindDecoding); e.Kind.Retryable() {
			t.Error("a decoding failure is retryable")
		}
	})
	t.Run("COMPRESSION_ENABLED=false", func(t *testing.T) {
		plain, _, _ := newDownloader(t, "COMPRESSION_ENABLED=false")
		if resp := fetch(t, plain, get(t, base+"/ask")); string(resp.Body) != text {
			t.Errorf("body %.40q..., want the text uncompressed", resp.Body)
		}
		resp := fetch(t, plain, get(t, base+"/gzip"))
		if string(resp.Body) != gzipped(text) || resp.Headers.Get("Content-Encoding") != "gzip" {
			t.Errorf("a gzip body was decoded with compression off")
		}
	})
}

// TestMaxSize checks DOWNLOAD_MAXSIZE against the Content-Length, a body of
// unknown length, and the decoded size of a compressed body (a bomb).
func TestMaxSize(t *testing.T) {
	const max = 10000
	bomb := gzipped(strings.Repeat("\x00", 4<<20)) // 4 MiB from about 4 KiB
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(bytes.Repeat([]byte("a"), n))
		case "/chunked":
			for sent := 0; sent < n; sent += 1000 {
				w.Write(bytes.Repeat([]byte("a"), min(1000, n-sent)))
				w.(http.Flusher).Flush()
			}
		case "/bomb":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte(bomb))
		}
	}))
	d, c, _ := newDownloader(t, "DOWNLOAD_MAXSIZE="+strconv.Itoa(max))
	tests := []struct {
		name string
		path string
		meta map[string]any
		ok   bool
	}{
		{"Content-Length at the max", "/length?n=10000", nil, true},
		{"Content-Length past the max", "/length?n=10001", nil, false},
		{"chunked at the max", "/chunked?n=10000", nil, true},
		{"chunked past the max", "/chunked?n=200000", nil, false},
		{"gzip bomb", "/bomb", nil, false},
		{"meta raises the max", "/length?n=20000", map[string]any{MetaDownloadMaxsize: int64(30000)}, true},
		{"meta lowers the max", "/chunked?n=5000", map[string]any{MetaDownloadMaxsize: 4000.0}, false},
		{"meta 0 is no max", "/chunked?n=50000", map[string]any{MetaDownloadMaxsize: 0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, srv.URL+tt.path)
			r.Meta = tt.meta
			if tt.ok {
				fetch(t, d, r)
				return
			}
			if e := fetchErr(t, d, r, KindResponseTooLarge); e.Kind.Retryable() {
				t.Error("a response too large is retryable")
			}
		})
	}
	if n := c.Stats.Get(StatExceptionTypeCount + "/ResponseTooLarge"); n != 4 {
		t.Errorf("ResponseTooLarge count %d, want 4", n)
	}
}

func TestWarnSize(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.Write(bytes.Repeat([]byte("a"), 600))
			w.(http.Flusher).Flush()
			w.Write(bytes.Repeat([]byte("a"), 600))
			return
		}
		w.Write(bytes.Repeat([]byte("a"), 1200))
	}))
	tests := []struct {
		name, path string
		meta       map[string]any
		want       string
	}{
		{"Content-Length", "/length", nil, "Expected response size (1200) larger than download warn size (1000)"},
		{"chunked", "/chunked", nil, "Received (1200) bytes larger than download warn size (1000)"},
		{"meta", "/chunked", map[string]any{MetaDownloadWarnsize: 2000}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, logs := newDownloader(t, "DOWNLOAD_WARNSIZE=1000")
			r := get(t, srv.URL+tt.path)
			r.Meta = tt.meta
			if resp := fetch(t, d, r); len(resp.Body) != 1200 {
				t.Errorf("body of %d bytes", len(resp.Body))
			}
			got := logs.String()
			if tt.want == "" && strings.Contains(got, "warn size") || !strings.Contains(got, tt.want) {
				t.Errorf("log %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzReadBody feeds arbitrary bytes to the body reader under every
// encoding: it must never panic, and never return more than the max.
func FuzzReadBody(f *testing.F) {
	f.Add([]byte(gzipped("hello")), "gzip")
	f.Add([]byte(zlibbed("hello")), "deflate")
	f.Add([]byte(deflated("hello")), "deflate")
	f.Add([]byte("plain"), "")
	f.Fuzz(func(t *testing.T, data []byte, enc string) {
		h := http.Header{}
		if enc != "" {
			h.Set("Content-Encoding", enc)
		}
		resp := &http.Response{Header: h, Body: io.NopCloser(bytes.NewReader(data)), ContentLength: -1}
		body, _, _, err := new(bodyReader).read(resp, true, bodyLimits{max: 1 << 16})
		if err == nil && len(body) > 1<<16 {
			t.Fatalf("body of %d bytes past the max", len(body))
		}
	})
}
