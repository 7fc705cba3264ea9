package demosite

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	hrefRE  = regexp.MustCompile(`<a href="([^"]*)"`)
	titleRE = regexp.MustCompile(`<title>([^<]*)</title>`)
)

// crawlResult is what a breadth-first crawl over the handler saw.
type crawlResult struct {
	items     []string // URLs of 200 HTML pages titled "Page N", in the order crawled
	other     map[string]int
	redirects int
}

// bfs crawls the site through its handler from /, the way a polite crawler
// would: it resolves every <a href> against the page's URL, drops the
// fragment, requests each URL once, follows redirects (as new URLs, so a loop
// ends at a URL already seen), retries a 500 or 503 once and does not
// request what robots.txt disallows.
func bfs(t *testing.T, s *Site) crawlResult {
	t.Helper()
	const base = "http://example.com"
	res := crawlResult{other: map[string]int{}}
	seen := map[string]bool{base + "/": true}
	queue := []string{base + "/"}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		rec := get(s, u)
		if rec.Code == http.StatusInternalServerError || rec.Code == http.StatusServiceUnavailable {
			rec = get(s, u)
		}
		res.other[rec.Header().Get("Content-Type")]++
		switch {
		case rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusFound:
			res.redirects++
			enqueue(t, u, rec.Header().Get("Location"), seen, &queue)
			continue
		case rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8":
			continue
		}
		body := rec.Body.String()
		if m := titleRE.FindStringSubmatch(body); m != nil && strings.HasPrefix(m[1], "Page ") {
			if want := "Page " + strings.TrimPrefix(strings.TrimPrefix(u, base+"/page/"), base+"/"); want != m[1] && u != base+"/" {
				t.Errorf("%s is titled %q", u, m[1])
			}
			res.items = append(res.items, u)
		}
		for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
			enqueue(t, u, m[1], seen, &queue)
		}
	}
	return res
}

func enqueue(t *testing.T, from, href string, seen map[string]bool, queue *[]string) {
	t.Helper()
	b, _ := url.Parse(from)
	ref, err := url.Parse(href)
	if err != nil {
		t.Fatalf("%s links %q: %v", from, href, err)
	}
	abs := b.ResolveReference(ref)
	abs.Fragment = ""
	if abs.Host != b.Host {
		t.Fatalf("%s links another host: %q", from, href)
	}
	if strings.HasPrefix(abs.Path, "/private/") {
		return // robots.txt
	}
	if u := abs.String(); !seen[u] {
		seen[u] = true
		*queue = append(*queue, u)
	}
}

func TestEveryPageReachable(t *testing.T) {
	demo := Demo()
	demo.SlowDelay = time.Millisecond
	tests := []struct {
		name string
		cfg  Config
	}{
		{"demo", demo},
		{"bench", Bench(2000)},
		{"test", Test(300)},
		{"one page", Config{Pages: 1}},
		{"one link", Config{Pages: 500, LinksPerPage: 1, Seed: 9, GoneFraction: 0.2, RedirectFraction: 0.5}},
		{"consecutive gone pages", Config{Pages: 200, LinksPerPage: 3, Seed: 4, GoneFraction: 0.9}},
		{"everything", Config{Pages: 400, Seed: 11, SlowFraction: 0.1, SlowDelay: time.Millisecond, FlakyFraction: 0.1,
			RetryAfterFraction: 0.1, GoneFraction: 0.1, LargePages: 2, LargeSize: 10000, RedirectFraction: 0.2,
			FragmentFraction: 0.2, AssetFraction: 0.1, PrivateFraction: 0.1, RedirectLoop: true, ConnReset: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.cfg)
			res := bfs(t, s)
			want := s.PageURLs("http://example.com")
			got := slices.Clone(res.items)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("crawl yielded %d items, want the %d PageURLs", len(got), len(want))
			}
			if s.Duplicates() != 0 {
				t.Errorf("Duplicates = %d after a crawl that fetched every page once", s.Duplicates())
			}
			if got, want := s.Unique(), int64(tt.cfg.Pages); got != want {
				t.Errorf("Unique = %d, want every one of the %d pages", got, want)
			}
			retried := int64(s.Count(KindFlaky) + s.Count(KindRetryAfter))
			if got, want := s.Fetches(), int64(tt.cfg.Pages)+retried; got != want {
				t.Errorf("Fetches = %d, want %d pages + %d retries", got, tt.cfg.Pages, retried)
			}
			if tt.cfg.RedirectFraction > 0 && res.redirects == 0 {
				t.Error("no redirect on the way")
			}
		})
	}
}

// TestLinksReachEveryPage checks the link graph alone on a site too big to
// crawl through the handler in a test: every page is reachable from page 0.
func TestLinksReachEveryPage(t *testing.T) {
	s := New(Config{Pages: 200_000, Seed: 12, GoneFraction: 0.05})
	seen := make([]bool, s.cfg.Pages)
	seen[0] = true
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s.Kind(i) == KindGone {
			continue
		}
		for k := range s.numLinks(i) {
			if j, _, _, _ := s.linkFor(i, k); !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		t.Fatalf("page %d (%s) is not reachable from /", i, s.Kind(i))
	}
}
