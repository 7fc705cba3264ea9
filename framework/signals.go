package framework

import (
	"sync"
	"sync/atomic"
)

// Signal names a crawl event, with Scrapy's names.
type Signal string

// The signals frontier sends.
const (
	// SignalRequestScheduled is sent before a request reaches the scheduler; a
	// handler returning an error wrapping ErrIgnoreRequest drops it.
	SignalRequestScheduled Signal = "request_scheduled"
	// SignalRequestDropped is sent when the scheduler rejects a request (a duplicate).
	SignalRequestDropped Signal = "request_dropped"
	// SignalSchedulerEmpty is sent when the scheduler has nothing to hand out.
	SignalSchedulerEmpty Signal = "scheduler_empty"
	SignalSpiderOpened   Signal = "spider_opened"
	SignalSpiderClosed   Signal = "spider_closed"
	// SignalRequestReachedDownloader is sent when the engine hands a request
	// to the downloader.
	SignalRequestReachedDownloader Signal = "request_reached_downloader"
	// SignalResponseReceived is sent for every response downloaded.
	SignalResponseReceived Signal = "response_received"
	// SignalItemScraped is sent for every item once committed to the feeds.
	SignalItemScraped Signal = "item_scraped"
)

// Event is what a signal handler receives. Fields that do not apply are zero.
type Event struct {
	Signal   Signal
	Request  *Request
	Response *Response
	Item     any
	Spider   *Spider
	Reason   string
}

// Handler handles an event. Its error is returned by Send.
type Handler func(Event) error

// Signals dispatches events to connected handlers, in connection order.
// Methods are safe for concurrent use; handlers run on the sender's goroutine.
// Sending takes no lock: handlers are connected before the crawl, rarely
// after, and a connection copies the table.
type Signals struct {
	mu       sync.Mutex // serialises Connect
	handlers atomic.Pointer[map[Signal][]Handler]
}

// NewSignals returns a dispatcher with no handlers.
func NewSignals() *Signals { return &Signals{} }

// Connect adds h to sig's handlers.
func (s *Signals) Connect(sig Signal, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[Signal][]Handler{}
	if cur := s.handlers.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	next[sig] = append(append([]Handler(nil), next[sig]...), h)
	s.handlers.Store(&next)
}

// Connected reports whether sig has a handler: a sender may then skip the
// work of building an event nobody receives, or, as a batch enqueue does,
// work ahead knowing no handler runs in between.
func (s *Signals) Connected(sig Signal) bool {
	cur := s.handlers.Load()
	return cur != nil && len((*cur)[sig]) > 0
}

// Send calls every handler of ev.Signal and returns the first error; the
// remaining handlers still run.
func (s *Signals) Send(ev Event) error {
	cur := s.handlers.Load()
	if cur == nil {
		return nil
	}
	var first error
	for _, h := range (*cur)[ev.Signal] {
		if err := h(ev); err != nil && first == nil {
			first = err
		}
	}
	return first
}
