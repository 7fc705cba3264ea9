package framework

import "sync"

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
)

// Event is what a signal handler receives. Fields that do not apply are zero.
type Event struct {
	Signal  Signal
	Request *Request
	Spider  *Spider
	Reason  string
}

// Handler handles an event. Its error is returned by Send.
type Handler func(Event) error

// Signals dispatches events to connected handlers, in connection order.
// Methods are safe for concurrent use; handlers run on the sender's goroutine.
type Signals struct {
	mu       sync.RWMutex
	handlers map[Signal][]Handler
}

// NewSignals returns a dispatcher with no handlers.
func NewSignals() *Signals { return &Signals{handlers: map[Signal][]Handler{}} }

// Connect adds h to sig's handlers.
func (s *Signals) Connect(sig Signal, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[sig] = append(s.handlers[sig], h)
}

// Send calls every handler of ev.Signal and returns the first error; the
// remaining handlers still run.
func (s *Signals) Send(ev Event) error {
	s.mu.RLock()
	hs := s.handlers[ev.Signal]
	s.mu.RUnlock()
	var first error
	for _, h := range hs {
		if err := h(ev); err != nil && first == nil {
			first = err
		}
	}
	return first
}
