package spiders

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, checked with errors.Is.
var (
	// ErrUnknownSpider marks a spider name New does not know; the error is an
	// *UnknownSpiderError.
	ErrUnknownSpider = errors.New("spiders: unknown spider")
	// ErrUnknownArgument marks an argument the spider does not take; the error
	// is an *ArgumentError.
	ErrUnknownArgument = errors.New("spiders: unknown argument")
	// ErrMissingArgument marks a required argument that is absent or blank;
	// the error is an *ArgumentError.
	ErrMissingArgument = errors.New("spiders: missing required argument")
	// ErrBadArgument marks an argument whose value the spider cannot use: a
	// start URL that is not an absolute http(s) URL, a domain that is a URL,
	// a regular expression that does not compile, a boolean that is neither
	// true nor false; the error is an *ArgumentError.
	ErrBadArgument = errors.New("spiders: bad argument")
	// ErrInvalidSitemap marks a response the sitemap spider cannot read as a
	// robots.txt or a sitemap, or a sitemap holding locations that are not
	// URLs. The callback returns it (the engine logs it) after yielding what
	// it could read.
	ErrInvalidSitemap = errors.New("spiders: invalid sitemap")
	// ErrSitemapTooLarge marks a gzip sitemap that decompresses to more than
	// its size cap; nothing of it is yielded.
	ErrSitemapTooLarge = errors.New("spiders: sitemap too large")
)

// UnknownSpiderError reports a spider name that is not one of the built-in
// spiders.
type UnknownSpiderError struct {
	Name    string
	Known   []string // the built-in spiders' names
	Closest []string // the known names that look like Name
}

func (e *UnknownSpiderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "spiders: unknown spider %q", e.Name)
	if len(e.Closest) > 0 {
		fmt.Fprintf(&b, " (did you mean %s?)", quoteList(e.Closest, " or "))
	}
	fmt.Fprintf(&b, "; the built-in spiders are %s", strings.Join(e.Known, ", "))
	return b.String()
}

func (e *UnknownSpiderError) Unwrap() error { return ErrUnknownSpider }

// ArgumentError reports an argument a spider cannot use, with a message
// that says what to change.
type ArgumentError struct {
	Spider   string // the spider's name
	Argument string // the argument's name
	Message  string // what is wrong, for a user: `start_urls: "example.com" is not a URL: ...`
	Err      error  // ErrUnknownArgument, ErrMissingArgument or ErrBadArgument
	Cause    error  // the error underneath, when there is one
}

func (e *ArgumentError) Error() string {
	return "spiders: " + e.Spider + ": " + e.Message
}

func (e *ArgumentError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

func quoteList(names []string, sep string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, sep)
}
