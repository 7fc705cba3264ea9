package spiders

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/frontier-go/frontier/framework"
)

func sitemapSpec() spec {
	return spec{
		name: "sitemap",
		summary: "reads sitemaps as Scrapy's SitemapSpider does (the Sitemap: lines of a robots.txt, " +
			"sitemap indexes, XML sitemaps, gzip or not, and plain-text ones, one URL per line), " +
			"requests every page they list without following the pages' links, " +
			"and exports one item per page, HTTP errors included: url, status, title, depth, links.",
		args: []argSpec{
			{name: "sitemap_urls", required: true, help: "robots.txt, sitemap or sitemap index URLs, separated by commas or spaces"},
			{name: "sitemap_follow", def: "every sitemap", help: "a regular expression (Go's RE2 syntax) that the URL of a sitemap listed in a sitemap index must match to be read"},
			{name: "allowed_domains", def: "any", help: "the domains the crawl stays on, with their subdomains, separated by commas"},
		},
		build: newSitemap,
	}
}

// newSitemap builds the sitemap spider: start requests to CallbackSitemap,
// page requests to CallbackPage with ErrbackPage, a Page item per page.
func newSitemap(a argValues) (*framework.Spider, error) {
	urls, err := a.urls("sitemap_urls")
	if err != nil {
		return nil, err
	}
	follow, err := a.regexp("sitemap_follow")
	if err != nil {
		return nil, err
	}
	domains, err := a.domains("allowed_domains")
	if err != nil {
		return nil, err
	}
	s := framework.NewSpider("sitemap")
	s.AllowedDomains = domains
	s.Start = startRequests(urls, CallbackSitemap, "")
	s.HandleCallback(CallbackSitemap, sitemapReader{follow: follow, maxSize: defaultSitemapMaxSize}.parse)
	s.HandleCallback(CallbackPage, parsePage(false))
	s.HandleErrback(ErrbackPage, pageError)
	return s, nil
}

// sitemapReader is the CallbackSitemap callback.
type sitemapReader struct {
	follow  *regexp.Regexp // nil: every sitemap of an index
	maxSize int64          // the cap on a gzip sitemap's size, unless meta download_maxsize sets one
}

// parse handles a response to a CallbackSitemap request, as Scrapy's
// SitemapSpider._parse_sitemap: a robots.txt (a URL whose path ends with
// "/robots.txt") yields a CallbackSitemap request for each Sitemap: line; a
// sitemap index, one for each sitemap it lists that follow matches; a
// sitemap, a CallbackPage request (with ErrbackPage) for each page.
//
// A body that is no sitemap, XML that breaks off, or locations that are not
// http(s) URLs yield what could be read and return an error wrapping
// ErrInvalidSitemap, which the engine logs; a gzip sitemap larger than its
// cap yields nothing and returns ErrSitemapTooLarge.
func (s sitemapReader) parse(_ context.Context, resp *framework.Response, out framework.Output) error {
	if isRobotsTxt(resp.URL) {
		var bad badLocs
		for _, loc := range sitemapsFromRobots(resp.Body) {
			r, err := requestFor(resp.URL, loc, true)
			if err != nil {
				bad.add(loc, err)
				continue
			}
			r.Callback = CallbackSitemap
			out.Request(r)
		}
		return bad.err(resp.URL, "Sitemap: line")
	}
	sc, readErr := readSitemap(resp.Body, sitemapMaxSize(resp.Request, s.maxSize))
	if errors.Is(readErr, ErrSitemapTooLarge) {
		return fmt.Errorf("%s: %w", resp.URL, readErr)
	}
	var bad badLocs
	n := 0
	for _, loc := range sc.locs {
		if sc.kind == sitemapIndex && s.follow != nil && !s.follow.MatchString(loc) {
			continue
		}
		r, err := requestFor(resp.URL, loc, false)
		if err != nil {
			bad.add(loc, err)
			continue
		}
		if sc.kind == sitemapIndex {
			r.Callback = CallbackSitemap
		} else {
			r.Callback, r.Errback = CallbackPage, ErrbackPage
		}
		out.Request(r)
		n++
	}
	switch {
	case sc.kind == textSitemap && n == 0:
		// Nothing of it is a URL: it is no sitemap at all (an HTML or binary
		// response to a sitemap URL).
		return fmt.Errorf("%w: %s: neither XML nor a list of URLs", ErrInvalidSitemap, resp.URL)
	case readErr != nil && n > 0:
		return errors.Join(fmt.Errorf("%w: %s: %w (after %d locations)", ErrInvalidSitemap, resp.URL, readErr, n), bad.err(resp.URL, "location"))
	case readErr != nil:
		return errors.Join(fmt.Errorf("%w: %s: %w", ErrInvalidSitemap, resp.URL, readErr), bad.err(resp.URL, "location"))
	}
	return bad.err(resp.URL, "location")
}

// isRobotsTxt reports whether the path of rawURL ends with "/robots.txt".
func isRobotsTxt(rawURL string) bool {
	if i := strings.IndexAny(rawURL, "?#"); i >= 0 {
		rawURL = rawURL[:i]
	}
	return strings.HasSuffix(rawURL, "/robots.txt")
}

// requestFor returns a GET request for loc, or an error when loc is not an
// absolute http(s) URL. A relative loc is resolved against base when
// relative is true (robots.txt lines, which Scrapy joins to the robots.txt
// URL) and refused otherwise (sitemaps hold absolute URLs).
func requestFor(base, loc string, relative bool) (*framework.Request, error) {
	if !hasScheme(loc) {
		if !relative {
			return nil, errors.New("not an absolute URL")
		}
		b, err := url.Parse(base)
		if err != nil {
			return nil, err
		}
		ref, err := url.Parse(loc)
		if err != nil {
			return nil, err
		}
		loc = b.ResolveReference(ref).String()
	}
	r, err := framework.NewRequest(loc)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") || framework.Hostname(r.URL) == "" {
		return nil, errors.New("not an http(s) URL")
	}
	return r, nil
}

// hasScheme reports whether s starts with a URL scheme and a colon.
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

// badLocs counts the locations skipped because they are not URLs and keeps
// the first, for one error per response.
type badLocs struct {
	n     int
	first string
	err0  error
}

func (b *badLocs) add(loc string, err error) {
	if b.n == 0 {
		b.first, b.err0 = loc, err
	}
	b.n++
}

// err returns nil when nothing was skipped, otherwise an error wrapping
// ErrInvalidSitemap: `3 locations skipped, not http(s) URLs; the first: ...`.
func (b *badLocs) err(url, noun string) error {
	if b.n == 0 {
		return nil
	}
	if b.n > 1 {
		noun += "s"
	}
	return fmt.Errorf("%w: %s: %d %s skipped, not http(s) URLs; the first: %q: %w", ErrInvalidSitemap, url, b.n, noun, b.first, b.err0)
}
