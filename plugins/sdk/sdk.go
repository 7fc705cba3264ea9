package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/rs/zerolog"
)

// Order is the order in which a queue pops what was pushed.
type Order int

// Queue orders. The host relies on the order a queue declares to keep its
// prefetched entries valid; a queue that declares FIFO or LIFO must keep it.
const (
	// Unordered is any other order (priority queues use it).
	Unordered Order = iota
	// FIFO pops the oldest pushed entry first.
	FIFO
	// LIFO pops the newest pushed entry first.
	LIFO
)

func (o Order) String() string {
	switch o {
	case FIFO:
		return "fifo"
	case LIFO:
		return "lifo"
	default:
		return "unordered"
	}
}

// Entry is one request pushed to a queue.
type Entry struct {
	// Record is the request record: a format version byte followed by a
	// frontier.record.v1.Request message. Queues store it as opaque bytes.
	// The slice belongs to the queue once pushed.
	Record []byte
	// Priority, Slot and Start are the request's priority, download slot and
	// meta["is_start_request"]; the host sets them for priority queues only.
	Priority int64
	Slot     string
	Start    bool
}

// Delivery is one entry handed out by Pop: in flight until acknowledged or
// released.
type Delivery struct {
	// ID identifies the entry in flight within its queue.
	ID     uint64
	Record []byte
	// Redelivered is true when the entry was in flight when the queue was
	// last closed or its process died.
	Redelivered bool
}

// State counts a queue's entries.
type State struct {
	// Pending entries can be popped.
	Pending int
	// InFlight entries were popped and are neither acknowledged nor released.
	InFlight int
}

// Queue is a queue or priority queue served to the host. Methods are called
// from one goroutine at a time.
//
// A popped entry is in flight until Ack removes it for good or Release puts it
// back where it was popped from (the host releases entries it prefetched and
// did not hand out). A persistent queue that is closed or killed with entries
// in flight hands them out again, marked Redelivered, when reopened.
type Queue interface {
	// Push adds entries in order.
	Push(entries []Entry) error
	// Pop hands out up to max entries in the queue's order, marking them in
	// flight; it returns fewer (or none) when fewer are pending.
	Pop(max int) ([]Delivery, error)
	// Ack removes in-flight entries for good. Unknown IDs are ignored.
	Ack(ids []uint64) error
	// Release returns in-flight entries to where they were popped from.
	// Unknown IDs are ignored.
	Release(ids []uint64) error
	// Len returns the queue's counts.
	Len() State
	// Close releases the queue's resources; what is in flight stays in flight.
	Close() error
}

// Flusher is implemented by queues that buffer writes. Flush makes
// everything written so far durable. Queues that are not Flushers must make
// each call durable before returning.
type Flusher interface {
	Flush() error
}

// BatchWriter is implemented by queues that apply acknowledgements, releases
// and pushes together (one transaction). Write is called instead of Ack,
// Release and Push when a call carries more than one kind of write.
type BatchWriter interface {
	Write(ack, release []uint64, push []Entry) error
}

// QueueOptions are what a queue is opened with.
type QueueOptions struct {
	// Name is the component name the host opened.
	Name string
	// Key is where the queue lives: for disk queues a directory path the
	// queue may create; "" for the scheduler's memory priority queue.
	Key string
	// Logger is the plugin's logger with the component name.
	Logger zerolog.Logger
	// Persistent and SeparateStart are set for priority queues only: the
	// queue must recover everything from Key; start entries (Entry.Start)
	// pop after regular ones at equal priority.
	Persistent    bool
	SeparateStart bool
}

// QueueFactory opens queues of one name.
type QueueFactory struct {
	// Order is the pop order; ignored for priority queues (always Unordered).
	Order Order
	// Doc is a one-line description shown by `frontier list`.
	Doc string
	// New opens the queue stored under o.Key.
	New func(o QueueOptions) (Queue, error)
}

// SeenRequest is what a duplicate filter is asked about.
type SeenRequest struct {
	// Fingerprint is computed by the host's REQUEST_FINGERPRINTER_CLASS.
	Fingerprint []byte
	URL         string
	Method      string
}

// DupeFilter is a duplicate filter served to the host. Methods are called
// from one goroutine at a time.
type DupeFilter interface {
	// Seen records the fingerprint and reports whether it was recorded before.
	Seen(r SeenRequest) (bool, error)
	// Close releases the filter's resources; reason is the crawl's close reason.
	Close(reason string) error
}

// DupeFilterOptions are what a duplicate filter is opened with.
type DupeFilterOptions struct {
	Name string
	// JobDir is the crawl's JOBDIR, "" when it has none.
	JobDir string
	// Debug mirrors DUPEFILTER_DEBUG.
	Debug  bool
	Logger zerolog.Logger
}

// DupeFilterFactory opens duplicate filters of one name.
type DupeFilterFactory struct {
	Doc string
	New func(o DupeFilterOptions) (DupeFilter, error)
}

// Plugin is what a plugin binary serves. Names are the registry names
// settings use; each must be unique across the three maps.
type Plugin struct {
	// Name and Version identify the binary in messages.
	Name    string
	Version string
	// Queues are plain queues (SCHEDULER_DISK_QUEUE and the like), one
	// instance per key.
	Queues map[string]QueueFactory
	// Stores are plain queues too, served as stores of keyed buckets (one
	// store per job) to hosts that speak protocol version 2: the fast path
	// under a priority queue with many buckets. Prefer them to Queues for a
	// disk queue.
	Stores map[string]StoreFactory
	// PriorityQueues are priority queues (SCHEDULER_PRIORITY_QUEUE).
	PriorityQueues map[string]QueueFactory
	// DupeFilters are duplicate filters (DUPEFILTER_CLASS).
	DupeFilters map[string]DupeFilterFactory
	// Configure, when set, receives the `config` map of the plugin's PLUGINS
	// entry as a JSON object before anything is opened. See [DecodeConfig].
	Configure func(config json.RawMessage, log zerolog.Logger) error
	// ProtocolVersions, when set, limits the protocol versions served (a
	// subset of 1 and 2); by default the SDK serves both and the host picks
	// the newest. Hosts' tests use {1} to stand for a plugin built before
	// version 2.
	ProtocolVersions []int
}

// Component is one component a Plugin provides, as Describe reports it.
type Component struct {
	Name  string
	Kind  string // "queue", "priority queue" or "dupefilter"
	Order Order
	Doc   string
	// KeyedBuckets is set for a store (Plugin.Stores).
	KeyedBuckets bool
}

// Components lists what p provides, sorted by name.
func (p *Plugin) Components() []Component {
	var out []Component
	for n, f := range p.Queues {
		out = append(out, Component{Name: n, Kind: "queue", Order: f.Order, Doc: f.Doc})
	}
	for n, f := range p.Stores {
		out = append(out, Component{Name: n, Kind: "queue", Order: f.Order, Doc: f.Doc, KeyedBuckets: true})
	}
	for n, f := range p.PriorityQueues {
		out = append(out, Component{Name: n, Kind: "priority queue", Doc: f.Doc})
	}
	for n, f := range p.DupeFilters {
		out = append(out, Component{Name: n, Kind: "dupefilter", Doc: f.Doc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Validate reports whether p can be served: at least one component, names
// without whitespace, unique across kinds, every factory with a New.
func (p *Plugin) Validate() error {
	seen := map[string]bool{}
	check := func(name string, hasNew bool) error {
		if name == "" || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return fmt.Errorf("%w: component name %q is empty or holds whitespace", ErrInvalidPlugin, name)
		}
		if seen[name] {
			return fmt.Errorf("%w: component name %q is used twice", ErrInvalidPlugin, name)
		}
		seen[name] = true
		if !hasNew {
			return fmt.Errorf("%w: component %q has no New function", ErrInvalidPlugin, name)
		}
		return nil
	}
	for n, f := range p.Queues {
		if err := check(n, f.New != nil); err != nil {
			return err
		}
	}
	for n, f := range p.PriorityQueues {
		if err := check(n, f.New != nil); err != nil {
			return err
		}
	}
	for n, f := range p.DupeFilters {
		if err := check(n, f.New != nil); err != nil {
			return err
		}
	}
	for n, f := range p.Stores {
		if err := check(n, f.New != nil); err != nil {
			return err
		}
		if f.Order != FIFO && f.Order != LIFO {
			return fmt.Errorf("%w: store %q must be FIFO or LIFO", ErrInvalidPlugin, n)
		}
	}
	for _, v := range p.ProtocolVersions {
		if v != 1 && v != 2 {
			return fmt.Errorf("%w: protocol version %d: the SDK serves versions 1 and 2", ErrInvalidPlugin, v)
		}
	}
	if len(seen) == 0 {
		return fmt.Errorf("%w: it provides no component", ErrInvalidPlugin)
	}
	return nil
}

// DecodeConfig decodes a plugin config into v strictly: a key v has no field
// for is an error wrapping [ErrBadConfig], so a typo in settings.yaml does not
// pass unnoticed. An empty config leaves v unchanged.
func DecodeConfig(config json.RawMessage, v any) error {
	if len(bytes.TrimSpace(config)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(config))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return nil
}
