package download_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/frontier-go/frontier/engine/download"
	"github.com/frontier-go/frontier/framework"
)

// Example shows the order in which the engine calls the downloader and its
// middlewares for one request; retries and redirects go back through the
// scheduler (here: straight back into the loop).
func Example() {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		case "/new":
			if hits++; hits == 1 {
				w.WriteHeader(http.StatusServiceUnavailable) // retried
				return
			}
			fmt.Fprint(w, "hello")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	settings, _ := framework.LoadSettings(framework.LoadOptions{Overrides: []string{"ROBOTSTXT_OBEY=true"}})
	c := framework.NewCrawler(settings, nil, nil)
	d, _ := download.New(c)
	defer d.Close()
	c.Downloader = d // before the scheduler is built
	robots, _ := download.NewRobots(c, d)
	retry, _ := download.NewRetry(c)
	redirect, _ := download.NewRedirect(c)
	httpErr, _ := download.NewHTTPError(c)

	ctx := context.Background()
	queue := []*framework.Request{framework.MustRequest(srv.URL + "/old"), framework.MustRequest(srv.URL + "/gone")}
	for len(queue) > 0 {
		req := queue[0]
		queue = queue[1:]
		if ok, err := robots.Allowed(ctx, req); err != nil || !ok {
			continue // dropped
		}
		resp, err := d.Fetch(ctx, req)
		if err != nil {
			if next, ok := retry.OnError(req, err); ok {
				queue = append(queue, next)
				continue
			}
			fmt.Println("errback:", err)
			continue
		}
		next, pause, ok := retry.OnResponse(req, resp)
		if pause > 0 {
			d.Pause(d.SlotKey(req), time.Now().Add(pause))
		}
		if ok {
			queue = append(queue, next)
			continue
		}
		if next, err := redirect.OnResponse(req, resp); err != nil {
			fmt.Println("errback:", err)
			continue
		} else if next != nil {
			queue = append(queue, next)
			continue
		}
		if !httpErr.Allowed(req, resp) {
			err := error(&framework.HTTPError{Response: resp}) // what the errback gets
			var he *framework.HTTPError
			if errors.As(err, &he) {
				fmt.Println("errback: HTTP status", he.Response.Status)
			}
			continue
		}
		fmt.Printf("callback: %d %s (redirected from %d URL, retried %v time)\n",
			resp.Status, resp.Body, len(req.Meta["redirect_urls"].([]any)), req.Meta["retry_times"])
	}
	fmt.Println("requests:", c.Stats.Get("downloader/request_count"), "retries:", c.Stats.Get("retry/count"))
	// Output:
	// errback: HTTP status 404
	// callback: 200 hello (redirected from 1 URL, retried 1 time)
	// requests: 5 retries: 1
}
