package crawl_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"

	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/engine"
	"github.com/frontier-go/frontier/framework"
)

// A program crawls with its own spider and settings, gets its items as Go
// values, and stops the crawl gracefully with a context (here, on Ctrl-C).
func ExampleRun() {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<title>home</title><a href="/about">about</a>`)
	}))
	defer site.Close()

	type page struct {
		URL    string `json:"url"`
		Status int    `json:"status"`
	}
	sp := framework.NewSpider("pages")
	sp.StartURLs(site.URL + "/")
	sp.HandleCallback(framework.DefaultCallback, func(_ context.Context, resp *framework.Response, out framework.Output) error {
		out.Item(page{URL: resp.URL, Status: resp.Status})
		next, err := resp.Follow("/about")
		if err != nil {
			return err
		}
		out.Request(next) // the duplicate filter drops the second /about
		return nil
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var pages []page
	res, err := crawl.Run(ctx, crawl.Options{
		Spider: sp,
		Set:    []string{"LOG_LEVEL=ERROR", "STATS_DUMP=false"}, // add "JOBDIR=crawls/pages-1" to make it resumable
	}, engine.Options{
		OnItem: func(item any) { pages = append(pages, item.(page)) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Reason, len(pages), res.Stats["response_received_count"], res.Stats["dupefilter/filtered"])
	// Output: finished 2 2 1
}
