package peers

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
)

//go:embed scrapy_crawl.py
var scrapyCrawlScript []byte

// ScrapyOptions configures a Scrapy crawl.
type ScrapyOptions struct {
	// Concurrency sets CONCURRENT_REQUESTS and CONCURRENT_REQUESTS_PER_DOMAIN;
	// zero means 16, Scrapy's default.
	Concurrency int
	// JobDir sets JOBDIR when not empty, so that the crawl persists its
	// queue and seen fingerprints and a later run resumes it.
	JobDir string
	// Pages, when positive, sets CLOSESPIDER_PAGECOUNT: Scrapy stops after
	// about that many responses. Zero crawls the whole site.
	Pages int
	// Log receives Scrapy's log (stderr) as it runs; nil discards it (its
	// end is quoted in an error).
	Log io.Writer
}

// HaveScrapy reports whether python can import scrapy.
func HaveScrapy(python string) bool {
	if python == "" {
		return false
	}
	return exec.Command(python, "-c", "import scrapy").Run() == nil
}

// Scrapy crawls the site at startURL with Scrapy run by python (such as
// /usr/bin/python3 with Debian's python3-scrapy): a spider that follows
// every link within startURL's host and yields an item per HTML page, with
// robots.txt, AutoThrottle and the telnet console off, at LOG_LEVEL INFO.
// The Result is the spider's own report: response_received_count and the
// time from spider_opened to spider_closed.
//
// When ctx ends, Scrapy gets SIGINT (and SIGKILL 10 seconds later) and shuts down as on Ctrl-C (saving
// its state in JobDir); Scrapy then returns the partial Result it printed
// with ctx's error.
func Scrapy(ctx context.Context, python, startURL string, opts ScrapyOptions) (Result, error) {
	if !HaveScrapy(python) {
		return Result{}, fmt.Errorf("%w: %s cannot import scrapy (on Debian: apt-get install python3-scrapy)", ErrNoScrapy, python)
	}
	dir, err := os.MkdirTemp("", "frontier-scrapy-")
	if err != nil {
		return Result{}, fmt.Errorf("peers: %w", err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "scrapy_crawl.py")
	if err := os.WriteFile(script, scrapyCrawlScript, 0o644); err != nil {
		return Result{}, fmt.Errorf("peers: %w", err)
	}
	concurrency := opts.Concurrency
	if concurrency <= 0 {
		concurrency = 16
	}
	args := []string{script, "--url", startURL, "--concurrency", strconv.Itoa(concurrency),
		"--pages", strconv.Itoa(max(opts.Pages, 0))}
	if opts.JobDir != "" {
		abs, err := filepath.Abs(opts.JobDir)
		if err != nil {
			return Result{}, fmt.Errorf("peers: job directory %s: %w", opts.JobDir, err)
		}
		args = append(args, "--jobdir", abs)
	}
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Dir = dir
	stdout, stderr, err := run(cmd, opts.Log, stderrTail)
	res, perr := parseResult(stdout)
	switch {
	case ctx.Err() != nil && perr == nil:
		return res, ctx.Err()
	case ctx.Err() != nil:
		return Result{}, ctx.Err()
	case err != nil:
		return Result{}, runError("scrapy crawl", err, stderr)
	case perr != nil:
		return Result{}, runError("scrapy crawl", perr, stderr)
	}
	res.PeakRSS = peakRSS(cmd)
	return res, nil
}

// crawledRE matches Scrapy's LogStats line.
var crawledRE = regexp.MustCompile(`Crawled (\d+) pages \(at (\d+) pages/min\)`)

// parseScrapyBench returns the rate of the last "Crawled N pages (at X
// pages/min)" line of `scrapy bench`'s log.
func parseScrapyBench(log string) (float64, error) {
	m := crawledRE.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return 0, fmt.Errorf("%w: no \"Crawled N pages (at X pages/min)\" line", ErrNoResult)
	}
	return strconv.ParseFloat(m[len(m)-1][2], 64)
}

// ScrapyBench runs `python -m scrapy bench`, which serves a site of its own
// on localhost:8998 and crawls it for 10 seconds, and returns the pages per
// minute of its last LogStats line.
func ScrapyBench(ctx context.Context, python string) (pagesPerMinute float64, err error) {
	if !HaveScrapy(python) {
		return 0, fmt.Errorf("%w: %s cannot import scrapy (on Debian: apt-get install python3-scrapy)", ErrNoScrapy, python)
	}
	dir, err := os.MkdirTemp("", "frontier-scrapy-bench-")
	if err != nil {
		return 0, fmt.Errorf("peers: %w", err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, python, "-m", "scrapy", "bench")
	cmd.Dir = dir // outside any Scrapy project
	_, stderr, err := run(cmd, nil, 1<<20)
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if err != nil {
		return 0, runError("scrapy bench", err, stderr)
	}
	rate, err := parseScrapyBench(stderr)
	if err != nil {
		return 0, runError("scrapy bench", err, stderr)
	}
	return rate, nil
}
