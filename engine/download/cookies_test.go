package download

import (
	"net/http"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// cookieServer sets the cookies of /set?name=value and echoes the Cookie
// header of every request.
func cookieServer(t *testing.T) string {
	return serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			for k, v := range r.URL.Query() {
				http.SetCookie(w, &http.Cookie{Name: k, Value: v[0], Path: "/"})
			}
		}
		w.Write([]byte(r.Header.Get("Cookie")))
	})).URL
}

func TestCookies(t *testing.T) {
	base := cookieServer(t)
	type step struct {
		path    string
		meta    map[string]any
		cookies []framework.Cookie
		header  string // the request's own Cookie header
		want    string // the Cookie header the server saw
	}
	tests := []struct {
		name      string
		overrides []string
		steps     []step
	}{
		{"round trip", nil, []step{
			{path: "/set?session=abc", want: ""},
			{path: "/page", want: "session=abc"},
			{path: "/set?session=def", want: "session=abc"},
			{path: "/page", want: "session=def"},
		}},
		{"request cookies are sent and kept", nil, []step{
			{path: "/page", cookies: []framework.Cookie{{Name: "lang", Value: "en"}}, want: "lang=en"},
			{path: "/page", want: "lang=en"},
		}},
		{"a request's own header comes first", nil, []step{
			{path: "/set?a=1", want: ""},
			{path: "/page", header: "own=1", want: "own=1; a=1"},
		}},
		{"dont_merge_cookies", nil, []step{
			{path: "/set?session=abc", want: ""},
			{path: "/page", meta: map[string]any{MetaDontMergeCookies: true},
				cookies: []framework.Cookie{{Name: "only", Value: "me"}}, want: "only=me"},
			{path: "/set?session=zzz", meta: map[string]any{MetaDontMergeCookies: true}, want: ""},
			{path: "/page", want: "session=abc"},
		}},
		{"cookiejar keeps sessions apart", nil, []step{
			{path: "/set?user=one", meta: map[string]any{MetaCookieJar: 1}, want: ""},
			{path: "/set?user=two", meta: map[string]any{MetaCookieJar: int64(2)}, want: ""},
			{path: "/page", meta: map[string]any{MetaCookieJar: 1.0}, want: "user=one"},
			{path: "/page", meta: map[string]any{MetaCookieJar: "2"}, want: "user=two"},
			{path: "/page", want: ""},
		}},
		{"COOKIES_ENABLED=false", []string{"COOKIES_ENABLED=false"}, []step{
			{path: "/set?session=abc", want: ""},
			{path: "/page", cookies: []framework.Cookie{{Name: "lang", Value: "en"}}, want: ""},
			{path: "/page", header: "own=1", want: "own=1"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, _ := newDownloader(t, tt.overrides...)
			for i, s := range tt.steps {
				r := get(t, base+s.path)
				r.Meta, r.Cookies = s.meta, s.cookies
				if s.header != "" {
					r.Headers = http.Header{"Cookie": {s.header}}
				}
				if got := string(fetch(t, d, r).Body); got != s.want {
					t.Errorf("step %d (%s): server saw Cookie %q, want %q", i, s.path, got, s.want)
				}
			}
		})
	}
}

func TestCookiesDebug(t *testing.T) {
	base := cookieServer(t)
	d, _, logs := newDownloader(t, "COOKIES_DEBUG=true")
	fetch(t, d, get(t, base+"/set?a=1"))
	fetch(t, d, get(t, base+"/page"))
	got := logs.String()
	for _, want := range []string{"Received cookies from: <200 " + base + "/set?a=1>", "Set-Cookie: a=1; Path=/",
		"Sending cookies to: <GET " + base + "/page>", "Cookie: a=1"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
}
