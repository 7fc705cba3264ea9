package linkextract

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func htmlResponse(url, ctype, body string) *framework.Response {
	h := http.Header{}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	return &framework.Response{URL: url, Status: 200, Headers: h, Body: []byte(body)}
}

func TestExtract(t *testing.T) {
	const page = "https://example.com/dir/page.html"
	tests := []struct {
		name  string
		url   string
		ctype string
		body  string
		title string
		links []string
	}{
		{
			name:  "a and area, resolved, in document order",
			body:  `<a href="/one">1</a><map><area href="two" shape="rect"></map><a href="https://other.example/three">3</a>`,
			links: []string{"https://example.com/one", "https://example.com/dir/two", "https://other.example/three"},
		},
		{
			name:  "other tags and attributes are not links",
			body:  `<link rel="next" href="/next"><img src="/i"><a name="x">anchor</a><a data-href="/d">d</a><form action="/f"></form><iframe src="/frame"></iframe>`,
			links: nil,
		},
		{
			name:  "duplicates keep the first",
			body:  `<a href="/b">b</a><a href="/a">a</a><a href="https://example.com/b">b again</a><a href="/a#x">a with fragment</a>`,
			links: []string{"https://example.com/b", "https://example.com/a"},
		},
		{
			name:  "fragments removed",
			body:  `<a href="/x#section">x</a><a href="#top">top</a><a href="?q=1#f">q</a>`,
			links: []string{"https://example.com/x", "https://example.com/dir/page.html", "https://example.com/dir/page.html?q=1"},
		},
		{
			name:  "schemes other than http and https, and empty hrefs, skipped",
			body:  `<a href="javascript:void(0)">js</a><a href="JavaScript:go()">JS</a><a href="mailto:a@example.com">m</a><a href="tel:+123">t</a><a href="data:text/html,hi">d</a><a href="">empty</a><a href="  ">blank</a><a href="ftp://example.com/f">ftp</a><a>none</a><a href="HTTP://EXAMPLE.com/Up">up</a>`,
			links: []string{"http://example.com/Up"},
		},
		{
			name:  "protocol-relative and parent paths",
			url:   "http://example.com/a/b/c",
			body:  `<a href="//cdn.example.com/x">cdn</a><a href="../up">up</a><a href="./same">same</a><a href="/a/./b/../z">z</a>`,
			links: []string{"http://cdn.example.com/x", "http://example.com/a/up", "http://example.com/a/b/same", "http://example.com/a/z"},
		},
		{
			name:  "base href",
			body:  `<head><base href="https://base.example/root/"></head><a href="x">x</a><a href="/y">y</a>`,
			links: []string{"https://base.example/root/x", "https://base.example/y"},
		},
		{
			name:  "relative base href resolves against the URL",
			body:  `<base href="/other/"><a href="x">x</a>`,
			links: []string{"https://example.com/other/x"},
		},
		{
			name:  "base after the links still applies, the first base wins",
			body:  `<a href="x">x</a><base href="https://first.example/"><base href="https://second.example/">`,
			links: []string{"https://first.example/x"},
		},
		{
			name:  "base that is not http(s) is ignored",
			body:  `<base href="javascript:alert(1)"><base href="https://second.example/"><a href="x">x</a>`,
			links: []string{"https://example.com/dir/x"},
		},
		{
			name:  "base without href is not the base",
			body:  `<base target="_blank"><base href="https://b.example/"><a href="x">x</a>`,
			links: []string{"https://b.example/x"},
		},
		{
			name:  "ignored extensions",
			body:  `<a href="a.jpg">1</a><a href="b.PDF">2</a><a href="c.tar.gz">3</a><a href="d.tar">4</a><a href="e.gz">5</a><a href="f.html">6</a><a href="get?file=g.pdf">7</a><a href="h.jpg?size=2">8</a><a href="i.jpg/">9</a><a href="docs.zip#x">10</a><a href="j.eps">11</a>`,
			links: []string{"https://example.com/dir/e.gz", "https://example.com/dir/f.html", "https://example.com/dir/get?file=g.pdf", "https://example.com/dir/i.jpg/"},
		},
		{
			name:  "hrefs made safe",
			body:  "<a href=\" /a b\n\">sp</a><a href=\"/c\td\">tab</a><a href=\"/100%\">pct</a><a href=\"/caf\u00e9?q=\u00e9\">utf8</a><a href=\"https://B\u00fccher.example/\">idn</a>",
			links: []string{"https://example.com/a%20b", "https://example.com/cd", "https://example.com/100%25", "https://example.com/caf%C3%A9?q=%C3%A9", "https://xn--bcher-kva.example/"},
		},
		{
			name:  "entities in attributes",
			body:  `<a href="/s?a=1&amp;b=2">amp</a><a href="/s?c=1&copy=2">legacy entity</a>`,
			links: []string{"https://example.com/s?a=1&b=2", "https://example.com/s?c=1&copy=2"},
		},
		{
			name:  "unresolvable hrefs skipped",
			body:  `<a href="http://exa mple.com/">space in host</a><a href="http://example.com:port/">bad port</a><a href="http://[::1/">bracket</a><a href="https://">no host</a><a href="/ok">ok</a>`,
			links: []string{"https://example.com/ok"},
		},
		{
			name:  "upper case and unquoted markup",
			body:  `<A HREF=/up>UP</A><a href='/single'>s</a><a class=x href=/unquoted target=_top>u</a>`,
			links: []string{"https://example.com/up", "https://example.com/single", "https://example.com/unquoted"},
		},
		{
			name:  "script, style, textarea and comments hold no links; noscript does",
			body:  `<script>document.write('<a href="/s">')</script><style>a[href="/st"]{}</style><textarea><a href="/ta"></a></textarea><!-- <a href="/c"> --><noscript><a href="/ns">ns</a></noscript><a href="/real">r</a>`,
			links: []string{"https://example.com/ns", "https://example.com/real"},
		},
		{
			name:  "broken markup",
			body:  `<html><body><div><a href="/one">one<a href="/two"><p>unclosed <a href="/three" <a href=/four>`,
			links: []string{"https://example.com/one", "https://example.com/two", "https://example.com/three"},
		},
		{
			name:  "first title, whitespace collapsed, entities decoded",
			body:  "<html><head><title>\n  Caf&eacute; &amp;\t Bar\r\n </title><title>second</title></head></html>",
			title: "Café & Bar",
		},
		{
			name:  "svg title is not the page's",
			body:  `<body><svg><title>icon</title></svg><title>page</title>`,
			title: "page",
		},
		{
			name:  "title with markup inside is text",
			body:  `<title>a <b>bold</b> claim</title>`,
			title: "a <b>bold</b> claim",
		},
		{
			name:  "self-closing title still has content",
			body:  `<title/>Text</title>`,
			title: "Text",
		},
		{
			name:  "unclosed title",
			body:  `<title>never closed <a href="/x">`,
			title: `never closed <a href="/x">`,
		},
		{
			name:  "empty first title",
			body:  `<title></title><title>second</title>`,
			title: "",
		},
		{
			name:  "no title",
			body:  `<p>hello</p>`,
			title: "",
		},
		{
			name:  "xhtml",
			ctype: "application/xhtml+xml",
			body:  `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title></head><body><a href="/x"/></body></html>`,
			title: "X",
			links: []string{"https://example.com/x"},
		},
		{
			name:  "without Content-Type, sniffed as HTML",
			ctype: "-",
			body:  `<!DOCTYPE html><title>sniffed</title><a href="/s">s</a>`,
			title: "sniffed",
			links: []string{"https://example.com/s"},
		},
		{
			name:  "without Content-Type, not HTML",
			ctype: "-",
			body:  "%PDF-1.4 <a href=\"/x\">",
		},
		{
			name:  "JSON is not HTML",
			ctype: "application/json",
			body:  `{"html": "<title>no</title><a href=\"/x\">"}`,
		},
		{
			name:  "plain text is not HTML",
			ctype: "text/plain; charset=utf-8",
			body:  `<title>no</title><a href="/x">`,
		},
		{
			name:  "Content-Type parameters and case",
			ctype: "Text/HTML ; charset=UTF-8",
			body:  `<title>ok</title>`,
			title: "ok",
		},
		{
			name:  "bad response URL: only absolute links",
			url:   "not a url",
			body:  `<a href="/rel">r</a><a href="https://abs.example/">a</a>`,
			links: []string{"https://abs.example/"},
		},
		{
			name:  "bad response URL with a base",
			url:   "::",
			body:  `<base href="https://b.example/d/"><a href="rel">r</a>`,
			links: []string{"https://b.example/d/rel"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				u = page
			}
			ctype := tt.ctype
			switch ctype {
			case "":
				ctype = "text/html"
			case "-":
				ctype = ""
			}
			got, err := Extract(htmlResponse(u, ctype, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != tt.title {
				t.Errorf("title = %q, want %q", got.Title, tt.title)
			}
			if !slices.Equal(got.Links, tt.links) {
				t.Errorf("links:\n got %q\nwant %q", got.Links, tt.links)
			}
		})
	}
}

func TestExtractCharset(t *testing.T) {
	tests := []struct {
		name  string
		ctype string
		body  string
		title string
		links []string
	}{
		{
			name:  "windows-1252 from Content-Type encodes the query in it",
			ctype: "text/html; charset=windows-1252",
			body:  "<title>caf\xe9</title><a href=\"/caf\xe9?q=\xe9\">x</a>",
			title: "café",
			links: []string{"https://example.com/caf%C3%A9?q=%E9"},
		},
		{
			name:  "meta charset",
			ctype: "text/html",
			body:  "<meta charset=\"iso-8859-2\"><title>\xb1</title>",
			title: "ą",
		},
		{
			name:  "meta http-equiv",
			ctype: "text/html",
			body:  "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\"><title>\xc1</title>",
			title: "а",
		},
		{
			name:  "Content-Type wins over meta",
			ctype: "text/html; charset=utf-8",
			body:  "<meta charset=\"iso-8859-2\"><title>\xc4\x85</title>",
			title: "ą",
		},
		{
			name:  "UTF-8 BOM",
			ctype: "text/html",
			body:  "\xef\xbb\xbf<title>\xc4\x85</title>",
			title: "ą",
		},
		{
			name:  "undeclared UTF-8 is detected",
			ctype: "text/html",
			body:  "<title>\xc4\x85</title>",
			title: "ą",
		},
		{
			name:  "undeclared and not UTF-8 is windows-1252",
			ctype: "text/html",
			body:  "<title>\x93q\x94</title>",
			title: "\u201cq\u201d",
		},
		{
			name:  "UTF-16 page, query in UTF-8",
			ctype: "text/html; charset=utf-16le",
			body:  utf16le("<title>\u00e9</title><a href=\"/?q=\u00e9\">x</a>"),
			title: "é",
			links: []string{"https://example.com/?q=%C3%A9"},
		},
		{
			name:  "unknown charset label falls back",
			ctype: "text/html; charset=no-such-charset",
			body:  "<title>plain</title>",
			title: "plain",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract(htmlResponse("https://example.com/", tt.ctype, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != tt.title {
				t.Errorf("title = %q, want %q", got.Title, tt.title)
			}
			if !slices.Equal(got.Links, tt.links) {
				t.Errorf("links:\n got %q\nwant %q", got.Links, tt.links)
			}
		})
	}
}

func utf16le(s string) string {
	b := make([]byte, 0, 2*len(s))
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

func TestExtractHeaderCase(t *testing.T) {
	resp := &framework.Response{
		URL:     "https://example.com/",
		Headers: http.Header{"content-type": {"application/pdf"}},
		Body:    []byte(`<html><a href="/x">`),
	}
	got, err := Extract(resp)
	if err != nil {
		t.Fatal(err)
	}
	if got.Links != nil {
		t.Errorf("links = %q, want none for a lower-case content-type of application/pdf", got.Links)
	}
}

func TestExtractNil(t *testing.T) {
	if _, err := Extract(nil); !errors.Is(err, ErrNilResponse) {
		t.Fatalf("err = %v, want ErrNilResponse", err)
	}
}

// Links are requests as they are: following one changes nothing.
func TestLinksAreStableUnderFollow(t *testing.T) {
	resp := htmlResponse("https://example.com/d/", "text/html",
		"<a href=\"/a b?c d&e=\u00e9\">x</a><a href=\"//h.example/%7e/x\">y</a><a href=\"../p;q=1\">z</a><a href=\"/x?\">w</a><a href=\"https://example.com:443/p\">port</a>")
	got, err := Extract(resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Links) != 5 {
		t.Fatalf("links = %q, want 5", got.Links)
	}
	for _, l := range got.Links {
		r, err := resp.Follow(l)
		if err != nil {
			t.Errorf("Follow(%q): %v", l, err)
			continue
		}
		if r.URL != l {
			t.Errorf("Follow(%q).URL = %q", l, r.URL)
		}
	}
}

func TestHasIgnoredExtension(t *testing.T) {
	for _, ext := range IgnoredExtensions() {
		if u := "https://example.com/file." + ext; !hasIgnoredExtension(u) {
			t.Errorf("%s not ignored", u)
		}
	}
	for _, u := range []string{"https://example.com/", "https://example.com", "https://example.com/x.html", "https://example.com/gz", "https://example.com/.", "https://example.com/x.", "https://example.com/x.pdf/y", "https://example.com/x?y.pdf", "https://example.com/x.pdfx"} {
		if hasIgnoredExtension(u) {
			t.Errorf("%s ignored", u)
		}
	}
}
