package host

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// Manager owns the plugin processes declared in PLUGINS: it starts each on
// first use and stops them all on Close. Its methods are safe for concurrent
// use.
type Manager struct {
	procs []*process

	mu     sync.Mutex
	closed bool
}

// NewManager returns a manager of decls; nothing is started.
func NewManager(decls []Decl) *Manager {
	m := &Manager{}
	for _, d := range decls {
		m.procs = append(m.procs, &process{decl: d})
	}
	return m
}

// Register reads the PLUGINS setting (see [ParseDecls]) and registers every
// component the plugins declare in reg, with the origin "plugin:<name>" and a
// factory of the right kind, so that a setting such as
// SCHEDULER_DISK_QUEUE: acme.queues.SQLiteFifo resolves like a built-in name.
// No process starts until a factory is first called. The caller must Close
// the Manager when the crawl ends (also on Ctrl-C) so that no plugin process
// is left running. Nothing is registered when an error is returned.
func Register(reg *registry.Registry, settings *framework.Settings) (*Manager, error) {
	st, _ := settings.Lookup("PLUGINS")
	decls, err := ParseDecls(st)
	if err != nil {
		return nil, err
	}
	m := NewManager(decls)
	if err := m.RegisterIn(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// RegisterIn registers the components of every declared plugin in reg. It
// checks first that none of their names is taken, so that nothing is
// registered when it fails.
func (m *Manager) RegisterIn(reg *registry.Registry) error {
	for _, p := range m.procs {
		for _, pr := range p.decl.Provides {
			if e, err := reg.Lookup(pr.Name); err == nil {
				return fmt.Errorf("%w: plugin %q provides %q, already registered (%s from %s)", ErrConfig, p.decl.Name, pr.Name, e.Kind(), e.Origin)
			}
		}
	}
	for _, p := range m.procs {
		for _, pr := range p.decl.Provides {
			e := registry.Entry{
				Name: pr.Name,

				Origin:  "plugin:" + p.decl.Name,
				Factory: m.factory(p, pr),
				Doc:     fmt.Sprintf("out-of-process %s from %s", pr.Kind, strings.Join(p.decl.Command, " ")),
			}
			if err := reg.Register(e); err != nil {
				return fmt.Errorf("plugin %q: %w", p.decl.Name, err)
			}
		}
	}
	return nil
}

func (m *Manager) factory(p *process, pr Provide) registry.Factory {
	switch pr.Kind {
	case registry.KindQueue:
		return framework.QueueFactory(func(ctx context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
			return openQueueOrBucket(ctx, p, c, pr.Name, cfg)
		})
	case registry.KindPriorityQueue:
		return framework.PriorityQueueFactory(func(ctx context.Context, c *framework.Crawler, cfg framework.PriorityQueueConfig) (framework.PriorityQueue, error) {
			return openQueue(ctx, p, c, pr.Name, cfg.Key, &cfg)
		})
	case registry.KindDupeFilter:
		return framework.DupeFilterFactory(func(ctx context.Context, c *framework.Crawler) (framework.DupeFilter, error) {
			return newDupeFilter(ctx, p, c, pr.Name)
		})
	}
	return nil
}

// Decls returns the declared plugins, in settings order.
func (m *Manager) Decls() []Decl {
	out := make([]Decl, len(m.procs))
	for i, p := range m.procs {
		out[i] = p.decl
	}
	return out
}

// Running returns the names of the plugins whose process is running.
func (m *Manager) Running() []string {
	var out []string
	for _, p := range m.procs {
		p.mu.Lock()
		if p.client != nil && !p.client.Exited() {
			out = append(out, p.decl.Name)
		}
		p.mu.Unlock()
	}
	return out
}

// Close closes every component still open (pushing buffered writes out and
// returning prefetched requests to their plugin), then stops every plugin
// process: each is asked to exit and killed after 2 s. It is safe to call
// more than once and from a signal handler; factories fail with ErrClosed
// afterwards.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range m.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.shutdown()
		}()
	}
	wg.Wait()
	return nil
}
