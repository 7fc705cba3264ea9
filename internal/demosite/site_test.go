package demosite

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
)

// get runs one request through the handler.
func get(s *Site, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestDeterministic(t *testing.T) {
	cfg := Demo()
	a, b := New(cfg), New(cfg)
	other := cfg
	other.Seed++
	c := New(other)
	differ := 0
	for i := range cfg.Pages {
		if a.Kind(i) != b.Kind(i) {
			t.Fatalf("page %d is %s in one site and %s in the other", i, a.Kind(i), b.Kind(i))
		}
		pa, _ := a.appendPage(nil, i, "http", "example.com")
		pb, _ := b.appendPage(nil, i, "http", "example.com")
		if !bytes.Equal(pa, pb) {
			t.Fatalf("page %d differs between two sites of one Config", i)
		}
		if pc, _ := c.appendPage(nil, i, "http", "example.com"); !bytes.Equal(pa, pc) {
			differ++
		}
	}
	if differ < cfg.Pages*9/10 {
		t.Errorf("only %d of %d pages change with the seed", differ, cfg.Pages)
	}
	if !slices.Equal(a.PageURLs("http://h"), b.PageURLs("http://h")) {
		t.Error("PageURLs differ between two sites of one Config")
	}
}

// TestRandomStable pins the hash, so that a change to it, which would
// change every site and break the resumption of a crawl made with an
// earlier build, is made on purpose.
func TestRandomStable(t *testing.T) {
	if got, want := hash64(1, 2, 3, 4), uint64(0xf01d468912d15f78); got != want {
		t.Errorf("hash64(1, 2, 3, 4) = %#x, want %#x", got, want)
	}
	s := New(Bench(100))
	got := s.sample(streamKinds, 10, 10)
	slices.Sort(got)
	if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("sample(10 of 10) = %v, not a permutation", got)
	}
}

func TestPageSizes(t *testing.T) {
	s := New(Bench(2000))
	for i := range 2000 {
		b, _ := s.appendPage(nil, i, "http", "127.0.0.1:8118")
		if len(b) < 2000 || len(b) > 5500 {
			t.Fatalf("page %d is %d bytes, want about 2 to 5 KB", i, len(b))
		}
	}
}

func TestHrefsResolve(t *testing.T) {
	tests := []struct {
		from, target, alias int
		want                string
	}{
		{3, 5, 0, "/page/5"},
		{3, 0, 0, "/"},
		{0, 5, 0, "/page/5"},
		{0, 0, 0, "/"},
		{3, 5, 301, "/old/5"},
		{0, 5, 302, "/moved/5"},
		{3, 0, 301, "/old/0"},
	}
	for _, tt := range tests {
		for form := formAbsPath; form <= formAbsURL; form++ {
			href := string(appendHref(nil, tt.from, tt.target, tt.alias, form, "http", "example.com:81"))
			base, _ := url.Parse("http://example.com:81" + PagePath(tt.from))
			ref, err := url.Parse(href)
			if err != nil {
				t.Fatalf("href %q: %v", href, err)
			}
			if got := base.ResolveReference(ref); got.String() != "http://example.com:81"+tt.want {
				t.Errorf("href %q from %s (form %d) resolves to %s, want %s", href, PagePath(tt.from), form, got, tt.want)
			}
		}
	}
}

func TestRoutes(t *testing.T) {
	s := New(Config{Pages: 100, Seed: 3, AssetFraction: 0.05, PrivateFraction: 0.05})
	withAssets, withPrivate := -1, -1
	for i := range 100 {
		if s.layout[i]&flagAssets != 0 && withAssets < 0 {
			withAssets = i
		}
		if s.layout[i]&flagPrivate != 0 && withPrivate < 0 {
			withPrivate = i
		}
	}
	a, p := strconv.Itoa(withAssets), strconv.Itoa(withPrivate)
	tests := []struct {
		path string
		code int
	}{
		{"/", 200},
		{"/page/1", 200},
		{"/page/99", 200},
		{"/page/100", 404},
		{"/page/0", 404}, // page 0 is /
		{"/page/01", 404},
		{"/page/+1", 404},
		{"/page/1x", 404},
		{"/page/", 404},
		{"/page/1/", 404},
		{"/page/99999999999999999999", 404},
		{"/old/7", 301},
		{"/moved/7", 302},
		{"/old/100", 404},
		{"/loop/a", 404}, // RedirectLoop is off
		{"/reset", 404},  // ConnReset is off
		{"/data/" + a + ".json", 200},
		{"/img/" + a + ".png", 200},
		{"/private/" + p, 200},
		{"/data/0.json", 404},
		{"/private/0", 404},
		{"/robots.txt", 200},
		{"/sitemap.xml", 200},
		{"/sitemaps/pages-1.xml.gz", 200},
		{"/sitemaps/pages-1.xml", 404},
		{"/sitemaps/pages-2.xml.gz", 404},
		{"/nothing", 404},
	}
	for _, tt := range tests {
		if got := get(s, tt.path).Code; got != tt.code {
			t.Errorf("GET %s = %d, want %d", tt.path, got, tt.code)
		}
	}
}

func TestPageURLs(t *testing.T) {
	s := New(Config{Pages: 50, Seed: 5, GoneFraction: 0.1})
	urls := s.PageURLs("http://127.0.0.1:8118/")
	if len(urls) != s.Expected() || s.Expected() != 50-5 {
		t.Fatalf("%d URLs, Expected %d, want 45", len(urls), s.Expected())
	}
	if urls[0] != "http://127.0.0.1:8118/" || urls[1] != "http://127.0.0.1:8118/page/1" && s.Kind(1) != KindGone {
		t.Errorf("PageURLs starts %v", urls[:2])
	}
	for _, u := range urls {
		path := u[len("http://127.0.0.1:8118"):]
		i, ok := s.pageIndex(path)
		if !ok || s.Kind(i) == KindGone {
			t.Errorf("PageURLs has %s", u)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindNormal: "normal", KindRetryAfter: "retry-after", KindLarge: "large", 42: "Kind(42)"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
}
