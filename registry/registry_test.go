package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/registry"
)

type queueFactory func(key string) string
type dupeFactory func() bool

func (queueFactory) Kind() registry.Kind { return registry.KindQueue }
func (dupeFactory) Kind() registry.Kind  { return registry.KindDupeFilter }

// otherQueueFactory is a second function type of the queue kind.
type otherQueueFactory func() int

func (otherQueueFactory) Kind() registry.Kind { return registry.KindQueue }

func fresh(t *testing.T) *registry.Registry {
	t.Helper()
	r := registry.New()
	r.MustRegister(
		registry.Entry{Name: "frontier.queues.LifoMemory", Aliases: []string{"scrapy.squeues.LifoMemoryQueue"}, Factory: queueFactory(func(k string) string { return k }), Origin: "builtin"},
		registry.Entry{Name: "frontier.queues.FifoMemory", Aliases: []string{"scrapy.squeues.FifoMemoryQueue"}, Factory: queueFactory(func(k string) string { return k }), Origin: "builtin"},
		registry.Entry{Name: "frontier.dupefilters.RFP", Aliases: []string{"scrapy.dupefilters.RFPDupeFilter"}, Factory: dupeFactory(func() bool { return true }), Origin: "builtin"},
	)
	return r
}

func TestRegistryErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		run   func(r *registry.Registry) error
		is    error
		words []string
	}{
		{"unknown with suggestions", func(r *registry.Registry) error {
			_, err := r.Lookup("scrapy.squeues.LifoMemoryQueu")
			return err
		}, registry.ErrUnknown, []string{`"scrapy.squeues.LifoMemoryQueu"`, `did you mean "scrapy.squeues.LifoMemoryQueue"`, "undeclared plugin"}},
		{"unknown by last component", func(r *registry.Registry) error {
			_, err := r.Lookup("myproject.RFPDupeFilter")
			return err
		}, registry.ErrUnknown, []string{`"scrapy.dupefilters.RFPDupeFilter"`}},
		{"unknown with nothing close", func(r *registry.Registry) error {
			_, err := r.Lookup("acme.queues.SQLiteFifo")
			return err
		}, registry.ErrUnknown, []string{"undeclared plugin"}},
		{"wrong kind", func(r *registry.Registry) error {
			_, _, err := registry.Get[queueFactory](r, "scrapy.dupefilters.RFPDupeFilter")
			return err
		}, registry.ErrWrongKind, []string{"is a dupefilter, expected a queue"}},
		{"wrong factory type", func(r *registry.Registry) error {
			_, _, err := registry.Get[otherQueueFactory](r, "frontier.queues.LifoMemory")
			return err
		}, registry.ErrWrongKind, []string{"registry_test.queueFactory", "registry_test.otherQueueFactory"}},
		{"duplicate name", func(r *registry.Registry) error {
			return r.Register(registry.Entry{Name: "frontier.queues.LifoMemory", Factory: queueFactory(nil)})
		}, registry.ErrDuplicate, []string{"already registered", "builtin"}},
		{"duplicate alias", func(r *registry.Registry) error {
			return r.Register(registry.Entry{Name: "mine.Q", Aliases: []string{"scrapy.squeues.FifoMemoryQueue"}, Factory: queueFactory(nil)})
		}, registry.ErrDuplicate, []string{"scrapy.squeues.FifoMemoryQueue"}},
		{"empty name", func(r *registry.Registry) error {
			return r.Register(registry.Entry{Name: " ", Factory: queueFactory(nil)})
		}, registry.ErrInvalidName, nil},
		{"name with space", func(r *registry.Registry) error {
			return r.Register(registry.Entry{Name: "my queue", Factory: queueFactory(nil)})
		}, registry.ErrInvalidName, []string{"whitespace"}},
		{"nil factory", func(r *registry.Registry) error {
			return r.Register(registry.Entry{Name: "mine.Q"})
		}, registry.ErrNilFactory, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(fresh(t))
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestRegistryFailedRegisterLeavesNothing(t *testing.T) {
	r := fresh(t)
	before := r.Names()
	err := r.Register(registry.Entry{Name: "mine.New", Aliases: []string{"frontier.queues.LifoMemory"}, Factory: queueFactory(nil)})
	if err == nil {
		t.Fatal("expected a duplicate")
	}
	if _, err := r.Lookup("mine.New"); err == nil {
		t.Fatal("half-registered entry")
	}
	if len(r.Names()) != len(before) {
		t.Fatal(r.Names())
	}
}

func TestRegistryAliasesResolve(t *testing.T) {
	r := fresh(t)
	f, e, err := registry.Get[queueFactory](r, "scrapy.squeues.LifoMemoryQueue")
	if err != nil || e.Name != "frontier.queues.LifoMemory" || f("k") != "k" {
		t.Fatal(e, err)
	}
	if got := len(r.Entries()); got != 3 {
		t.Fatal(got)
	}
}

func TestEntryKindIsItsFactorysType(t *testing.T) {
	r := fresh(t)
	for name, want := range map[string]registry.Kind{
		"scrapy.squeues.FifoMemoryQueue":   registry.KindQueue,
		"scrapy.dupefilters.RFPDupeFilter": registry.KindDupeFilter,
	} {
		e, err := r.Lookup(name)
		if err != nil || e.Kind() != want {
			t.Errorf("%s: kind %q, %v; want %q", name, e.Kind(), err, want)
		}
	}
	if k := (registry.Entry{}).Kind(); k != "" {
		t.Errorf("entry without a factory: kind %q", k)
	}
}

func TestMustRegisterPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	fresh(t).MustRegister(registry.Entry{Name: "frontier.queues.LifoMemory", Factory: queueFactory(nil)})
}

func TestClosest(t *testing.T) {
	names := []string{"SCHEDULER_DEBUG", "SCHEDULER_DISK_QUEUE", "JOBDIR", "DUPEFILTER_CLASS"}
	if got := registry.Closest("SCHEDULER_DEBGU", names, 3); len(got) == 0 || got[0] != "SCHEDULER_DEBUG" {
		t.Fatal(got)
	}
	if got := registry.Closest("jobdir", names, 3); len(got) == 0 || got[0] != "JOBDIR" {
		t.Fatal(got)
	}
	if got := registry.Closest("COMPLETELY_DIFFERENT", names, 3); len(got) != 0 {
		t.Fatal(got)
	}
}
