package linkextract

import (
	"net/http"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// FuzzExtract feeds Extract pages as a server might send them. Whatever the
// bytes, it must not panic, and every link must be an absolute http(s) URL
// without fragment, listed once, that a request built from it keeps as it is.
func FuzzExtract(f *testing.F) {
	seeds := []struct{ ctype, body string }{
		{"text/html", `<title> t </title><a href="/a">a</a><area href="b#c"><base href="https://b.example/">`},
		{"text/html; charset=windows-1252", "<a href=\"/\xe9?\xe9\">x</a>"},
		{"", `<!DOCTYPE html><a href="//h.example/%zz x">`},
		{"text/html", `<noscript><a href="/n"></noscript><svg><title>s</title><a href="/s"/></svg>`},
		{"application/xhtml+xml", `<a href="javascript:x"><a href="mailto:x"><a href="http://[::1]:80/">`},
		{"text/html", "<a href=\"\t/a\nb\r\">"},
		{"text/html", `<meta charset="shift_jis"><a href="/x?q=` + "\x82\xa0" + `">`},
		{"text/html", `<a href="http://Bücher.example/ü?ü#ü">`},
		{"text/plain", `<a href="/x">`},
	}
	for _, s := range seeds {
		f.Add(s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		resp := &framework.Response{URL: "https://example.com/d/p", Status: 200, Headers: http.Header{}, Body: body}
		if ctype != "" {
			resp.Headers.Set("Content-Type", ctype)
		}
		page, err := Extract(resp)
		if err != nil {
			t.Fatal(err)
		}
		if page.Title != collapse(page.Title) {
			t.Errorf("title %q not collapsed", page.Title)
		}
		seen := map[string]bool{}
		for _, l := range page.Links {
			if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
				t.Errorf("link %q is not http(s)", l)
			}
			if strings.Contains(l, "#") {
				t.Errorf("link %q has a fragment", l)
			}
			if seen[l] {
				t.Errorf("link %q twice", l)
			}
			seen[l] = true
			if hasIgnoredExtension(l) {
				t.Errorf("link %q has an ignored extension", l)
			}
			r, err := resp.Follow(l)
			if err != nil {
				t.Errorf("Follow(%q): %v", l, err)
			} else if r.URL != l {
				t.Errorf("Follow(%q).URL = %q", l, r.URL)
			}
		}
	})
}
