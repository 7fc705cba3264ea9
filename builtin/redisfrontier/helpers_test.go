package redisfrontier_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/redistest"
	"github.com/frontier-go/frontier/registry"
)

// newCrawler returns a crawler of spider "crawl" on srv with the Redis
// scheduler and overrides.
func newCrawler(t testing.TB, srv interface{ URL() string }, overrides map[string]any) *framework.Crawler {
	t.Helper()
	s := framework.NewSettings()
	code := framework.Source{Kind: framework.SourceCode}
	s.Set("SCHEDULER", "scrapy_redis.scheduler.Scheduler", code)
	s.Set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", code)
	s.Set("REDIS_URL", srv.URL(), code)
	s.Set("SCHEDULER_PERSIST", true, code)
	for k, v := range overrides {
		s.Set(k, v, code)
	}
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	return framework.NewCrawler(s, reg, framework.NewSpider("crawl"))
}

// openScheduler builds and opens the Redis scheduler of c; the test closes
// it unless it did.
func openScheduler(t testing.TB, c *framework.Crawler) *redisfrontier.Scheduler {
	t.Helper()
	f, err := framework.RequiredComponent[framework.SchedulerFactory](c, "SCHEDULER")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := f(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	s := sc.(*redisfrontier.Scheduler)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = s.Close("finished")
		}
	})
	return s
}

func client(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func req(t testing.TB, url string, prio int) *framework.Request {
	t.Helper()
	r, err := framework.NewRequest(url)
	if err != nil {
		t.Fatal(err)
	}
	r.Priority = prio
	return r
}

func urlf(host, path string, i int) string { return fmt.Sprintf("http://%s/%s/%d", host, path, i) }

// drain takes every request Next hands out now, finishing each.
func drain(t testing.TB, s *redisfrontier.Scheduler) []*framework.Request {
	t.Helper()
	var out []*framework.Request
	for {
		r, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			return out
		}
		out = append(out, r)
		if err := s.Finish(r, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func redisZ(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }
