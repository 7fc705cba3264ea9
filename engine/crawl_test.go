package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/engine"
	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/framework"
)

// site is a generated site on loopback: page i links to pages 2i+1 and
// 2i+2 (a binary tree, every page reachable from /p/0), counting fetches.
type site struct {
	pages int
	mu    sync.Mutex
	hits  map[string]int
	srv   *httptest.Server
	// handle, when set, answers paths other than /p/N.
	handle func(w http.ResponseWriter, r *http.Request) bool
}

func newSite(t *testing.T, pages int) *site {
	t.Helper()
	s := &site{pages: pages, hits: map[string]int{}}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	s.mu.Unlock()
	if s.handle != nil && s.handle(w, r) {
		return
	}
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
	if !strings.HasPrefix(r.URL.Path, "/p/") || err != nil || n < 0 || n >= s.pages {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprintf(w, "<html><title>Page %d</title>", n)
	for _, c := range []int{2*n + 1, 2*n + 2} {
		if c < s.pages {
			fmt.Fprintf(w, `<a href="/p/%d">%d</a>`, c, c)
		}
	}
}

func (s *site) url(n int) string { return fmt.Sprintf("%s/p/%d", s.srv.URL, n) }

// fetched returns how many pages were fetched, and how many of those
// fetches were of a page fetched before.
func (s *site) fetched() (pages, again int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, n := range s.hits {
		if strings.HasPrefix(p, "/p/") {
			pages++
			again += n - 1
		}
	}
	return pages, again
}

// pageItem is the test spider's item.
type pageItem struct {
	URL   string `json:"url"`
	Depth int    `json:"depth"`
}

// treeSpider follows the site's two links per page (read from the URL,
// not the HTML: the engine is under test, not a link extractor) and
// yields one item per page.
func treeSpider(s *site) *framework.Spider {
	sp := framework.NewSpider("tree")
	sp.StartURLs(s.url(0))
	sp.HandleCallback("parse", func(_ context.Context, resp *framework.Response, out framework.Output) error {
		n, _ := strconv.Atoi(resp.URL[strings.LastIndex(resp.URL, "/")+1:])
		depth, _ := resp.Request.Meta[framework.MetaDepth].(int)
		out.Item(pageItem{URL: resp.URL, Depth: depth})
		for _, c := range []int{2*n + 1, 2*n + 2} {
			if c < s.pages {
				r, err := resp.Follow("/p/" + strconv.Itoa(c))
				if err != nil {
					return err
				}
				out.Request(r)
			}
		}
		return nil
	})
	return sp
}

func quietLogger() *zerolog.Logger {
	l := zerolog.Nop()
	return &l
}

func run(t *testing.T, ctx context.Context, sp *framework.Spider, set []string, eo engine.Options) engine.Result {
	t.Helper()
	res, err := crawl.Run(ctx, crawl.Options{Set: append([]string{"STATS_DUMP=false"}, set...), Logger: quietLogger(), Spider: sp}, eo)
	if err != nil {
		t.Fatalf("crawl: %v", err)
	}
	return res
}

// readItems reads a JSON lines feed.
func readItems(t *testing.T, path string) []pageItem {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var items []pageItem
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var it pageItem
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		items = append(items, it)
	}
	return items
}

// checkOnce checks that items hold every page of s exactly once.
func checkOnce(t *testing.T, s *site, items []pageItem) {
	t.Helper()
	seen := map[string]int{}
	for _, it := range items {
		seen[it.URL]++
	}
	for i := range s.pages {
		if n := seen[s.url(i)]; n != 1 {
			t.Errorf("page %d (%s): %d items, want 1; first item %+v", i, s.url(i), n, items[0])
			return
		}
	}
	if len(items) != s.pages {
		t.Errorf("%d items, want %d", len(items), s.pages)
	}
}

func TestCrawlWholeSite(t *testing.T) {
	s := newSite(t, 500)
	out := filepath.Join(t.TempDir(), "items.jsonl")
	var got []any
	var mu sync.Mutex
	res := run(t, context.Background(), treeSpider(s), []string{"CONCURRENT_REQUESTS=16"}, engine.Options{
		Feeds:  []feed.Spec{{Path: out, Format: feed.JSONLines}},
		OnItem: func(it any) { mu.Lock(); got = append(got, it); mu.Unlock() },
	})
	if res.Reason != "finished" {
		t.Fatalf("reason %q", res.Reason)
	}
	pages, again := s.fetched()
	if pages != s.pages || again != 0 {
		t.Errorf("fetched %d pages, %d again; want %d, 0", pages, again, s.pages)
	}
	checkOnce(t, s, readItems(t, out))
	if len(got) != s.pages {
		t.Errorf("OnItem got %d items, want %d", len(got), s.pages)
	}
	for key, want := range map[string]int64{
		"response_received_count":              int64(s.pages),
		"item_scraped_count":                   int64(s.pages),
		"downloader/response_status_count/200": int64(s.pages),
		"scheduler/enqueued":                   int64(s.pages),
		"scheduler/dequeued":                   int64(s.pages),
		"request_depth_max":                    8,
	} {
		if got := res.Stats[key]; got != want {
			t.Errorf("stat %s = %d, want %d", key, got, want)
		}
	}
}

// TestCrawlPauseResume stops a crawl with its context (Ctrl-C) and runs it
// again on the same job directory: every page is fetched once in all, and
// the feed holds every page once.
func TestCrawlPauseResume(t *testing.T) {
	s := newSite(t, 1000)
	dir := t.TempDir()
	out := filepath.Join(dir, "items.jsonl")
	set := []string{"JOBDIR=" + filepath.Join(dir, "job"), "CONCURRENT_REQUESTS=8"}
	eo := engine.Options{Feeds: []feed.Spec{{Path: out, Format: feed.JSONLines, Overwrite: true}}}
	for run1 := 0; ; run1++ {
		ctx, cancel := context.WithCancel(context.Background())
		sp := treeSpider(s)
		sp.HandleCallback("parse", wrapCancel(sp, cancel, 150))
		res := run(t, ctx, sp, set, eo)
		cancel()
		if res.Reason == "finished" {
			break
		}
		if res.Reason != "shutdown" || run1 > 20 {
			t.Fatalf("run %d: reason %q", run1, res.Reason)
		}
	}
	pages, again := s.fetched()
	if pages != s.pages || again != 0 {
		t.Errorf("fetched %d pages, %d again; want %d, 0", pages, again, s.pages)
	}
	checkOnce(t, s, readItems(t, out))
}

// wrapCancel makes the spider's parse cancel the crawl after n responses.
func wrapCancel(sp *framework.Spider, cancel func(), n int) framework.Callback {
	parse, _ := sp.Callback("parse")
	var mu sync.Mutex
	seen := 0
	return func(ctx context.Context, resp *framework.Response, out framework.Output) error {
		mu.Lock()
		seen++
		if seen == n {
			cancel()
		}
		mu.Unlock()
		return parse(ctx, resp, out)
	}
}

func TestCloseSpider(t *testing.T) {
	cases := []struct {
		set    string
		reason string
	}{
		{"CLOSESPIDER_PAGECOUNT=10", "closespider_pagecount"},
		{"CLOSESPIDER_ITEMCOUNT=10", "closespider_itemcount"},
		{"CLOSESPIDER_TIMEOUT=0.2", "closespider_timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			s := newSite(t, 100000)
			res := run(t, context.Background(), treeSpider(s), []string{tc.set, "CONCURRENT_REQUESTS=2", "DOWNLOAD_DELAY=0.01"}, engine.Options{})
			if res.Reason != tc.reason {
				t.Errorf("reason %q, want %q", res.Reason, tc.reason)
			}
		})
	}
	t.Run("closespider_errorcount", func(t *testing.T) {
		s := newSite(t, 1000)
		sp := treeSpider(s)
		sp.HandleCallback("parse", func(context.Context, *framework.Response, framework.Output) error {
			return fmt.Errorf("boom")
		})
		res := run(t, context.Background(), sp, []string{"CLOSESPIDER_ERRORCOUNT=1"}, engine.Options{})
		if res.Reason != "closespider_errorcount" || res.Stats["spider_exceptions/count"] != 1 {
			t.Errorf("reason %q, spider_exceptions/count %d", res.Reason, res.Stats["spider_exceptions/count"])
		}
	})
}

func TestDepthAndOffsite(t *testing.T) {
	s := newSite(t, 1000)
	sp := treeSpider(s)
	parse, _ := sp.Callback("parse")
	sp.AllowedDomains = []string{"127.0.0.1"}
	sp.HandleCallback("parse", func(ctx context.Context, resp *framework.Response, out framework.Output) error {
		out.Request(framework.MustRequest("http://elsewhere.example/"))
		return parse(ctx, resp, out)
	})
	res := run(t, context.Background(), sp, []string{"DEPTH_LIMIT=3", "DEPTH_STATS_VERBOSE=true"}, engine.Options{})
	if pages, _ := s.fetched(); pages != 15 {
		t.Errorf("fetched %d pages, want 15 (depth 0 to 3)", pages)
	}
	if res.Stats["request_depth_max"] != 3 || res.Stats["request_depth_count/3"] != 12 {
		t.Errorf("depth stats: %v", res.Stats)
	}
	if res.Stats["offsite/domains"] != 1 || res.Stats["offsite/filtered"] != 7 {
		t.Errorf("offsite stats: domains %d filtered %d", res.Stats["offsite/domains"], res.Stats["offsite/filtered"])
	}
}

// TestMisbehavingServer crawls pages that fail in every way a server can;
// the crawl finishes, and each failure is counted where Scrapy counts it.
func TestMisbehavingServer(t *testing.T) {
	s := newSite(t, 1)
	var flaky sync.Map
	s.handle = func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
		case "/slow":
			time.Sleep(2 * time.Second)
		case "/500":
			w.WriteHeader(500)
		case "/503":
			if _, again := flaky.LoadOrStore("503", true); !again {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(503)
				return true
			}
			fmt.Fprint(w, "<html>ok</html>")
		case "/loop":
			http.Redirect(w, r, "/loop?x", http.StatusFound)
		case "/huge":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(strings.Repeat("<p>x</p>", 100000)))
		case "/reset":
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, _ := hj.Hijack()
				conn.Close()
			}
		case "/data.json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"a": 1}`)
		case "/private/secret":
			fmt.Fprint(w, "secret")
		default:
			return false
		}
		return true
	}
	sp := framework.NewSpider("bad")
	var paths []string
	for _, p := range []string{"/slow", "/500", "/503", "/loop", "/huge", "/reset", "/data.json", "/private/secret", "/p/0"} {
		paths = append(paths, s.srv.URL+p)
	}
	sp.StartURLs(paths...)
	var mu sync.Mutex
	parsed := map[string]bool{}
	sp.HandleCallback("parse", func(_ context.Context, resp *framework.Response, _ framework.Output) error {
		mu.Lock()
		parsed[strings.TrimPrefix(resp.URL, s.srv.URL)] = true
		mu.Unlock()
		return nil
	})
	res := run(t, context.Background(), sp, []string{
		"DOWNLOAD_TIMEOUT=0.5", "DOWNLOAD_MAXSIZE=100000", "ROBOTSTXT_OBEY=true",
		"REDIRECT_MAX_TIMES=3", "RETRY_TIMES=1",
	}, engine.Options{})
	if res.Reason != "finished" {
		t.Fatalf("reason %q", res.Reason)
	}
	for _, p := range []string{"/503", "/data.json", "/p/0"} {
		if !parsed[p] {
			t.Errorf("%s did not reach the callback", p)
		}
	}
	for _, p := range []string{"/slow", "/500", "/loop", "/huge", "/reset", "/private/secret"} {
		if parsed[p] {
			t.Errorf("%s reached the callback", p)
		}
	}
	for _, key := range []string{"retry/count", "retry/max_reached", "robotstxt/forbidden", "httperror/response_ignored_count", "downloader/exception_count"} {
		if res.Stats[key] == 0 {
			t.Errorf("stat %s is 0: %v", key, res.Stats)
		}
	}
	s.mu.Lock()
	n := s.hits["/private/secret"]
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("robots.txt-disallowed page fetched %d times", n)
	}
}
