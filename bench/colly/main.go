// Command colly is Colly's side of `frontier bench crawl`: it crawls a site
// from a start URL with Colly v2, following every link within the start
// URL's host, and prints one JSON line:
//
//	{"pages":N,"items":N,"errors":N,"seconds":S}
//
// pages counts the responses Colly handed to its callbacks, items the pages
// with a <title>, errors the requests that failed (network errors and
// non-2xx statuses), seconds the time from the first request to the end of
// the crawl. Nothing persists: no job directory, no cache. Colly checks and
// marks a URL visited in two steps, so with Async a page is now and then
// fetched twice; the site's counters report it.
//
// It is a module of its own so that frontier does not depend on Colly.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/gocolly/colly/v2"
)

func main() {
	start := flag.String("url", "", "start `URL`")
	concurrency := flag.Int("concurrency", 16, "requests at a time")
	flag.Parse()
	if err := run(*start, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "colly:", err)
		os.Exit(1)
	}
}

func run(start string, concurrency int) error {
	u, err := url.Parse(start)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("bad -url %q", start)
	}
	if concurrency < 1 {
		return fmt.Errorf("-concurrency is %d, want at least 1", concurrency)
	}
	c := colly.NewCollector(colly.Async(true), colly.AllowedDomains(u.Hostname()))
	if err := c.Limit(&colly.LimitRule{DomainGlob: "*", Parallelism: concurrency}); err != nil {
		return err
	}
	// Keep one idle connection per concurrent request, as a crawler tuned
	// for one host would; Go's default of 2 would open a new connection for
	// most requests.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	c.WithTransport(tr)

	var pages, items, failed atomic.Int64
	c.OnResponse(func(*colly.Response) { pages.Add(1) })
	c.OnError(func(*colly.Response, error) { failed.Add(1) })
	c.OnHTML("title", func(*colly.HTMLElement) { items.Add(1) })
	c.OnHTML("a[href]", func(e *colly.HTMLElement) {
		_ = e.Request.Visit(e.Attr("href")) // already visited, or another host
	})

	began := time.Now()
	if err := c.Visit(start); err != nil {
		return err
	}
	c.Wait()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"pages":   pages.Load(),
		"items":   items.Load(),
		"errors":  failed.Load(),
		"seconds": time.Since(began).Seconds(),
	})
}
