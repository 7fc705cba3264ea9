package demosite_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"

	"github.com/frontier-go/frontier/internal/demosite"
)

// A crawl test serves a site on a free loopback port, crawls it, and reads
// the site's counters.
func Example() {
	site := demosite.New(demosite.Test(100))
	srv, err := site.Serve(context.Background(), "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	for range 2 {
		resp, err := http.Get(srv.URL() + "/page/42")
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, regexp.MustCompile(`<title>.*</title>`).FindString(string(body)))
	}
	fmt.Println("expected items:", site.Expected())
	fmt.Println("fetches:", site.Fetches(), "unique:", site.Unique(), "duplicates:", site.Duplicates())
	// Output:
	// 200 <title>Page 42</title>
	// 200 <title>Page 42</title>
	// expected items: 100
	// fetches: 2 unique: 1 duplicates: 1
}

// The Demo profile has some pages of every kind.
func ExampleDemo() {
	site := demosite.New(demosite.Demo())
	for k := demosite.KindNormal; k <= demosite.KindLarge; k++ {
		fmt.Printf("%s: %d\n", k, site.Count(k))
	}
	// A handler test needs no server.
	rec := httptest.NewRecorder()
	site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/robots.txt", nil))
	fmt.Print(rec.Body.String())
	// Output:
	// normal: 2781
	// slow: 150
	// flaky: 30
	// retry-after: 6
	// gone: 30
	// large: 3
	// # The frontier demo site.
	// User-agent: *
	// Disallow: /private/
	//
	// Sitemap: http://example.com/sitemap.xml
}
