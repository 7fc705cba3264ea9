package spiders

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"math"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/spiders/linkextract"
)

// Names of the callbacks and the errback the built-in spiders register.
// Requests name them, and a job directory stores those names.
const (
	// CallbackPage handles a page: it yields a Page item, then, for the
	// links spider with follow on, a request for each of the page's links.
	// It is framework.DefaultCallback, Scrapy's parse.
	CallbackPage = framework.DefaultCallback
	// CallbackSitemap handles a robots.txt, a sitemap index or a sitemap
	// (the sitemap spider's _parse_sitemap).
	CallbackSitemap = "parse_sitemap"
	// ErrbackPage handles a page request that failed: for an
	// *framework.HTTPError it yields the page's Page item, with the status
	// and no links, so that every page requested has its item.
	ErrbackPage = "page_error"
)

// Page is the item the built-in spiders export for each page: its URL, the
// status of its response, its title, its depth (the request's meta
// "depth", 0 for a start request) and its links (see linkextract.Extract;
// empty, never null, for a page that is not HTML or that failed). JSON and
// CSV columns come in this order.
type Page struct {
	URL    string   `json:"url"`
	Status int      `json:"status"`
	Title  string   `json:"title"`
	Depth  int      `json:"depth"`
	Links  []string `json:"links"`
}

// parsePage returns the CallbackPage callback: a Page item for the
// response, then, when follow is true, a request to CallbackPage (with
// ErrbackPage) for each of its links. A link Response.Follow refuses, which
// linkextract never yields, is skipped and returned as an error after the
// others are yielded.
func parsePage(follow bool) framework.Callback {
	return func(_ context.Context, resp *framework.Response, out framework.Output) error {
		page, err := linkextract.Extract(resp)
		if err != nil {
			return err
		}
		links := page.Links
		if links == nil {
			links = []string{}
		}
		out.Item(Page{URL: resp.URL, Status: resp.Status, Title: page.Title, Depth: depth(resp.Request), Links: links})
		if !follow {
			return nil
		}
		var errs []error
		for _, l := range links {
			r, err := resp.Follow(l)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			r.Callback, r.Errback = CallbackPage, ErrbackPage
			out.Request(r)
		}
		return errors.Join(errs...)
	}
}

// pageError is the ErrbackPage errback. For an *framework.HTTPError it
// yields the page's item: its URL, status, depth and title (an error page
// has one too), no links. Other errors (DNS, connection, timeout) yield
// nothing: the engine logs and counts them.
func pageError(_ context.Context, req *framework.Request, err error, out framework.Output) error {
	var he *framework.HTTPError
	if !errors.As(err, &he) || he.Response == nil {
		return nil
	}
	resp := he.Response
	p := Page{URL: resp.URL, Status: resp.Status, Depth: depth(req), Links: []string{}}
	if p.URL == "" && req != nil {
		p.URL = req.URL
	}
	if req == nil {
		p.Depth = depth(resp.Request)
	}
	if page, err := linkextract.Extract(resp); err == nil {
		p.Title = page.Title
	}
	out.Item(p)
	return nil
}

// depth returns r's meta "depth", set by the engine: an int, or a float64
// (or json.Number) once the request went through a job directory; 0 when
// r is nil or has none.
func depth(r *framework.Request) int {
	if r == nil {
		return 0
	}
	switch d := r.Meta[framework.MetaDepth].(type) {
	case int:
		return d
	case int64:
		return int(d)
	case int32:
		return int(d)
	case uint64:
		return int(min(d, math.MaxInt32))
	case uint32:
		return int(d)
	case float64:
		if d >= 0 && d <= math.MaxInt32 {
			return int(d)
		}
	case float32:
		if d >= 0 && d <= math.MaxInt32 {
			return int(d)
		}
	case json.Number:
		if n, err := d.Int64(); err == nil {
			return int(n)
		}
	}
	return 0
}

// startRequests returns a spider's Start: a GET request for each URL, in
// order, with callback and errback, built as it is pulled.
func startRequests(urls []string, callback, errback string) func(context.Context) iter.Seq2[*framework.Request, error] {
	return func(ctx context.Context) iter.Seq2[*framework.Request, error] {
		return func(yield func(*framework.Request, error) bool) {
			for _, u := range urls {
				if ctx.Err() != nil {
					return
				}
				r, err := framework.NewRequest(u)
				if err == nil {
					r.Callback, r.Errback = callback, errback
				}
				if !yield(r, err) {
					return
				}
			}
		}
	}
}
