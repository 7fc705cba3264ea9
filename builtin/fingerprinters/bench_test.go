package fingerprinters

import (
	"net/http"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

var sink framework.Fingerprint

func BenchmarkFingerprint(b *testing.B) {
	withHeaders := func(r *framework.Request) *framework.Request {
		r.Headers = http.Header{"Accept-Language": {"en"}, "Cookie": {"a=b"}}
		return r
	}
	for _, bm := range []struct {
		name string
		req  *framework.Request
		opts Options
	}{
		{"canonical", framework.MustRequest("https://host-123.example/path/4567?a=1"), Options{}},
		{"canonical_fragment", framework.MustRequest("http://www.example.com/do?a=1&b=2&c=3#frag"), Options{}},
		{"unsorted_query", framework.MustRequest("http://www.example.com/do?c=3&b=5&b=2&a=50"), Options{}},
		{"include_headers", withHeaders(framework.MustRequest("https://host-123.example/path/4567?a=1")), Options{IncludeHeaders: []string{"Accept-Language", "cookie"}}},
	} {
		f := New(bm.opts)
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fp, err := f.Fingerprint(bm.req)
				if err != nil {
					b.Fatal(err)
				}
				sink = fp
			}
		})
	}
	b.Run("canonical_parallel", func(b *testing.B) {
		f := New(Options{})
		r := framework.MustRequest("https://host-123.example/path/4567?a=1")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := f.Fingerprint(r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
