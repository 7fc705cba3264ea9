package spiders

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func TestNames(t *testing.T) {
	if got, want := Names(), []string{"links", "sitemap"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
}

func TestUsage(t *testing.T) {
	for _, name := range Names() {
		u := Usage(name)
		if !strings.HasPrefix(u, name+": ") {
			t.Errorf("Usage(%q) does not start with the name:\n%s", name, u)
		}
		s, _ := lookup(name)
		for _, a := range s.args {
			if !strings.Contains(u, "\n  "+a.name+" ") {
				t.Errorf("Usage(%q) does not list %s:\n%s", name, a.name, u)
			}
		}
	}
	if !strings.Contains(Usage("links"), "start_urls       (required) the URLs to start from") {
		t.Errorf("Usage(links) does not align or mark required arguments:\n%s", Usage("links"))
	}
	if u := Usage("nope"); u != "" {
		t.Errorf("Usage(nope) = %q, want empty", u)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name   string
		spider string
		args   map[string]string
		is     error
		msg    string // the whole message when it starts with "spiders:", otherwise a part of it
	}{
		{"unknown spider", "lnks", nil, ErrUnknownSpider,
			`spiders: unknown spider "lnks" (did you mean "links"?); the built-in spiders are links, sitemap`},
		{"unknown spider, nothing close", "crawl", nil, ErrUnknownSpider,
			`spiders: unknown spider "crawl"; the built-in spiders are links, sitemap`},
		{"unknown argument", "links", map[string]string{"start_url": "https://example.com/"}, ErrUnknownArgument,
			`spiders: links: unknown argument "start_url" (did you mean "start_urls"?); links takes start_urls, allowed_domains, follow`},
		{"unknown argument of the other spider", "links", map[string]string{"start_urls": "https://example.com/", "sitemap_follow": "x"}, ErrUnknownArgument,
			`unknown argument "sitemap_follow"; links takes`},
		{"missing required", "links", map[string]string{"follow": "false"}, ErrMissingArgument,
			`links: missing required argument start_urls: the URLs to start from, absolute http(s) URLs`},
		{"blank required", "sitemap", map[string]string{"sitemap_urls": "  "}, ErrMissingArgument,
			`sitemap: missing required argument sitemap_urls: robots.txt, sitemap or sitemap index URLs`},
		{"only separators", "links", map[string]string{"start_urls": " , ,"}, ErrMissingArgument,
			`spiders: links: start_urls: no URL in " , ,"`},
		{"no scheme", "links", map[string]string{"start_urls": "example.com"}, ErrBadArgument,
			`spiders: links: start_urls: "example.com" is not a URL: no scheme; did you mean https://example.com?`},
		{"no scheme, second URL", "links", map[string]string{"start_urls": "https://example.com/, example.org/a"}, ErrBadArgument,
			`spiders: links: start_urls: "example.org/a" is not a URL: no scheme; did you mean https://example.org/a?`},
		{"no scheme, loopback", "links", map[string]string{"start_urls": "localhost:8080/x"}, ErrBadArgument,
			`"localhost:8080/x" is not a URL: no scheme; did you mean http://localhost:8080/x?`},
		{"not http", "links", map[string]string{"start_urls": "ftp://example.com/"}, ErrBadArgument,
			`spiders: links: start_urls: "ftp://example.com/" is not an http(s) URL: scheme "ftp"`},
		{"mistyped scheme", "links", map[string]string{"start_urls": "htps://example.com/"}, ErrBadArgument,
			`"htps://example.com/" is not an http(s) URL: scheme "htps"; did you mean https://example.com/?`},
		{"mailto", "links", map[string]string{"start_urls": "mailto:me@example.com"}, ErrBadArgument,
			`"mailto:me@example.com" is not an http(s) URL`},
		{"no host", "links", map[string]string{"start_urls": "https:///path"}, ErrBadArgument,
			`"https:///path" is not a URL: no host`},
		{"bad port", "links", map[string]string{"start_urls": "https://example.com:99999/"}, ErrBadArgument,
			`"https://example.com:99999/" is not a URL: `},
		{"domain is a URL", "links", map[string]string{"start_urls": "https://example.com/", "allowed_domains": "https://example.com/"}, ErrBadArgument,
			`spiders: links: allowed_domains: "https://example.com/" is a URL, not a domain; did you mean example.com?`},
		{"domain with a path", "links", map[string]string{"start_urls": "https://example.com/", "allowed_domains": "example.com/blog"}, ErrBadArgument,
			`allowed_domains: "example.com/blog" is not a domain; did you mean example.com?`},
		{"domain with a port", "sitemap", map[string]string{"sitemap_urls": "https://example.com/", "allowed_domains": "example.com:8080"}, ErrBadArgument,
			`spiders: sitemap: allowed_domains: "example.com:8080" has a port; a domain has none: did you mean example.com?`},
		{"bad boolean", "links", map[string]string{"start_urls": "https://example.com/", "follow": "maybe"}, ErrBadArgument,
			`spiders: links: follow: "maybe" is neither true nor false`},
		{"bad regexp", "sitemap", map[string]string{"sitemap_urls": "https://example.com/robots.txt", "sitemap_follow": "(news"}, ErrBadArgument,
			`spiders: sitemap: sitemap_follow: "(news" is not a regular expression (Go's RE2 syntax): error parsing regexp: missing closing ): ` + "`(news`"},
		{"sitemap URL without scheme", "sitemap", map[string]string{"sitemap_urls": "example.com/sitemap.xml"}, ErrBadArgument,
			`spiders: sitemap: sitemap_urls: "example.com/sitemap.xml" is not a URL: no scheme; did you mean https://example.com/sitemap.xml?`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := New(tt.spider, tt.args)
			if err == nil {
				t.Fatalf("New = %v, want an error", sp)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if strings.HasPrefix(tt.msg, "spiders:") {
				if err.Error() != tt.msg {
					t.Errorf("error:\n got %s\nwant %s", err, tt.msg)
				}
			} else if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error:\n got %s\nwant it to hold %s", err, tt.msg)
			}
			var ae *ArgumentError
			if errors.As(err, &ae) && (ae.Spider != tt.spider || ae.Argument == "") {
				t.Errorf("ArgumentError names spider %q argument %q", ae.Spider, ae.Argument)
			}
		})
	}
}

func TestNewLinks(t *testing.T) {
	tests := []struct {
		name    string
		args    map[string]string
		domains []string
		start   []string
		follow  bool
	}{
		{
			name:    "defaults: the start URLs' hosts",
			args:    map[string]string{"start_urls": "https://Example.com/a,https://example.com/b  http://www.example.org:8080/\nhttps://B\u00fccher.example/"},
			domains: []string{"example.com", "www.example.org", "xn--bcher-kva.example"},
			start:   []string{"https://example.com/a", "https://example.com/b", "http://www.example.org:8080/", "https://xn--bcher-kva.example/"},
			follow:  true,
		},
		{
			name:    "allowed domains given, follow off",
			args:    map[string]string{"start_urls": "https://example.com/a?b=\u00e9", "allowed_domains": "Example.com, .example.org,*.example.net,b\u00fccher.example,example.com", "follow": "False"},
			domains: []string{"example.com", "example.org", "example.net", "xn--bcher-kva.example"},
			start:   []string{"https://example.com/a?b=%C3%A9"},
		},
		{
			name:    "duplicate start URLs once",
			args:    map[string]string{"start_urls": "https://example.com/ https://example.com/", "follow": "1"},
			domains: []string{"example.com"},
			start:   []string{"https://example.com/"},
			follow:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := New("links", tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if sp.Name != "links" {
				t.Errorf("Name = %q", sp.Name)
			}
			if !slices.Equal(sp.AllowedDomains, tt.domains) {
				t.Errorf("AllowedDomains = %q, want %q", sp.AllowedDomains, tt.domains)
			}
			if got := sp.CallbackNames(); !slices.Equal(got, []string{CallbackPage}) {
				t.Errorf("CallbackNames = %q", got)
			}
			if _, ok := sp.Errback(ErrbackPage); !ok {
				t.Errorf("errback %q not registered", ErrbackPage)
			}
			var got []string
			for r, err := range sp.Start(context.Background()) {
				if err != nil {
					t.Fatal(err)
				}
				if r.Callback != CallbackPage || r.Errback != ErrbackPage || r.Method != "GET" {
					t.Errorf("start request %v: callback %q errback %q method %q", r, r.Callback, r.Errback, r.Method)
				}
				got = append(got, r.URL)
			}
			if !slices.Equal(got, tt.start) {
				t.Errorf("start URLs = %q, want %q", got, tt.start)
			}
			cb, _ := sp.Callback(CallbackPage)
			var out recorder
			resp := htmlResponse("https://example.com/", `<a href="/next">n</a>`)
			if err := cb(context.Background(), resp, &out); err != nil {
				t.Fatal(err)
			}
			if followed := len(out.requests) > 0; followed != tt.follow {
				t.Errorf("followed links: %v, want %v", followed, tt.follow)
			}
		})
	}
}

func TestStartIsLazy(t *testing.T) {
	sp, err := New("links", map[string]string{"start_urls": "https://a.example/ https://b.example/ https://c.example/"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range sp.Start(context.Background()) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("pulled %d", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for r := range sp.Start(ctx) {
		t.Errorf("cancelled start yielded %v", r)
	}
}

func TestNewSitemap(t *testing.T) {
	sp, err := New("sitemap", map[string]string{"sitemap_urls": "https://example.com/robots.txt,https://example.com/sitemap.xml.gz"})
	if err != nil {
		t.Fatal(err)
	}
	if sp.Name != "sitemap" || len(sp.AllowedDomains) != 0 {
		t.Errorf("Name %q, AllowedDomains %q", sp.Name, sp.AllowedDomains)
	}
	if got, want := sp.CallbackNames(), []string{CallbackPage, CallbackSitemap}; !slices.Equal(got, want) {
		t.Errorf("CallbackNames = %q, want %q", got, want)
	}
	if _, ok := sp.Errback(ErrbackPage); !ok {
		t.Errorf("errback %q not registered", ErrbackPage)
	}
	var got []string
	for r, err := range sp.Start(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Callback != CallbackSitemap || r.Errback != "" {
			t.Errorf("start request %v: callback %q errback %q", r, r.Callback, r.Errback)
		}
		got = append(got, r.URL)
	}
	if want := []string{"https://example.com/robots.txt", "https://example.com/sitemap.xml.gz"}; !slices.Equal(got, want) {
		t.Errorf("start URLs = %q, want %q", got, want)
	}

	sp, err = New("sitemap", map[string]string{"sitemap_urls": "https://example.com/robots.txt", "allowed_domains": "example.com", "sitemap_follow": "news"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sp.AllowedDomains, []string{"example.com"}) {
		t.Errorf("AllowedDomains = %q", sp.AllowedDomains)
	}
}

// Every name a spider's requests use is registered on it, so that a request
// read back from a job directory finds its handlers.
func TestRequestNamesAreRegistered(t *testing.T) {
	for _, tc := range []struct {
		spider string
		args   map[string]string
	}{
		{"links", map[string]string{"start_urls": "https://example.com/"}},
		{"sitemap", map[string]string{"sitemap_urls": "https://example.com/robots.txt"}},
	} {
		sp, err := New(tc.spider, tc.args)
		if err != nil {
			t.Fatal(err)
		}
		check := func(r *framework.Request) {
			t.Helper()
			cb := r.Callback
			if cb == "" {
				cb = framework.DefaultCallback
			}
			if _, ok := sp.Callback(cb); !ok {
				t.Errorf("%s: request %v names callback %q, not registered", tc.spider, r, cb)
			}
			if r.Errback != "" {
				if _, ok := sp.Errback(r.Errback); !ok {
					t.Errorf("%s: request %v names errback %q, not registered", tc.spider, r, r.Errback)
				}
			}
		}
		for r := range sp.Start(context.Background()) {
			check(r)
		}
		responses := []*framework.Response{
			htmlResponse("https://example.com/", `<a href="/a">a</a>`),
			textResponse("https://example.com/robots.txt", "text/plain", "Sitemap: https://example.com/s.xml"),
			textResponse("https://example.com/i.xml", "application/xml", `<sitemapindex><sitemap><loc>https://example.com/s.xml</loc></sitemap></sitemapindex>`),
			textResponse("https://example.com/s.xml", "application/xml", `<urlset><url><loc>https://example.com/p</loc></url></urlset>`),
		}
		for _, name := range sp.CallbackNames() {
			cb, _ := sp.Callback(name)
			for _, resp := range responses {
				var out recorder
				_ = cb(context.Background(), resp, &out)
				for _, r := range out.requests {
					check(r)
				}
			}
		}
	}
}
