package download

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func TestRedirectOnResponse(t *testing.T) {
	c, _ := newCrawler(t)
	rd, err := NewRedirect(c)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		url, method, body string
		headers           []string // header names left; nil: Authorization and Cookie
	}
	tests := []struct {
		name     string
		url      string
		method   string
		status   int
		location string
		meta     map[string]any
		want     *want // nil: not followed
	}{
		{"301", "http://a.test/x", "", 301, "http://a.test/y", nil, &want{url: "http://a.test/y", method: "GET"}},
		{"302 relative", "http://a.test/dir/x?q", "", 302, "other", nil, &want{url: "http://a.test/dir/other", method: "GET"}},
		{"307 absolute path", "http://a.test/dir/x", "", 307, "/root", nil, &want{url: "http://a.test/root", method: "GET"}},
		{"308 scheme-relative", "https://a.test/x", "", 308, "//b.test/y", nil, &want{url: "https://b.test/y", method: "GET", headers: []string{}}},
		{"fragment kept", "http://a.test/x#part", "", 302, "/y", nil, &want{url: "http://a.test/y#part", method: "GET"}},
		{"spaces made safe", "http://a.test/x", "", 302, "/a b", nil, &want{url: "http://a.test/a%20b", method: "GET"}},
		{"303 POST becomes GET", "http://a.test/form", "POST", 303, "/done", nil,
			&want{url: "http://a.test/done", method: "GET", headers: []string{"Cookie", "Authorization"}}},
		{"302 POST becomes GET", "http://a.test/form", "POST", 302, "/done", nil, &want{url: "http://a.test/done", method: "GET"}},
		{"301 POST becomes GET", "http://a.test/form", "POST", 301, "/done", nil, &want{url: "http://a.test/done", method: "GET"}},
		{"307 POST stays POST", "http://a.test/form", "POST", 307, "/again", nil,
			&want{url: "http://a.test/again", method: "POST", body: "a=1", headers: []string{"Content-Type", "Cookie", "Authorization"}}},
		{"308 PUT stays PUT", "http://a.test/form", "PUT", 308, "/again", nil,
			&want{url: "http://a.test/again", method: "PUT", body: "a=1", headers: []string{"Content-Type", "Cookie", "Authorization"}}},
		{"303 HEAD stays HEAD", "http://a.test/x", "HEAD", 303, "/y", nil, &want{url: "http://a.test/y", method: "HEAD"}},
		{"another host drops credentials", "http://a.test/form", "PUT", 307, "http://b.test/z", nil,
			&want{url: "http://b.test/z", method: "PUT", body: "a=1", headers: []string{"Content-Type"}}},
		{"another scheme drops Authorization", "https://a.test/form", "PUT", 307, "http://a.test/z", nil,
			&want{url: "http://a.test/z", method: "PUT", body: "a=1", headers: []string{"Content-Type", "Cookie"}}},
		{"200", "http://a.test/x", "", 200, "/y", nil, nil},
		{"304", "http://a.test/x", "", 304, "/y", nil, nil},
		{"no Location", "http://a.test/x", "", 302, "", nil, nil},
		{"not http", "http://a.test/x", "", 302, "ftp://a.test/file", nil, nil},
		{"dont_redirect", "http://a.test/x", "", 302, "/y", map[string]any{MetaDontRedirect: true}, nil},
		{"handle_httpstatus_list", "http://a.test/x", "", 302, "/y", map[string]any{MetaHandleStatusList: []any{int64(302)}}, nil},
		{"handle_httpstatus_list without the status", "http://a.test/x", "", 301, "/y",
			map[string]any{MetaHandleStatusList: []any{302.0}}, &want{url: "http://a.test/y", method: "GET"}},
		{"handle_httpstatus_all", "http://a.test/x", "", 302, "/y", map[string]any{MetaHandleStatusAll: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, tt.url)
			if tt.method != "" {
				r.Method = tt.method
			}
			r.Headers = http.Header{"Cookie": {"s=1"}, "authorization": {"Basic eA=="}}
			if r.Method == "POST" || r.Method == "PUT" {
				r.Body = []byte("a=1")
				r.Headers.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			before := len(r.Headers)
			r.Meta = tt.meta
			r.Callback, r.Errback, r.Priority, r.DontFilter = "parse_next", "on_error", 3, true
			r.Delivery = 42
			resp := &framework.Response{URL: r.URL, Status: tt.status, Headers: http.Header{}, Request: r}
			if tt.location != "" {
				resp.Headers.Set("Location", tt.location)
			}
			next, err := rd.OnResponse(r, resp)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if next != nil {
					t.Fatalf("followed to %s", next)
				}
				return
			}
			if next == nil {
				t.Fatal("not followed")
			}
			w := tt.want
			if next.URL != w.url || next.Method != w.method || string(next.Body) != w.body {
				t.Errorf("got %s with body %q, want <%s %s> with body %q", next, next.Body, w.method, w.url, w.body)
			}
			var headers []string
			for k := range next.Headers {
				headers = append(headers, http.CanonicalHeaderKey(k))
			}
			if w.headers == nil {
				w.headers = []string{"Authorization", "Cookie"}
			}
			slices.Sort(headers)
			slices.Sort(w.headers)
			if !slices.Equal(headers, w.headers) && len(headers)+len(w.headers) > 0 {
				t.Errorf("headers %v, want %v", headers, w.headers)
			}
			if next.Callback != "parse_next" || next.Errback != "on_error" || !next.DontFilter || next.Priority != 5 || next.Delivery != 0 {
				t.Errorf("redirect %+v", next)
			}
			if next.Meta[MetaRedirectTimes] != 1 || next.Meta[MetaRedirectTTL] != 19 ||
				!slices.Equal(next.Meta[MetaRedirectURLs].([]any), []any{tt.url}) ||
				!slices.Equal(next.Meta[MetaRedirectReasons].([]any), []any{tt.status}) {
				t.Errorf("meta %v", next.Meta)
			}
			if r.URL != tt.url || r.Meta[MetaRedirectTimes] != nil || len(r.Headers) != before {
				t.Errorf("the original request changed: %+v", r)
			}
		})
	}
}

// TestRedirectChain follows a chain of redirects through a server, and a
// loop that ends at REDIRECT_MAX_TIMES.
func TestRedirectChain(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/hop/one", http.StatusMovedPermanently)
		case "/hop/one":
			w.Header().Set("Location", "two") // relative to /hop/
			w.WriteHeader(http.StatusFound)
		case "/hop/two":
			http.Redirect(w, r, "/final", http.StatusSeeOther)
		case "/final":
			fmt.Fprintf(w, "%s %s", r.Method, mustRead(r.Body))
		case "/loop-a":
			http.Redirect(w, r, "/loop-b", http.StatusFound)
		case "/loop-b":
			http.Redirect(w, r, "/loop-a", http.StatusFound)
		}
	}))
	t.Run("chain", func(t *testing.T) {
		p, _, _ := newPipeline(t)
		r := get(t, srv.URL+"/start")
		r.Method, r.Body = "POST", []byte("x=1")
		resp, err, sent := p.run(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Body) != "GET " {
			t.Errorf("final body %q, want a GET without body", resp.Body)
		}
		want := []any{srv.URL + "/start", srv.URL + "/hop/one", srv.URL + "/hop/two"}
		last := sent[len(sent)-1]
		if last.URL != srv.URL+"/final" || !slices.Equal(last.Meta[MetaRedirectURLs].([]any), want) ||
			!slices.Equal(last.Meta[MetaRedirectReasons].([]any), []any{301, 302, 303}) || last.Meta[MetaRedirectTimes] != 3 {
			t.Errorf("last request %s with meta %v", last, last.Meta)
		}
	})
	t.Run("loop", func(t *testing.T) {
		p, _, logs := newPipeline(t, "REDIRECT_MAX_TIMES=3")
		_, err, sent := p.run(context.Background(), get(t, srv.URL+"/loop-a"))
		if !errors.Is(err, ErrMaxRedirects) || !errors.Is(err, framework.ErrIgnoreRequest) {
			t.Fatalf("error %v, want ErrMaxRedirects and ErrIgnoreRequest", err)
		}
		if len(sent) != 4 {
			t.Errorf("%d requests, want 4 (the first and 3 redirects)", len(sent))
		}
		if !strings.Contains(logs.String(), "Discarding <GET "+srv.URL+"/loop-b>: max redirections reached") {
			t.Errorf("log lacks the discard line:\n%s", logs.String())
		}
	})
	t.Run("REDIRECT_ENABLED=false", func(t *testing.T) {
		p, _, _ := newPipeline(t, "REDIRECT_ENABLED=false", "HTTPERROR_ALLOW_ALL=true")
		resp, err, sent := p.run(context.Background(), get(t, srv.URL+"/start"))
		if err != nil || resp.Status != 301 || len(sent) != 1 {
			t.Errorf("got %v, %v after %d requests; want the 301", resp, err, len(sent))
		}
	})
}
