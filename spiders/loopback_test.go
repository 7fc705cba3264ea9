package spiders

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// testSite serves a small site on loopback: pages with links, an error page
// of each kind, a file that is no page, a robots.txt and sitemaps (a gzip
// file, one compressed on the fly, one that sitemap_follow leaves out).
func testSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(path, title, body string, status int) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%s</title></head><body>%s</body></html>", title, body)
		})
	}
	page("/", "Home", `<a href="/about">About</a> <a href="blog/">Blog</a> <a href="/missing">?</a>
		<a href="/data.json">data</a> <a href="/photo.jpg">photo</a> <a href="http://offsite.example/">elsewhere</a>
		<a href="mailto:me@example.com">mail</a>`, 200)
	page("/about", "About", `<a href="/">home</a> <a href="/about#team">team</a>`, 200)
	page("/blog/", "Blog", `<base href="/blog/posts/"><a href="one">1</a> <a href="two">2</a>`, 200)
	page("/blog/posts/one", "One", `<a href="/blog/">blog</a>`, 200)
	page("/blog/posts/two", "Oops", `<a href="/">home</a>`, 500)
	mux.HandleFunc("/data.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"href": "<a href='/x'>"}`)
	})
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow:\nSitemap: /sitemap_index.xml\n")
	})
	xml := func(root, entry string, locs ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><%s xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`, root)
		for _, l := range locs {
			fmt.Fprintf(&b, "<%s><loc>%s</loc></%s>", entry, l, entry)
		}
		fmt.Fprintf(&b, "</%s>", root)
		return b.String()
	}
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return b.Bytes()
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL
	mux.HandleFunc("/sitemap_index.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, xml("sitemapindex", "sitemap", base+"/sitemap1.xml.gz", base+"/sitemap2.xml.gz", base+"/skip/sitemap3.xml"))
	})
	mux.HandleFunc("/sitemap1.xml.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(gz(xml("urlset", "url", base+"/about", base+"/blog/")))
	})
	mux.HandleFunc("/sitemap2.xml.gz", func(w http.ResponseWriter, r *http.Request) {
		// XML compressed on the fly: the client decompresses it.
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gz(xml("urlset", "url", base+"/missing")))
	})
	mux.HandleFunc("/skip/sitemap3.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, xml("urlset", "url", base+"/data.json"))
	})
	return srv
}

// crawl runs sp against a server the way the engine does, in its simplest
// form: breadth first, each URL once, off-site requests dropped, meta
// "depth" set, a status outside 2xx handed to the request's errback as an
// *HTTPError. It returns the items and the errors the handlers returned.
func crawl(t *testing.T, sp *framework.Spider) ([]Page, []error) {
	t.Helper()
	ctx := context.Background()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	seen := map[string]bool{}
	var queue []*framework.Request
	push := func(r *framework.Request, depth int) {
		if seen[r.URL] || !onSite(sp.AllowedDomains, r.URL) {
			return
		}
		seen[r.URL] = true
		r.Meta = map[string]any{framework.MetaDepth: depth}
		queue = append(queue, r)
	}
	for r, err := range sp.Start(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		push(r, 0)
	}
	var items []Page
	var errs []error
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		hr, err := http.NewRequestWithContext(ctx, r.Method, r.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp := &framework.Response{URL: r.URL, Status: res.StatusCode, Headers: res.Header, Body: body, Request: r}
		var out recorder
		switch name := orDefault(r.Callback, framework.DefaultCallback); {
		case res.StatusCode >= 200 && res.StatusCode < 300:
			cb, ok := sp.Callback(name)
			if !ok {
				t.Fatalf("%v: no callback %q", r, name)
			}
			err = cb(ctx, resp, &out)
		case r.Errback != "":
			eb, ok := sp.Errback(r.Errback)
			if !ok {
				t.Fatalf("%v: no errback %q", r, r.Errback)
			}
			err = eb(ctx, r, &framework.HTTPError{Response: resp}, &out)
		}
		if err != nil {
			errs = append(errs, err)
		}
		items = append(items, out.pages()...)
		for _, next := range out.requests {
			push(next, r.Meta[framework.MetaDepth].(int)+1)
		}
	}
	return items, errs
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// onSite is the engine's offsite rule: no domains, or the host is one of
// them or a subdomain of one.
func onSite(domains []string, rawURL string) bool {
	if len(domains) == 0 {
		return true
	}
	host := framework.Hostname(rawURL)
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// summary writes a page item on one line, its links relative to base.
func summary(base string, p Page) string {
	links := make([]string, len(p.Links))
	for i, l := range p.Links {
		links[i] = strings.TrimPrefix(l, base)
	}
	return fmt.Sprintf("%s %d %q depth=%d links=%v", strings.TrimPrefix(p.URL, base), p.Status, p.Title, p.Depth, links)
}

func TestSpidersOnLoopback(t *testing.T) {
	srv := testSite(t)
	tests := []struct {
		name   string
		spider string
		args   map[string]string
		want   []string
	}{
		{
			name:   "links, following",
			spider: "links",
			args:   map[string]string{"start_urls": srv.URL + "/"},
			want: []string{
				`/ 200 "Home" depth=0 links=[/about /blog/ /missing /data.json http://offsite.example/]`,
				`/about 200 "About" depth=1 links=[/ /about]`,
				`/blog/ 200 "Blog" depth=1 links=[/blog/posts/one /blog/posts/two]`,
				`/missing 404 "" depth=1 links=[]`,
				`/data.json 200 "" depth=1 links=[]`,
				`/blog/posts/one 200 "One" depth=2 links=[/blog/]`,
				`/blog/posts/two 500 "Oops" depth=2 links=[]`,
			},
		},
		{
			name:   "links, not following",
			spider: "links",
			args:   map[string]string{"start_urls": srv.URL + "/, " + srv.URL + "/blog/posts/two", "follow": "false"},
			want: []string{
				`/ 200 "Home" depth=0 links=[/about /blog/ /missing /data.json http://offsite.example/]`,
				`/blog/posts/two 500 "Oops" depth=0 links=[]`,
			},
		},
		{
			name:   "sitemap from robots.txt",
			spider: "sitemap",
			args:   map[string]string{"sitemap_urls": srv.URL + "/robots.txt", "sitemap_follow": `/sitemap\d\.xml\.gz$`},
			want: []string{
				`/about 200 "About" depth=3 links=[/ /about]`,
				`/blog/ 200 "Blog" depth=3 links=[/blog/posts/one /blog/posts/two]`,
				`/missing 404 "" depth=3 links=[]`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := New(tt.spider, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			items, errs := crawl(t, sp)
			if len(errs) > 0 {
				t.Errorf("handler errors: %v", errs)
			}
			var got []string
			for _, p := range items {
				got = append(got, summary(srv.URL, p))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("items:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}
