package spiders

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func htmlResponse(url, body string) *framework.Response {
	return textResponse(url, "text/html; charset=utf-8", body)
}

func textResponse(url, ctype, body string) *framework.Response {
	req := framework.MustRequest(url)
	h := http.Header{}
	if ctype != "" {
		h.Set("Content-Type", ctype)
	}
	return &framework.Response{URL: req.URL, Status: 200, Headers: h, Body: []byte(body), Request: req}
}

func withDepth(resp *framework.Response, d any) *framework.Response {
	resp.Request.Meta = map[string]any{framework.MetaDepth: d}
	return resp
}

func TestPageJSON(t *testing.T) {
	b, err := json.Marshal(Page{URL: "https://example.com/", Status: 200, Title: "Home", Depth: 1, Links: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"url":"https://example.com/","status":200,"title":"Home","depth":1,"links":[]}`; got != want {
		t.Fatalf("JSON:\n got %s\nwant %s", got, want)
	}
}

func TestParsePage(t *testing.T) {
	const body = `<title> Home </title><a href="/a">a</a><a href="b#x">b</a><a href="/a">again</a><a href="https://other.example/">o</a><a href="/i.png">i</a>`
	tests := []struct {
		name     string
		resp     *framework.Response
		follow   bool
		item     Page
		requests []string
	}{
		{
			name:     "item then links",
			resp:     htmlResponse("https://example.com/d/", body),
			follow:   true,
			item:     Page{URL: "https://example.com/d/", Status: 200, Title: "Home", Links: []string{"https://example.com/a", "https://example.com/d/b", "https://other.example/"}},
			requests: []string{"https://example.com/a", "https://example.com/d/b", "https://other.example/"},
		},
		{
			name:     "follow off",
			resp:     htmlResponse("https://example.com/d/", body),
			item:     Page{URL: "https://example.com/d/", Status: 200, Title: "Home", Links: []string{"https://example.com/a", "https://example.com/d/b", "https://other.example/"}},
			requests: []string{},
		},
		{
			name:     "depth as int",
			resp:     withDepth(htmlResponse("https://example.com/", "<title>t</title>"), 3),
			follow:   true,
			item:     Page{URL: "https://example.com/", Status: 200, Title: "t", Depth: 3, Links: []string{}},
			requests: []string{},
		},
		{
			name:     "depth as float64 after a job directory",
			resp:     withDepth(htmlResponse("https://example.com/", ""), float64(2)),
			follow:   true,
			item:     Page{URL: "https://example.com/", Status: 200, Depth: 2, Links: []string{}},
			requests: []string{},
		},
		{
			name:     "depth as json.Number",
			resp:     withDepth(htmlResponse("https://example.com/", ""), json.Number("4")),
			item:     Page{URL: "https://example.com/", Status: 200, Depth: 4, Links: []string{}},
			requests: []string{},
		},
		{
			name:     "not HTML: an item without links",
			resp:     textResponse("https://example.com/data.json", "application/json", `{"a": "<a href='/x'>"}`),
			follow:   true,
			item:     Page{URL: "https://example.com/data.json", Status: 200, Links: []string{}},
			requests: []string{},
		},
		{
			name:     "no request on the response",
			resp:     &framework.Response{URL: "https://example.com/", Status: 203, Headers: http.Header{"Content-Type": {"text/html"}}, Body: []byte(`<a href="x">`)},
			follow:   true,
			item:     Page{URL: "https://example.com/", Status: 203, Links: []string{"https://example.com/x"}},
			requests: []string{"https://example.com/x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out recorder
			if err := parsePage(tt.follow)(context.Background(), tt.resp, &out); err != nil {
				t.Fatal(err)
			}
			pages := out.pages()
			if len(pages) != 1 {
				t.Fatalf("items = %v, want one", out.items)
			}
			if got := pages[0]; got.URL != tt.item.URL || got.Status != tt.item.Status || got.Title != tt.item.Title || got.Depth != tt.item.Depth || !slices.Equal(got.Links, tt.item.Links) || got.Links == nil {
				t.Errorf("item:\n got %#v\nwant %#v", got, tt.item)
			}
			if got := out.urls(); !slices.Equal(got, tt.requests) {
				t.Errorf("requests = %q, want %q", got, tt.requests)
			}
			for _, r := range out.requests {
				if r.Callback != CallbackPage || r.Errback != ErrbackPage {
					t.Errorf("request %v: callback %q errback %q", r, r.Callback, r.Errback)
				}
			}
		})
	}
}

func TestPageError(t *testing.T) {
	notFound := &framework.Response{
		URL: "https://example.com/gone", Status: 404,
		Headers: http.Header{"Content-Type": {"text/html"}},
		Body:    []byte(`<title>Not Found</title><a href="/home">home</a>`),
	}
	req := framework.MustRequest("https://example.com/gone")
	req.Meta = map[string]any{framework.MetaDepth: float64(2)}
	tests := []struct {
		name string
		req  *framework.Request
		err  error
		want []Page
	}{
		{"HTTP error", req, &framework.HTTPError{Response: notFound},
			[]Page{{URL: "https://example.com/gone", Status: 404, Title: "Not Found", Depth: 2, Links: []string{}}}},
		{"wrapped HTTP error", req, errors.Join(errors.New("gave up"), &framework.HTTPError{Response: notFound}),
			[]Page{{URL: "https://example.com/gone", Status: 404, Title: "Not Found", Depth: 2, Links: []string{}}}},
		{"HTTP error without a body", req, &framework.HTTPError{Response: &framework.Response{URL: "https://example.com/gone", Status: 500}},
			[]Page{{URL: "https://example.com/gone", Status: 500, Depth: 2, Links: []string{}}}},
		{"HTTP error, response without URL", req, &framework.HTTPError{Response: &framework.Response{Status: 503}},
			[]Page{{URL: "https://example.com/gone", Status: 503, Depth: 2, Links: []string{}}}},
		{"connection error", req, errors.New("dial tcp: connection refused"), nil},
		{"HTTP error without response", req, &framework.HTTPError{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out recorder
			if err := pageError(context.Background(), tt.req, tt.err, &out); err != nil {
				t.Fatal(err)
			}
			if len(out.requests) != 0 {
				t.Errorf("requests = %q, want none", out.urls())
			}
			got := out.pages()
			if len(got) != len(tt.want) {
				t.Fatalf("items = %#v, want %#v", got, tt.want)
			}
			for i := range got {
				if g, w := got[i], tt.want[i]; g.URL != w.URL || g.Status != w.Status || g.Title != w.Title || g.Depth != w.Depth || g.Links == nil || len(g.Links) != 0 {
					t.Errorf("item:\n got %#v\nwant %#v", g, w)
				}
			}
		})
	}
}

func TestDepth(t *testing.T) {
	tests := []struct {
		meta any
		want int
	}{
		{nil, 0}, {0, 0}, {5, 5}, {int64(6), 6}, {int32(7), 7}, {uint32(8), 8}, {uint64(9), 9},
		{float64(3), 3}, {float32(4), 4}, {json.Number("10"), 10}, {json.Number("x"), 0},
		{"3", 0}, {-1.0, 0}, {1e300, 0},
	}
	for _, tt := range tests {
		r := framework.MustRequest("https://example.com/")
		if tt.meta != nil {
			r.Meta = map[string]any{framework.MetaDepth: tt.meta}
		}
		if got := depth(r); got != tt.want {
			t.Errorf("depth(%#v) = %d, want %d", tt.meta, got, tt.want)
		}
	}
	if depth(nil) != 0 {
		t.Error("depth(nil) != 0")
	}
}
