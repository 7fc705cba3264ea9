package registry

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Kind is the kind of component a factory builds.
type Kind string

// The component kinds a setting can name.
const (
	KindQueue         Kind = "queue"
	KindPriorityQueue Kind = "priority queue"
	KindDupeFilter    Kind = "dupefilter"
	KindScheduler     Kind = "scheduler"
	KindFingerprinter Kind = "fingerprinter"
)

// Factory is a typed factory function: each kind has its own function type,
// and the type says its kind, so that a component's kind and its Go type are
// named once (framework's QueueFactory, PriorityQueueFactory, ...). Kind must
// not call the function: it is called on nil values.
type Factory interface {
	Kind() Kind
}

// Entry is one registered component.
type Entry struct {
	// Name is the primary name, e.g. "frontier.queues.LifoMemory".
	Name string
	// Aliases are other names that resolve to this entry, e.g. Scrapy's dotted
	// class path "scrapy.squeues.LifoMemoryQueue".
	Aliases []string
	// Factory is the kind's typed factory function; its type gives the
	// entry's kind. See [Get].
	Factory Factory
	// Origin says where the entry comes from: "builtin", "plugin:<name>" or "user".
	Origin string
	// Doc is a one-line description for listings.
	Doc string
}

// Kind is the kind of component the entry's factory builds.
func (e Entry) Kind() Kind {
	if e.Factory == nil {
		return ""
	}
	return e.Factory.Kind()
}

// Registry maps names and aliases to entries. The zero value is not usable; call [New].
type Registry struct {
	mu      sync.RWMutex
	entries map[string]*Entry // by primary name
	names   map[string]string // primary name or alias -> primary name
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{entries: map[string]*Entry{}, names: map[string]string{}}
}

// Register adds an entry. It fails with ErrInvalidName, ErrNilFactory or a
// *DuplicateError when the name or one of its aliases is already taken; in that
// case nothing is registered.
func (r *Registry) Register(e Entry) error {
	if e.Factory == nil {
		return fmt.Errorf("%w for %q", ErrNilFactory, e.Name)
	}
	if e.Origin == "" {
		e.Origin = "user"
	}
	all := append([]string{e.Name}, e.Aliases...)
	for _, n := range all {
		if err := validName(n); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, n := range all {
		if slices.Contains(all[:i], n) {
			return &DuplicateError{Name: n, Existing: e}
		}
		if p, ok := r.names[n]; ok {
			return &DuplicateError{Name: n, Existing: *r.entries[p]}
		}
	}
	e.Aliases = slices.Clone(e.Aliases)
	r.entries[e.Name] = &e
	for _, n := range all {
		r.names[n] = e.Name
	}
	return nil
}

// MustRegister registers entries and panics on the first error. It is meant for
// wiring built-ins at start-up, where an error is a programming mistake.
func (r *Registry) MustRegister(es ...Entry) {
	for _, e := range es {
		if err := r.Register(e); err != nil {
			panic(err)
		}
	}
}

// Lookup returns the entry registered under name, which may be an alias. An
// unknown name gives an *UnknownError listing the closest known names.
func (r *Registry) Lookup(name string) (Entry, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p, ok := r.names[name]; ok {
		return *r.entries[p], nil
	}
	known := make([]string, 0, len(r.names))
	for n := range r.names {
		known = append(known, n)
	}
	return Entry{}, &UnknownError{Name: name, Closest: Closest(name, known, 3)}
}

// Names returns every primary name and alias, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.names))
	for n := range r.names {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Entries returns every entry sorted by kind, then name.
func (r *Registry) Entries() []Entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := strings.Compare(string(a.Kind()), string(b.Kind())); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Get looks name up and returns its factory as F, checking that the entry
// is of F's kind. It is the one place where a factory of unknown type
// becomes typed.
func Get[F Factory](r *Registry, name string) (F, Entry, error) {
	var zero F
	e, err := r.Lookup(name)
	if err != nil {
		return zero, e, err
	}
	kind := zero.Kind()
	if e.Kind() != kind {
		return zero, e, &WrongKindError{Name: name, Expected: kind, Actual: e.Kind()}
	}
	f, ok := e.Factory.(F)
	if !ok {
		return zero, e, fmt.Errorf("%w: %q is registered as a %s but its factory is a %T, not a %T", ErrWrongKind, name, kind, e.Factory, zero)
	}
	return f, e, nil
}

func validName(n string) error {
	if strings.TrimSpace(n) == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	for _, c := range n {
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			return fmt.Errorf("%w: %q contains whitespace or control characters", ErrInvalidName, n)
		}
	}
	return nil
}
