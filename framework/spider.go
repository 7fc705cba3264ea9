package framework

import (
	"context"
	"net/http"
	"slices"
	"sync"
)

// Response is a downloaded response handed to a callback.
type Response struct {
	URL     string
	Status  int
	Headers http.Header
	Body    []byte
	Request *Request
}

// Callback handles a response. Errback handles a request that failed.
type (
	Callback func(ctx context.Context, resp *Response) error
	Errback  func(ctx context.Context, req *Request, err error) error
)

// Spider is a crawl's spider: a name, named callbacks and errbacks (requests
// refer to them by name, so that requests can be stored), and State, a map of
// plain data that a job directory keeps between runs.
//
// Register handlers before the crawl starts; lookups are safe for concurrent use.
type Spider struct {
	Name  string
	State map[string]any

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
