package spiders_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/frontier-go/frontier/spiders"
)

// The links spider, as "frontier crawl links" builds it from its arguments.
func ExampleNew() {
	sp, err := spiders.New("links", map[string]string{
		"start_urls": "https://example.com/, https://example.com/blog/",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sp.Name, sp.AllowedDomains, sp.CallbackNames())
	for r, err := range sp.Start(context.Background()) {
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(r, r.Callback, r.Errback)
	}
	// Output:
	// links [example.com] [parse]
	// <GET https://example.com/> parse page_error
	// <GET https://example.com/blog/> parse page_error
}

// An argument a spider cannot use is an error that says what to change.
func ExampleNew_badArgument() {
	_, err := spiders.New("links", map[string]string{"start_urls": "example.com"})
	fmt.Println(err)
	fmt.Println(errors.Is(err, spiders.ErrBadArgument))

	_, err = spiders.New("sitemaps", nil)
	fmt.Println(err)
	// Output:
	// spiders: links: start_urls: "example.com" is not a URL: no scheme; did you mean https://example.com?
	// true
	// spiders: unknown spider "sitemaps" (did you mean "sitemap"?); the built-in spiders are links, sitemap
}

func ExampleUsage() {
	for _, name := range spiders.Names() {
		fmt.Println(spiders.Usage(name))
		fmt.Println()
	}
	// Output:
	// links: crawls a site from its start URLs, following the links of every page
	// (Scrapy's LinkExtractor: <a> and <area>, images, documents and archives left
	// out), and exports one item per page, HTTP errors included: url, status, title,
	// depth, links.
	//   start_urls       (required) the URLs to start from, absolute http(s) URLs
	//                    separated by commas or spaces (write a comma inside a URL as
	//                    %2C)
	//   allowed_domains  the domains the crawl stays on, with their subdomains,
	//                    separated by commas (default: the hosts of start_urls)
	//   follow           true or false: request the links of every page, or only the
	//                    start URLs (default: true)
	//
	// sitemap: reads sitemaps as Scrapy's SitemapSpider does (the Sitemap: lines of a
	// robots.txt, sitemap indexes, XML sitemaps, gzip or not, and plain-text ones, one
	// URL per line), requests every page they list without following the pages' links,
	// and exports one item per page, HTTP errors included: url, status, title, depth,
	// links.
	//   sitemap_urls     (required) robots.txt, sitemap or sitemap index URLs,
	//                    separated by commas or spaces
	//   sitemap_follow   a regular expression (Go's RE2 syntax) that the URL of a
	//                    sitemap listed in a sitemap index must match to be read
	//                    (default: every sitemap)
	//   allowed_domains  the domains the crawl stays on, with their subdomains,
	//                    separated by commas (default: any)
}
