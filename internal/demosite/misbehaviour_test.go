package demosite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serve runs s on a free loopback port until the test ends.
func serve(t *testing.T, s *Site) *Server {
	t.Helper()
	sv, err := s.Serve(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() { _ = sv.Close() })
	return sv
}

// noRedirects is a client that returns redirects instead of following them.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

// fetch requests u and returns the status, the headers and the body.
func fetch(t *testing.T, u string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := noRedirects.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", u, err)
	}
	return resp.StatusCode, resp.Header, body
}

// pageOf returns the first page of kind k.
func pageOf(t *testing.T, s *Site, k Kind) int {
	t.Helper()
	for i := range s.cfg.Pages {
		if s.Kind(i) == k {
			return i
		}
	}
	t.Fatalf("no %s page", k)
	return 0
}

// pageWith returns the first page with the given layout flag.
func pageWith(t *testing.T, s *Site, flag uint8) int {
	t.Helper()
	for i := range s.cfg.Pages {
		if s.layout[i]&flag != 0 {
			return i
		}
	}
	t.Fatalf("no page with flag %#x", flag)
	return 0
}

// misbehaving is a small site with one or more of everything.
func misbehaving() Config {
	return Config{Pages: 200, Seed: 21, SlowFraction: 0.02, SlowDelay: 50 * time.Millisecond,
		FlakyFraction: 0.02, RetryAfterFraction: 0.02, GoneFraction: 0.02, LargePages: 1, LargeSize: 300_000,
		RedirectFraction: 0.1, FragmentFraction: 0.1, AssetFraction: 0.05, PrivateFraction: 0.05,
		RedirectLoop: true, ConnReset: true}
}

func TestMisbehaviour(t *testing.T) {
	s := New(misbehaving())
	sv := serve(t, s)
	page := func(k Kind) string { return sv.URL() + PagePath(pageOf(t, s, k)) }

	t.Run("slow", func(t *testing.T) {
		start := time.Now()
		code, _, _ := fetch(t, page(KindSlow))
		if code != 200 || time.Since(start) < s.cfg.SlowDelay {
			t.Errorf("slow page: %d after %v, want 200 after at least %v", code, time.Since(start), s.cfg.SlowDelay)
		}
	})
	t.Run("flaky", func(t *testing.T) {
		u := page(KindFlaky)
		for n, want := range []int{500, 200, 200} {
			if code, _, _ := fetch(t, u); code != want {
				t.Errorf("request %d of a flaky page: %d, want %d", n+1, code, want)
			}
		}
	})
	t.Run("retry-after", func(t *testing.T) {
		u := page(KindRetryAfter)
		code, h, _ := fetch(t, u)
		if code != 503 || h.Get("Retry-After") != "1" {
			t.Errorf("first request: %d with Retry-After %q, want 503 with 1", code, h.Get("Retry-After"))
		}
		if code, _, _ := fetch(t, u); code != 200 {
			t.Errorf("second request: %d, want 200", code)
		}
	})
	t.Run("gone", func(t *testing.T) {
		u := page(KindGone)
		for range 2 {
			if code, _, _ := fetch(t, u); code != 404 {
				t.Errorf("gone page: %d, want 404", code)
			}
		}
	})
	t.Run("large", func(t *testing.T) {
		code, h, body := fetch(t, page(KindLarge))
		if code != 200 || len(body) < s.cfg.LargeSize || !bytes.HasSuffix(body, []byte("</html>\n")) ||
			h.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("large page: %d, %d bytes (Content-Length %s), want 200 and at least %d bytes of whole HTML",
				code, len(body), h.Get("Content-Length"), s.cfg.LargeSize)
		}
	})
	t.Run("redirects", func(t *testing.T) {
		for _, tt := range []struct {
			path     string
			code     int
			location string
		}{
			{"/old/12", 301, "/page/12"},
			{"/moved/12", 302, "/page/12"},
			{"/old/0", 301, "/"},
			{"/loop/a", 302, "/loop/b"},
			{"/loop/b", 302, "/loop/a"},
		} {
			code, h, _ := fetch(t, sv.URL()+tt.path)
			if code != tt.code || h.Get("Location") != tt.location {
				t.Errorf("%s: %d to %q, want %d to %q", tt.path, code, h.Get("Location"), tt.code, tt.location)
			}
		}
		// A client that follows redirects gives up on the loop.
		_, err := http.Get(sv.URL() + "/loop/a")
		if err == nil || !strings.Contains(err.Error(), "redirects") {
			t.Errorf("following /loop/a: %v, want too many redirects", err)
		}
	})
	t.Run("assets", func(t *testing.T) {
		i := strconv.Itoa(pageWith(t, s, flagAssets))
		code, h, body := fetch(t, sv.URL()+"/data/"+i+".json")
		var doc struct {
			Page  int    `json:"page"`
			Title string `json:"title"`
		}
		if err := json.Unmarshal(body, &doc); code != 200 || h.Get("Content-Type") != "application/json" ||
			err != nil || doc.Title != "Page "+i {
			t.Errorf("JSON: %d %s %q (%v)", code, h.Get("Content-Type"), body, err)
		}
		code, h, body = fetch(t, sv.URL()+"/img/"+i+".png")
		if _, err := png.Decode(bytes.NewReader(body)); code != 200 || h.Get("Content-Type") != "image/png" || err != nil {
			t.Errorf("PNG: %d %s (%v)", code, h.Get("Content-Type"), err)
		}
	})
	t.Run("private", func(t *testing.T) {
		code, _, body := fetch(t, sv.URL()+"/private/"+strconv.Itoa(pageWith(t, s, flagPrivate)))
		if code != 200 || bytes.Contains(body, []byte("<a ")) {
			t.Errorf("private page: %d %q, want 200 without links", code, body)
		}
	})
	t.Run("reset", func(t *testing.T) {
		_, err := noRedirects.Get(sv.URL() + "/reset")
		if err == nil {
			t.Fatal("GET /reset succeeded")
		}
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
			t.Errorf("GET /reset: %v, want a connection reset", err)
		}
		// Go's client sends a GET once more when a reused connection
		// fails before any answer.
		if n := s.Hits("/reset"); n < 1 || n > 2 {
			t.Errorf("Hits(/reset) = %d, want 1 or 2", n)
		}
	})
	t.Run("linked", func(t *testing.T) {
		// Every misbehaviour is linked from some page a crawl reaches.
		var all bytes.Buffer
		for i := range s.cfg.Pages {
			if s.Kind(i) != KindGone {
				b, _ := s.appendPage(nil, i, "http", "h")
				all.Write(b)
			}
		}
		for _, want := range []string{"/old/", "/moved/", "#comments", "/loop/a", "/reset", ".json", ".png", "/private/", "http://h/"} {
			if !bytes.Contains(all.Bytes(), []byte(`href="`)) || !strings.Contains(all.String(), want) {
				t.Errorf("no page links %s", want)
			}
		}
	})
}

func TestSlowPageStopsWithContext(t *testing.T) {
	cfg := misbehaving()
	cfg.SlowDelay = time.Hour
	s := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	sv, err := s.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Close()
	u := sv.URL() + PagePath(pageOf(t, s, KindSlow))
	errc := make(chan error, 1)
	go func() {
		_, err := http.Get(u)
		errc <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); s.Fetches() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never arrived")
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("the slow page answered after the context was done")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow page still hangs after the context was done")
	}
}
