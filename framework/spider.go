package framework

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"sync"
)

// Response is a downloaded response handed to a callback.
type Response struct {
	// URL is the response's URL: the request's, or where the last redirect
	// followed by the client led (frontier follows redirects through the
	// scheduler, so it is normally the request's).
	URL     string
	Status  int
	Headers http.Header
	Body    []byte
	Request *Request
	// Flags are Scrapy's response flags ("cached", "download_maxsize"...).
	Flags []string
}

// Follow returns a GET request for href resolved against the response's
// URL, as Scrapy's response.follow, with the same callback and errback as
// the response's request; set them on the returned request to change them.
func (r *Response) Follow(href string) (*Request, error) {
	base, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: response URL %q: %w", ErrInvalidURL, r.URL, err)
	}
	ref, err := url.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrInvalidURL, href, err)
	}
	next, err := NewRequest(base.ResolveReference(ref).String())
	if err != nil {
		return nil, err
	}
	if r.Request != nil {
		next.Callback, next.Errback = r.Request.Callback, r.Request.Errback
	}
	return next, nil
}

// Output receives what a callback or an errback yields, as Scrapy's
// generators do: requests to schedule and items to export, in order.
// Nothing yielded is scheduled or exported before the callback returns:
// the engine takes a callback's whole output at once, so that it is
// committed with the request's finish (nothing lost, nothing twice).
type Output interface {
	// Request schedules r (subject to the duplicate filter, the depth
	// limit and the allowed domains).
	Request(r *Request)
	// Item exports item: any value encoding/json can encode; a struct's
	// fields keep their order in CSV, a map's keys are sorted.
	Item(item any)
}

// Callback handles a response. Errback handles a request that failed.
// Both yield through out; an error they return is counted
// (spider_exceptions/*) and logged, and their output so far is kept.
type (
	Callback func(ctx context.Context, resp *Response, out Output) error
	Errback  func(ctx context.Context, req *Request, err error, out Output) error
)

// DefaultCallback is the callback of a request whose Callback is empty, as
// Scrapy's spider.parse.
const DefaultCallback = "parse"

// Spider is a crawl's spider: a name, named callbacks and errbacks (requests
// refer to them by name, so that requests can be stored), and State, a map of
// plain data that a job directory keeps between runs.
//
// Start yields the start requests; the engine pulls them lazily, as it
// has room, so a start list of millions of URLs is never held in memory.
// AllowedDomains, when not empty, keeps the crawl on those domains and
// their subdomains (Scrapy's allowed_domains and OffsiteMiddleware).
//
// Set the fields and register handlers before the crawl starts; lookups
// are safe for concurrent use.
type Spider struct {
	Name           string
	State          map[string]any
	Start          func(ctx context.Context) iter.Seq2[*Request, error]
	AllowedDomains []string

	mu        sync.RWMutex
	callbacks map[string]Callback
	errbacks  map[string]Errback
}

// NewSpider returns a spider with an empty state.
func NewSpider(name string) *Spider {
	return &Spider{Name: name, State: map[string]any{}, callbacks: map[string]Callback{}, errbacks: map[string]Errback{}}
}

// HandleCallback registers fn under name.
func (s *Spider) HandleCallback(name string, fn Callback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.callbacks == nil {
		s.callbacks = map[string]Callback{}
	}
	s.callbacks[name] = fn
}

// HandleErrback registers fn under name.
func (s *Spider) HandleErrback(name string, fn Errback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.errbacks == nil {
		s.errbacks = map[string]Errback{}
	}
	s.errbacks[name] = fn
}

// Callback returns the callback registered under name.
func (s *Spider) Callback(name string) (Callback, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn, ok := s.callbacks[name]
	return fn, ok
}

// Errback returns the errback registered under name.
func (s *Spider) Errback(name string) (Errback, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn, ok := s.errbacks[name]
	return fn, ok
}

// CallbackNames returns the registered callback names, sorted.
func (s *Spider) CallbackNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.callbacks))
	for n := range s.callbacks {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// StartURLs sets Start to yield a GET request for each URL, in order, to
// the default callback (Scrapy's start_urls). A URL that is not one is
// yielded as an error and the others still are.
func (s *Spider) StartURLs(urls ...string) {
	urls = slices.Clone(urls)
	s.Start = func(ctx context.Context) iter.Seq2[*Request, error] {
		return func(yield func(*Request, error) bool) {
			for _, u := range urls {
				if ctx.Err() != nil {
					return
				}
				r, err := NewRequest(u)
				if !yield(r, err) {
					return
				}
			}
		}
	}
}

// HTTPError is the error an errback receives for a response whose status
// its request's callback does not handle (Scrapy's HttpError from
// HttpErrorMiddleware): a status outside 200-299 that neither
// HTTPERROR_ALLOWED_CODES, HTTPERROR_ALLOW_ALL nor the request's meta
// handle_httpstatus_list / handle_httpstatus_all lets through.
type HTTPError struct {
	Response *Response
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("ignoring non-200 response (%d) %s", e.Response.Status, e.Response.URL)
}
