// Package spiders holds frontier's built-in spiders, the ones a crawl can
// run by name from the command line without writing Go:
//
//   - links crawls a site from start URLs, following the links of every
//     page, and exports one item per page ([Page]);
//   - sitemap reads sitemaps (robots.txt Sitemap: lines, sitemap indexes,
//     XML, gzip and plain-text sitemaps), as Scrapy's SitemapSpider, and
//     exports one item per page they list.
//
// [New] builds a spider from its name and its arguments (strings, as given
// on a command line), checking every argument first; [Names] and [Usage]
// describe what there is. The list of built-in spiders is fixed: a program
// with spiders of its own builds them with framework.NewSpider.
//
// A spider's callbacks and errbacks are registered under the names in
// [CallbackPage], [CallbackSitemap] and [ErrbackPage], and its requests
// refer to them by those names, so that they can be stored in a job
// directory. The engine does the rest, as Scrapy's does: duplicate and
// offsite filtering (AllowedDomains), depth (meta "depth", which the Page
// item reports), retries, redirects and robots.txt.
//
// The sitemap spider decompresses a gzip sitemap up to the request's meta
// "download_maxsize" (0: no cap), 50 MiB without it. What it cannot read (a
// response that is no sitemap, XML that breaks off, locations that are not
// http(s) URLs, a sitemap over its cap) its callback returns as an error
// wrapping ErrInvalidSitemap or ErrSitemapTooLarge, after yielding what it
// could read, for the engine to log.
//
// A spider returned by New is ready to crawl; its handlers are safe for
// concurrent use and keep no state between calls.
package spiders
