package engine_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/engine"
	"github.com/frontier-go/frontier/framework"
)

// numbered serves every path with an empty page; requests carry their
// number after "&" in the query, as Scrapy's TestRequestSendOrder.
func numbered(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html></html>")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func numOf(u string) int {
	n, _ := strconv.Atoi(u[strings.LastIndex(u, "&")+1:])
	return n
}

// orderCase runs a crawl with CONCURRENT_REQUESTS=1 whose start function
// may enqueue requests directly, and returns the order in which requests
// reached the downloader.
func orderCase(t *testing.T, set []string, start func(req func(num, prio int) *framework.Request, enqueue func(*framework.Request)) iter.Seq[*framework.Request]) []int {
	t.Helper()
	srv := numbered(t)
	req := func(num, prio int) *framework.Request {
		r := framework.MustRequest(fmt.Sprintf("%s/delay?n=0&%d", srv.URL, num))
		r.Priority = prio
		r.Meta = map[string]any{framework.MetaDownloadSlot: "0"}
		return r
	}
	sp := framework.NewSpider("test")
	sp.HandleCallback("parse", func(context.Context, *framework.Response, framework.Output) error { return nil })
	var c *crawl.Crawl
	sp.Start = func(ctx context.Context) iter.Seq2[*framework.Request, error] {
		return func(yield func(*framework.Request, error) bool) {
			for r := range start(req, func(r *framework.Request) {
				if _, err := c.Frontier().Enqueue(r); err != nil {
					t.Error(err)
				}
			}) {
				if !yield(r, nil) {
					return
				}
			}
		}
	}
	quiet := zerolog.Nop()
	var err error
	c, err = crawl.NewCrawl(context.Background(), crawl.Options{
		Set:    append([]string{"CONCURRENT_REQUESTS=1", "STATS_DUMP=false"}, set...),
		Logger: &quiet, Spider: sp,
	}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []int
	c.Crawler().Signals.Connect(framework.SignalRequestReachedDownloader, func(ev framework.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, numOf(ev.Request.URL))
		return nil
	})
	res, err := c.Run(context.Background())
	if err != nil || res.Reason != "finished" {
		t.Fatalf("crawl: %q, %v", res.Reason, err)
	}
	return got
}

// lazyStart yields the start requests one at a time, running enqueue
// calls between them as Scrapy's start() coroutine does.
type step struct {
	yield   *framework.Request
	enqueue []*framework.Request
}

func steps(enqueue func(*framework.Request), ss ...step) iter.Seq[*framework.Request] {
	return func(yield func(*framework.Request) bool) {
		for _, s := range ss {
			for _, r := range s.enqueue {
				enqueue(r)
			}
			if s.yield != nil && !yield(s.yield) {
				return
			}
		}
	}
}

// TestRequestSendOrder ports Scrapy's tests/test_engine_loop.py
// TestRequestSendOrder: callback and higher-priority requests beat start
// requests, start requests keep their yield order, the first start
// request is sent at once.
func TestRequestSendOrder(t *testing.T) {
	type build func(req func(num, prio int) *framework.Request, enqueue func(*framework.Request)) iter.Seq[*framework.Request]
	cases := []struct {
		name  string
		set   []string
		nums  int
		start build
	}{
		{"default", nil, 6, func(req func(int, int) *framework.Request, enq func(*framework.Request)) iter.Seq[*framework.Request] {
			return steps(enq,
				step{yield: req(1, 0)},
				step{enqueue: []*framework.Request{req(2, 1), req(5, 0)}, yield: req(6, 0)},
				step{yield: req(3, 1)},
				step{yield: req(4, 1)},
			)
		}},
		{"lifo_start", []string{"SCHEDULER_START_MEMORY_QUEUE=scrapy.squeues.LifoMemoryQueue"}, 6, func(req func(int, int) *framework.Request, enq func(*framework.Request)) iter.Seq[*framework.Request] {
			return steps(enq,
				step{yield: req(1, 0)},
				step{enqueue: []*framework.Request{req(2, 1), req(5, 0)}, yield: req(6, 0)},
				step{yield: req(4, 1)},
				step{yield: req(3, 1)},
			)
		}},
		{"shared_queues", []string{"SCHEDULER_START_MEMORY_QUEUE=null"}, 13, func(req func(int, int) *framework.Request, enq func(*framework.Request)) iter.Seq[*framework.Request] {
			return steps(enq,
				step{yield: req(1, 0)},
				step{enqueue: []*framework.Request{req(7, 1), req(6, 1), req(13, 0), req(12, 0)}, yield: req(11, 0)},
				step{yield: req(10, 0)},
				step{yield: req(5, 1)},
				step{yield: req(4, 1)},
				step{enqueue: []*framework.Request{req(3, 1), req(2, 1), req(9, 0), req(8, 0)}},
			)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := orderCase(t, tc.set, tc.start)
			want := make([]int, tc.nums)
			for i := range want {
				want[i] = i + 1
			}
			if !slices.Equal(got, want) {
				t.Errorf("send order %v, want %v", got, want)
			}
		})
	}
}
