package download

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
)

// BenchmarkFetch downloads pages from a loopback server with 64 downloads
// at once in one slot, as the engine does at CONCURRENT_REQUESTS=64. It
// reports pages/s besides ns/op.
func BenchmarkFetch(b *testing.B) {
	page := bytes.Repeat([]byte("<p>frontier crawls the web.</p>\n"), 64) // 2 KiB
	gz := []byte(gzipped(string(page)))
	srv := serve(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", strconv.Itoa(len(gz)))
			w.Write(gz)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	}))
	for _, bc := range []struct{ name, path string }{{"plain", "/page"}, {"gzip", "/gzip"}} {
		b.Run(bc.name, func(b *testing.B) {
			d, _, _ := newDownloader(b, "CONCURRENT_REQUESTS=64", "CONCURRENT_REQUESTS_PER_DOMAIN=64")
			var n atomic.Int64
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := get(b, fmt.Sprintf("%s%s?%d", srv.URL, bc.path, n.Add(1)))
					resp, err := d.Fetch(context.Background(), r)
					if err != nil {
						b.Error(err)
						return
					}
					if len(resp.Body) != len(page) {
						b.Errorf("body of %d bytes", len(resp.Body))
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
		})
	}
}
