// Package urlnorm ports the URL functions of w3lib 2.4.1 that Scrapy depends
// on: Safe (w3lib.url.safe_url_string, applied by Scrapy's Request
// constructor) and Canonicalize (w3lib.url.canonicalize_url, the URL that
// Scrapy's request fingerprint hashes). Results match w3lib byte for byte,
// including its quirks, so that fingerprints and requests.seen files are
// shared with Scrapy; testdata/w3lib_vectors.jsonl holds the expected results,
// computed by w3lib 2.4.1 itself on Python 3.13 (testdata/gen_vectors.py).
//
// The parts of Python that w3lib relies on are ported too: urllib.parse's
// splitting and quoting rules (Python 3.13), the ipaddress checks of bracketed
// hosts, and the "idna" codec (RFC 3490 with RFC 3491 nameprep on Unicode 3.2
// tables generated from Python's stringprep module by gen_nameprep.py).
// Unicode 3.2 NFKC is emulated with golang.org/x/text's current tables, which
// agree for every code point assigned in Unicode 3.2 apart from the five
// corrigenda handled explicitly.
//
// Go strings may hold bytes that are not UTF-8, which a Python str cannot:
// both functions percent-encode such bytes first, as w3lib does for a bytes
// URL. All functions are pure, safe for concurrent use and never panic.
package urlnorm
