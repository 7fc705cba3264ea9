// Package engine drives a crawl, as Scrapy's ExecutionEngine: it pulls the
// spider's start requests lazily, asks the frontier for the next request
// while the downloader has room, downloads it (engine/download: per-slot
// concurrency and delays, retries, redirects, robots.txt), runs the
// spider's named callback or errback, hands the new requests to the
// frontier and the items to the feeds (engine/feed), and only then reports
// the request finished.
//
// # Nothing lost, nothing twice
//
// A request's output is committed in groups by one goroutine, in this
// order: its new requests are enqueued (by the goroutine that ran the
// callback), the frontier is flushed, so they are durable; its items are
// written to the feeds and the feeds' commit record, naming the request's
// delivery, is written; then the request is reported finished. So a
// request whose finish is durable has durable output, and a request whose
// finish is not comes back after a crash (in-flight redelivery): if the
// feeds' last commit names it, its output is already there and it is
// finished without being fetched again; otherwise the feeds are cut back
// to their last commit and it is fetched again. Items are exactly once;
// the pages fetched again after a kill are those in flight at the kill.
//
// # Stopping
//
// Run returns when the crawl is finished (nothing pending, nothing in
// flight, the start requests exhausted), when a CLOSESPIDER_* limit is
// reached, or when its context is cancelled: it then stops taking new
// requests, lets the downloads in flight finish, commits their output and
// returns with the reason "shutdown". Stopping harder is killing the
// process: the job directory makes that safe too.
//
// An Engine runs one crawl; its methods other than Run are safe to call
// from any goroutine while it runs.
package engine
