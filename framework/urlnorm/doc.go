// Package urlnorm is a port of w3lib's URL handling that Scrapy depends on:
// Safe (w3lib.url.safe_url_string, applied by Scrapy's Request constructor) and
// Canonicalize (w3lib.url.canonicalize_url, the basis of request fingerprints).
// Both are pure functions, safe for concurrent use, and never panic.
package urlnorm
