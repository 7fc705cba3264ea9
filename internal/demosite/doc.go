// Package demosite is a synthetic website served on loopback: the site
// `frontier demo` crawls, the target of `frontier bench` and of the
// end-to-end and crash tests, and the instrument that measures a crawl, for
// it counts the requests for every URL and so reports duplicate fetches.
//
// A Config says how many pages there are, how many links each has, and how
// many misbehave: slow pages, pages that fail once with 500 or with 503 and
// Retry-After, gone pages (404), large pages, redirect aliases and a
// redirect loop, JSON and PNG links, a robots.txt-disallowed area and a
// connection that is reset. Demo, Bench and Test are the profiles the
// commands and tests use.
//
// Everything a Site serves follows from its Config: page i's links, kind and
// body text are pseudo-random functions of the seed and i, so a crawl that
// resumes against a new process, or a demo restarted on the same port, sees
// the same site. Page 0 is served at / and page i at /page/i; each has the
// title "Page i" and links to the next page (so that every page is reachable
// from /) and to pseudo-random others, written as absolute paths, relative
// paths, ../ paths and absolute URLs. Bodies are rendered per request into
// pooled buffers, so a crawl of a Bench site on loopback is not limited by
// the site.
//
// A Site is an http.Handler and is safe for concurrent use; Serve runs it on
// a TCP address until Close or until its context is done.
package demosite
