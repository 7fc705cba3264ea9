package demosite

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so that a benchmark of
// the handler measures the handler.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func BenchmarkServeHTTP(b *testing.B) {
	s := New(Bench(10_000))
	req := httptest.NewRequest(http.MethodGet, "/page/1234", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		s.ServeHTTP(w, req)
	}
}

// BenchmarkLoopback fetches pages over loopback connections, 8 at a time,
// as a crawl would.
func BenchmarkLoopback(b *testing.B) {
	s := New(Bench(10_000))
	sv, err := s.Serve(context.Background(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	b.SetParallelism(4) // 4 × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			resp, err := client.Get(sv.URL() + PagePath(i%10_000))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

func FuzzServeHTTP(f *testing.F) {
	for _, p := range []string{"/", "/page/1", "/page/01", "/old/3", "/sitemaps/pages-1.xml.gz", "/data/2.json", "/img/x.png", "/private/"} {
		f.Add(p)
	}
	s := New(Config{Pages: 20, Seed: 1, AssetFraction: 0.5, PrivateFraction: 0.5, RedirectLoop: true,
		FlakyFraction: 0.1, GoneFraction: 0.1, LargePages: 1, LargeSize: 5000})
	f.Fuzz(func(t *testing.T, path string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == 0 {
			t.Fatalf("%q: no status", path)
		}
	})
}
