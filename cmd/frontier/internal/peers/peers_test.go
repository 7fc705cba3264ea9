package peers

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontier-go/frontier/internal/demosite"
)

// python is the interpreter the Scrapy tests use: Debian's, with
// python3-scrapy.
const python = "/usr/bin/python3"

func TestParseResult(t *testing.T) {
	tests := []struct {
		name   string
		stdout string
		want   Result
		err    bool
	}{
		{"scrapy", `{"pages": 2000, "items": 2000, "seconds": 4.5, "finish_reason": "finished", "filtered": 14000, "retries": 0}` + "\n",
			Result{Pages: 2000, Items: 2000, Seconds: 4.5}, false},
		{"colly", `{"errors":0,"items":300,"pages":300,"seconds":0.25}`, Result{Pages: 300, Items: 300, Seconds: 0.25}, false},
		{"after other lines", "starting\n{\"note\": 1}\n{\"pages\": 3, \"seconds\": 1}\nbye\n", Result{Pages: 3, Seconds: 1}, false},
		{"the last one wins", "{\"pages\": 1, \"seconds\": 1}\n{\"pages\": 2, \"seconds\": 2}\n", Result{Pages: 2, Seconds: 2}, false},
		{"crlf", "{\"pages\": 5, \"seconds\": 1}\r\n", Result{Pages: 5, Seconds: 1}, false},
		{"empty", "", Result{}, true},
		{"no pages field", `{"items": 3}`, Result{}, true},
		{"pages of the wrong type", `{"pages": "many"}`, Result{}, true},
		{"cut short", `{"pages": 3, "sec`, Result{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseResult([]byte(tt.stdout))
			if tt.err {
				if !errors.Is(err, ErrNoResult) {
					t.Fatalf("parseResult = %+v, %v; want ErrNoResult", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseResult = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// scrapyBenchLog is the end of `scrapy bench`'s log (Scrapy 2.8).
const scrapyBenchLog = `2026-05-01 10:00:00 [scrapy.utils.log] INFO: Scrapy 2.8.0 started (bot: scrapybot)
2026-05-01 10:00:01 [scrapy.extensions.logstats] INFO: Crawled 0 pages (at 0 pages/min), scraped 0 items (at 0 items/min)
2026-05-01 10:00:02 [scrapy.extensions.logstats] INFO: Crawled 149 pages (at 8940 pages/min), scraped 0 items (at 0 items/min)
2026-05-01 10:00:03 [scrapy.extensions.logstats] INFO: Crawled 301 pages (at 9120 pages/min), scraped 0 items (at 0 items/min)
2026-05-01 10:00:11 [scrapy.core.engine] INFO: Closing spider (closespider_timeout)
2026-05-01 10:00:11 [scrapy.extensions.logstats] INFO: Crawled 1503 pages (at 8700 pages/min), scraped 0 items (at 0 items/min)
2026-05-01 10:00:11 [scrapy.statscollectors] INFO: Dumping Scrapy stats:
{'downloader/request_bytes': 561853,
 'finish_reason': 'closespider_timeout',
 'response_received_count': 1503}
2026-05-01 10:00:11 [scrapy.core.engine] INFO: Spider closed (closespider_timeout)
`

func TestParseScrapyBench(t *testing.T) {
	got, err := parseScrapyBench(scrapyBenchLog)
	if err != nil || got != 8700 {
		t.Errorf("parseScrapyBench = %v, %v; want 8700", got, err)
	}
	if _, err := parseScrapyBench("Traceback (most recent call last):\n"); !errors.Is(err, ErrNoResult) {
		t.Errorf("parseScrapyBench of a traceback: %v, want ErrNoResult", err)
	}
}

func TestResultPagesPerSecond(t *testing.T) {
	for _, tt := range []struct {
		r    Result
		want float64
	}{
		{Result{Pages: 100, Seconds: 2}, 50},
		{Result{Pages: 100}, 0},
	} {
		if got := tt.r.PagesPerSecond(); got != tt.want {
			t.Errorf("%+v.PagesPerSecond() = %v, want %v", tt.r, got, tt.want)
		}
	}
}

func TestTail(t *testing.T) {
	tl := &tail{max: 16}
	_, _ = tl.Write([]byte("first line\nsecond line\nthird\n"))
	if got := tl.String(); got != "third" {
		t.Errorf("tail = %q, want the last whole lines", got)
	}
	tl = &tail{max: 100}
	_, _ = tl.Write([]byte("short\n"))
	if got := tl.String(); got != "short" {
		t.Errorf("tail = %q", got)
	}
}

func TestFindModuleRoot(t *testing.T) {
	root := t.TempDir()
	write := func(path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "go.mod"), "// frontier\nmodule github.com/frontier-go/frontier\n\ngo 1.26\n")
	write(filepath.Join(root, "bench", "colly", "go.mod"), "module github.com/frontier-go/frontier/bench/colly\n")
	write(filepath.Join(root, "quoted", "go.mod"), "module \"github.com/frontier-go/frontier\" // quoted\n")
	deep := filepath.Join(root, "bench", "colly", "x", "y")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from, want string
	}{
		{root, root},
		{deep, root}, // past the nested module's go.mod
		{filepath.Join(root, "quoted"), filepath.Join(root, "quoted")},
	}
	for _, tt := range tests {
		if got, err := findModuleRoot(tt.from); err != nil || got != tt.want {
			t.Errorf("findModuleRoot(%s) = %q, %v; want %q", tt.from, got, err, tt.want)
		}
	}
	if _, err := findModuleRoot(t.TempDir()); !errors.Is(err, ErrNoModuleRoot) {
		t.Errorf("findModuleRoot outside the module: %v, want ErrNoModuleRoot", err)
	}
	// From this package's directory, the repository's root.
	wd, _ := os.Getwd()
	got, err := findModuleRoot(wd)
	if err != nil || !strings.HasSuffix(wd, filepath.FromSlash("/cmd/frontier/internal/peers")) ||
		got != strings.TrimSuffix(wd, filepath.FromSlash("/cmd/frontier/internal/peers")) {
		t.Errorf("findModuleRoot(%s) = %q, %v", wd, got, err)
	}
}

func TestScrapyMissing(t *testing.T) {
	_, err := Scrapy(context.Background(), filepath.Join(t.TempDir(), "no-python"), "http://127.0.0.1:1/", ScrapyOptions{})
	if !errors.Is(err, ErrNoScrapy) {
		t.Errorf("Scrapy with no python: %v, want ErrNoScrapy", err)
	}
	if HaveScrapy("") {
		t.Error("HaveScrapy(\"\") is true")
	}
}

// serveBench serves a Bench site of pages pages until the test ends.
func serveBench(t *testing.T, pages int) (*demosite.Site, string) {
	t.Helper()
	site := demosite.New(demosite.Bench(pages))
	srv, err := site.Serve(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return site, srv.URL()
}

func needScrapy(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Scrapy: not with -short")
	}
	if !HaveScrapy(python) {
		t.Skipf("%s cannot import scrapy: apt-get install python3-scrapy", python)
	}
}

func TestScrapy(t *testing.T) {
	needScrapy(t)
	const pages = 300
	site, base := serveBench(t, pages)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Scrapy(ctx, python, base+"/", ScrapyOptions{Concurrency: 8, JobDir: filepath.Join(t.TempDir(), "job")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != pages || res.Items != pages || res.Seconds <= 0 {
		t.Errorf("Scrapy reported %+v, want %d pages and items", res, pages)
	}
	if site.Unique() != pages || site.Duplicates() != 0 {
		t.Errorf("the site saw %d pages, %d duplicates; want %d, 0", site.Unique(), site.Duplicates(), pages)
	}
}

func TestScrapyPageLimit(t *testing.T) {
	needScrapy(t)
	site, base := serveBench(t, 2000)
	res, err := Scrapy(context.Background(), python, base+"/", ScrapyOptions{Concurrency: 4, Pages: 50})
	if err != nil {
		t.Fatal(err)
	}
	// CLOSESPIDER_PAGECOUNT lets the requests in flight finish.
	if res.Pages < 50 || res.Pages > 100 || site.Fetches() != res.Pages {
		t.Errorf("Scrapy reported %d pages, the site served %d; want about 50, the same", res.Pages, site.Fetches())
	}
}

func TestScrapyBench(t *testing.T) {
	needScrapy(t)
	rate, err := ScrapyBench(context.Background(), python)
	if err != nil {
		t.Fatal(err)
	}
	if rate <= 0 {
		t.Errorf("scrapy bench: %v pages/min", rate)
	}
}

func TestColly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs Colly: not with -short")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build Colly's side with")
	}
	const pages = 300
	site, base := serveBench(t, pages)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := BuildColly(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for run := range 2 {
		site.Reset()
		res, err := b.Run(ctx, base+"/", 8)
		if err != nil {
			t.Fatal(err)
		}
		// Colly checks and marks a URL visited in two steps, so with Async
		// two goroutines now and then fetch the same page: a few
		// duplicates are Colly's, and the site counts them.
		if res.Pages != site.Fetches() || res.Items != res.Pages || res.Seconds <= 0 {
			t.Errorf("run %d: Colly reported %+v, the site served %d pages", run+1, res, site.Fetches())
		}
		if site.Unique() != pages || site.Duplicates() > pages/20 {
			t.Errorf("run %d: the site saw %d pages, %d duplicates; want %d and few", run+1, site.Unique(), site.Duplicates(), pages)
		}
		if d := site.Duplicates(); d > 0 {
			t.Logf("run %d: Colly fetched %d pages twice", run+1, d)
		}
	}
}

// TestScrapyCancel ends a crawl through its context: Scrapy shuts down as on
// Ctrl-C and still reports what it did.
func TestScrapyCancel(t *testing.T) {
	needScrapy(t)
	site, base := serveBench(t, 50_000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for site.Fetches() < 100 && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	res, err := Scrapy(ctx, python, base+"/", ScrapyOptions{Concurrency: 4})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scrapy = %+v, %v; want context.Canceled", res, err)
	}
	if res.Pages < 100 || res.Pages >= 50_000 {
		t.Errorf("Scrapy reported %d pages after the cancel, want at least 100 and not all", res.Pages)
	}
}
