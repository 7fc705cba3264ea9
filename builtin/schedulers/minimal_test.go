package schedulers

import (
	"context"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// minimalScheduler has only the three required methods, as Scrapy's
// TestMinimalScheduler: a map keyed by URL.
type minimalScheduler struct{ m map[string]*framework.Request }

func (s *minimalScheduler) Enqueue(r *framework.Request) (bool, error) {
	if _, ok := s.m[r.URL]; ok {
		return false, nil
	}
	s.m[r.URL] = r
	return true, nil
}

func (s *minimalScheduler) Next() (*framework.Request, error) {
	for k, r := range s.m {
		delete(s.m, k)
		return r, nil
	}
	return nil, nil
}

func (s *minimalScheduler) HasPending() bool { return len(s.m) > 0 }

// Scrapy's TestMinimalScheduler: a user scheduler with only the required
// methods is selected by SCHEDULER, and its optional interfaces are absent.
func TestMinimalScheduler(t *testing.T) {
	c := newCrawler(t, map[string]any{"SCHEDULER": "myproject.MinimalScheduler"})
	c.Registry.MustRegister(registry.Entry{Name: "myproject.MinimalScheduler",
		Factory: framework.SchedulerFactory(func(context.Context, *framework.Crawler) (framework.Scheduler, error) {
			return &minimalScheduler{m: map[string]*framework.Request{}}, nil
		})})
	sf, err := framework.RequiredComponent[framework.SchedulerFactory](c, "SCHEDULER")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sf(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(framework.Opener); ok {
		t.Fatal("minimal scheduler is an Opener")
	}
	if _, ok := s.(framework.Lener); ok {
		t.Fatal("minimal scheduler is a Lener")
	}
	for _, u := range testURLs {
		if ok, _ := s.Enqueue(framework.MustRequest(u)); !ok {
			t.Fatal("refused", u)
		}
	}
	if ok, _ := s.Enqueue(framework.MustRequest(testURLs[0])); ok {
		t.Fatal("duplicate accepted")
	}
	var got []string
	for s.HasPending() {
		r, _ := s.Next()
		got = append(got, r.URL)
	}
	slices.Sort(got)
	if !slices.Equal(got, testURLs) {
		t.Fatal(got)
	}
}

// The default scheduler is what SCHEDULER names by default, through its alias.
func TestDefaultSchedulerFromSettings(t *testing.T) {
	c := newCrawler(t, nil)
	sf, err := framework.RequiredComponent[framework.SchedulerFactory](c, "SCHEDULER")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sf(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*Scheduler); !ok {
		t.Fatalf("%T", s)
	}
}
