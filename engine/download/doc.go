// Package download is the crawl engine's downloader and its download
// middlewares, as Scrapy's Downloader and DownloaderMiddlewares.
//
// [Downloader.Fetch] downloads one request through one shared HTTP
// transport. Requests wait in their download slot (the host name, meta
// download_slot, or the host's IP address with CONCURRENT_REQUESTS_PER_IP)
// for a free place (CONCURRENT_REQUESTS_PER_DOMAIN, or DOWNLOAD_SLOTS'
// concurrency) and for the delay since the slot's last start
// (DOWNLOAD_DELAY, randomized 0.5x to 1.5x by RANDOMIZE_DOWNLOAD_DELAY), and
// start in the order they came. Inside Fetch act what Scrapy does in
// middlewares on every request: DEFAULT_REQUEST_HEADERS and USER_AGENT,
// cookies (COOKIES_ENABLED, one jar per meta cookiejar value), compression
// (COMPRESSION_ENABLED), DOWNLOAD_TIMEOUT, DOWNLOAD_MAXSIZE and
// DOWNLOAD_WARNSIZE, and the downloader/* stats. CONCURRENT_REQUESTS is the
// engine's to enforce: it asks for a request only while
// [Downloader.ActiveTotal] is below it.
//
// The middlewares that turn a response or a failure into something else are
// types the engine calls around Fetch, in this order:
//
//	robots.Allowed(ctx, req)          // ROBOTSTXT_OBEY; false: drop req
//	resp, err := d.Fetch(ctx, req)
//	if err != nil {
//	    retry.OnError(req, err)       // a retry to schedule, or the errback
//	}
//	retry.OnResponse(req, resp)       // a retry, and a pause for the slot
//	redirect.OnResponse(req, resp)    // a request to schedule instead
//	httpError.Allowed(req, resp)      // false: the errback gets *framework.HTTPError
//
// Each decides as its Scrapy namesake (RetryMiddleware, RedirectMiddleware,
// HttpErrorMiddleware, RobotsTxtMiddleware), with the same settings, meta
// keys, stats keys and log lines.
//
// Differences from Scrapy: compression covers gzip and deflate, not brotli
// or zstd (a response in those is handed on undecoded, with its
// Content-Encoding); TLS certificates are verified, where Scrapy accepts any;
// with meta dont_merge_cookies a request's own Cookies are still sent (as
// Scrapy's documentation says, not as its code does), without the jar; with
// COOKIES_ENABLED false they are not (a Cookie header the request sets is).
// Proxies come from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY);
// meta proxy is not read.
package download
