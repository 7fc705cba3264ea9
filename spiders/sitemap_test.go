package spiders

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

func gzipped(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const urlset = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url>
    <loc>https://www.example.com/</loc>
    <lastmod>2009-08-16</lastmod>
    <changefreq>daily</changefreq>
    <priority>1</priority>
  </url>
  <url>
    <loc>https://www.example.com/Special-Offers.html</loc>
    <lastmod>2009-08-16</lastmod>
  </url>
</urlset>`

const sitemapindex = `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
   <sitemap>
      <loc>https://www.example.com/sitemap1.xml.gz</loc>
      <lastmod>2004-10-01T18:23:17+00:00</lastmod>
   </sitemap>
   <sitemap>
      <loc>https://www.example.com/news/sitemap2.xml.gz</loc>
   </sitemap>
</sitemapindex>`

func TestParseSitemap(t *testing.T) {
	pages := func(urls ...string) []string { return urls }
	tests := []struct {
		name     string
		url      string
		ctype    string
		body     string
		follow   string
		maxSize  any // meta download_maxsize, when not nil
		sitemaps []string
		pages    []string
		err      error
		errText  string
	}{
		{
			name:  "urlset",
			url:   "https://www.example.com/sitemap.xml",
			ctype: "application/xml",
			body:  urlset,
			pages: pages("https://www.example.com/", "https://www.example.com/Special-Offers.html"),
		},
		{
			name:     "sitemap index",
			url:      "https://www.example.com/sitemap_index.xml",
			ctype:    "text/xml",
			body:     sitemapindex,
			sitemaps: pages("https://www.example.com/sitemap1.xml.gz", "https://www.example.com/news/sitemap2.xml.gz"),
		},
		{
			name:     "sitemap index, sitemap_follow",
			url:      "https://www.example.com/sitemap_index.xml",
			body:     sitemapindex,
			follow:   `/news/`,
			sitemaps: pages("https://www.example.com/news/sitemap2.xml.gz"),
		},
		{
			name:   "sitemap_follow does not filter pages",
			url:    "https://www.example.com/sitemap.xml",
			body:   urlset,
			follow: `/news/`,
			pages:  pages("https://www.example.com/", "https://www.example.com/Special-Offers.html"),
		},
		{
			name:  "gzip, by its magic bytes, whatever the URL",
			url:   "https://www.example.com/sitemap",
			ctype: "application/octet-stream",
			body:  gzipped(t, urlset),
			pages: pages("https://www.example.com/", "https://www.example.com/Special-Offers.html"),
		},
		{
			name:  ".xml.gz already decompressed",
			url:   "https://www.example.com/sitemap.xml.gz",
			ctype: "application/xml",
			body:  urlset,
			pages: pages("https://www.example.com/", "https://www.example.com/Special-Offers.html"),
		},
		{
			name:    "gzip larger than its cap",
			url:     "https://www.example.com/sitemap.xml.gz",
			body:    gzipped(t, urlset),
			maxSize: 100,
			err:     ErrSitemapTooLarge,
			errText: "more than 100 bytes once decompressed",
		},
		{
			name:    "gzip bomb under the spider's cap",
			url:     "https://www.example.com/sitemap.xml.gz",
			body:    gzipped(t, "<urlset>"+strings.Repeat(" ", 1<<20)+"</urlset>"),
			err:     ErrSitemapTooLarge,
			errText: "more than 65536 bytes",
		},
		{
			name:    "gzip cap of 0 is no cap, as in Scrapy",
			url:     "https://www.example.com/sitemap.xml.gz",
			body:    gzipped(t, urlset),
			maxSize: 0,
			pages:   pages("https://www.example.com/", "https://www.example.com/Special-Offers.html"),
		},
		{
			name:    "gzip cap as a float64 from a job directory",
			url:     "https://www.example.com/sitemap.xml.gz",
			body:    gzipped(t, urlset),
			maxSize: float64(len(urlset)),
			pages:   pages("https://www.example.com/", "https://www.example.com/Special-Offers.html"),
		},
		{
			name:    "truncated gzip keeps what it held",
			url:     "https://www.example.com/sitemap.xml.gz",
			body:    gzipped(t, urlset)[:len(gzipped(t, urlset))-4],
			pages:   pages("https://www.example.com/", "https://www.example.com/Special-Offers.html"),
			err:     ErrInvalidSitemap,
			errText: "unexpected EOF",
		},
		{
			name:  "plain text",
			url:   "https://www.example.com/sitemap.txt",
			ctype: "text/plain",
			body:  "\xef\xbb\xbfhttps://www.example.com/a\r\n\r\n  https://www.example.com/b  \nhttps://www.example.com/c",
			pages: pages("https://www.example.com/a", "https://www.example.com/b", "https://www.example.com/c"),
		},
		{
			name:    "plain text with lines that are not URLs",
			url:     "https://www.example.com/sitemap.txt",
			body:    "https://www.example.com/a\nftp://www.example.com/b\nmailto:x@example.com\nhttps://www.example.com/c\n",
			pages:   pages("https://www.example.com/a", "https://www.example.com/c"),
			err:     ErrInvalidSitemap,
			errText: `https://www.example.com/sitemap.txt: 2 locations skipped, not http(s) URLs; the first: "ftp://www.example.com/b"`,
		},
		{
			name:    "plain text that is no sitemap",
			url:     "https://www.example.com/sitemap",
			body:    "Welcome!\nThis is not a sitemap.\n",
			err:     ErrInvalidSitemap,
			errText: "https://www.example.com/sitemap: neither XML nor a list of URLs",
		},
		{
			name:    "binary",
			url:     "https://www.example.com/sitemap",
			body:    "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
			err:     ErrInvalidSitemap,
			errText: "neither XML nor a list of URLs",
		},
		{
			name:    "empty",
			url:     "https://www.example.com/sitemap.xml",
			body:    " \n ",
			err:     ErrInvalidSitemap,
			errText: "https://www.example.com/sitemap.xml: empty",
		},
		{
			name:    "HTML page",
			url:     "https://www.example.com/sitemap.xml",
			ctype:   "text/html",
			body:    "<!DOCTYPE html><html><head><title>Not here</title></head><body><a href='/'>home</a></body></html>",
			err:     ErrInvalidSitemap,
			errText: "root element <html> is neither <urlset> nor <sitemapindex>",
		},
		{
			name:    "XML that breaks off keeps the entries before",
			url:     "https://www.example.com/sitemap.xml",
			body:    "<urlset><url><loc>https://www.example.com/1</loc></url><url><loc>https://www.example.com/2</loc></url><url><loc>https://www.example.com/3",
			pages:   pages("https://www.example.com/1", "https://www.example.com/2"),
			err:     ErrInvalidSitemap,
			errText: "XML ends before its root element is closed (after 2 locations)",
		},
		{
			name:    "XML syntax error",
			url:     "https://www.example.com/sitemap.xml",
			body:    "<urlset><url><loc>https://www.example.com/1</loc></url><url <<>></urlset>",
			pages:   pages("https://www.example.com/1"),
			err:     ErrInvalidSitemap,
			errText: "XML error near line 1",
		},
		{
			name:    "no root element",
			url:     "https://www.example.com/sitemap.xml",
			body:    "<?xml version='1.0'?><!-- nothing -->",
			err:     ErrInvalidSitemap,
			errText: "no root element",
		},
		{
			name: "prefixes, CDATA, entities, whitespace, first loc, no loc, extensions",
			url:  "https://www.example.com/sitemap.xml",
			body: `<?xml version="1.0"?>
<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1" xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <sm:url><sm:loc><![CDATA[https://www.example.com/cdata?a=1&b=2]]></sm:loc></sm:url>
  <sm:url><sm:loc>
      https://www.example.com/spaced?a=1&amp;b=2
  </sm:loc></sm:url>
  <url><loc>https://www.example.com/first</loc><loc>https://www.example.com/second</loc></url>
  <url><lastmod>2020-01-01</lastmod></url>
  <url><loc></loc></url>
  <url><loc/></url>
  <url>
    <loc>https://www.example.com/with-image</loc>
    <image:image><image:loc>https://www.example.com/photo.jpg</image:loc></image:image>
    <xhtml:link rel="alternate" hreflang="de" href="https://www.example.com/de/"/>
  </url>
  <url><loc>https://www.example.com/unknown&nbsp;entity</loc></url>
</sm:urlset>`,
			pages: pages("https://www.example.com/cdata?a=1&b=2", "https://www.example.com/spaced?a=1&b=2", "https://www.example.com/first",
				"https://www.example.com/with-image", "https://www.example.com/unknown&nbsp;entity"),
		},
		{
			name:  "charset from the XML declaration",
			url:   "https://www.example.com/sitemap.xml",
			body:  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><urlset><url><loc>https://www.example.com/caf\xe9</loc></url></urlset>",
			pages: pages("https://www.example.com/caf%C3%A9"),
		},
		{
			name:    "unknown charset",
			url:     "https://www.example.com/sitemap.xml",
			body:    "<?xml version=\"1.0\" encoding=\"x-no-such\"?><urlset><url><loc>https://www.example.com/</loc></url></urlset>",
			err:     ErrInvalidSitemap,
			errText: "x-no-such",
		},
		{
			name:    "relative and non-ASCII locations",
			url:     "https://www.example.com/maps/sitemap.xml",
			body:    "<urlset><url><loc>/root</loc></url><url><loc>page</loc></url><url><loc>https://B\u00fccher.example/\u00e4?q=\u00e4</loc></url></urlset>",
			pages:   pages("https://xn--bcher-kva.example/%C3%A4?q=%C3%A4"),
			err:     ErrInvalidSitemap,
			errText: `2 locations skipped, not http(s) URLs; the first: "/root": not an absolute URL`,
		},
		{
			name:    "locations that are not http(s) URLs",
			url:     "https://www.example.com/sitemap.xml",
			body:    "<urlset><url><loc>ftp://www.example.com/f</loc></url><url><loc>https://www.example.com/ok</loc></url></urlset>",
			pages:   pages("https://www.example.com/ok"),
			err:     ErrInvalidSitemap,
			errText: `1 location skipped, not http(s) URLs; the first: "ftp://www.example.com/f"`,
		},
		{
			name:     "robots.txt",
			url:      "https://www.example.com/robots.txt",
			ctype:    "text/plain",
			body:     "User-agent: *\nDisallow: /private\n\nSitemap: https://www.example.com/sitemap.xml\r\n  sitemap:/relative.xml\nSITEMAP:   https://cdn.example.net/s.xml.gz  \n# Sitemap: https://www.example.com/commented\nSitemap:\nSitemap: \xff\xfe\nSitemaps: https://www.example.com/wrong.xml\n",
			sitemaps: pages("https://www.example.com/sitemap.xml", "https://www.example.com/relative.xml", "https://cdn.example.net/s.xml.gz"),
		},
		{
			name:     "robots.txt with a query",
			url:      "https://www.example.com/robots.txt?x=1",
			body:     "Sitemap: https://www.example.com/s.xml",
			sitemaps: pages("https://www.example.com/s.xml"),
		},
		{
			name:     "robots.txt with lines that are not URLs",
			url:      "https://www.example.com/robots.txt",
			body:     "Sitemap: ftp://www.example.com/s.xml\nSitemap: https://www.example.com/ok.xml\nSitemap: mailto:x@example.com\n",
			sitemaps: pages("https://www.example.com/ok.xml"),
			err:      ErrInvalidSitemap,
			errText:  `2 Sitemap: lines skipped, not http(s) URLs; the first: "ftp://www.example.com/s.xml"`,
		},
		{
			name: "robots.txt without sitemaps",
			url:  "https://www.example.com/robots.txt",
			body: "User-agent: *\nDisallow:\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var follow *regexp.Regexp
			if tt.follow != "" {
				follow = regexp.MustCompile(tt.follow)
			}
			resp := textResponse(tt.url, tt.ctype, tt.body)
			if tt.maxSize != nil {
				resp.Request.Meta = map[string]any{"download_maxsize": tt.maxSize}
			}
			var out recorder
			err := sitemapReader{follow: follow, maxSize: 64 << 10}.parse(context.Background(), resp, &out)
			switch {
			case tt.err == nil && err != nil:
				t.Errorf("error: %v", err)
			case tt.err != nil && !errors.Is(err, tt.err):
				t.Errorf("error %v, want %v", err, tt.err)
			case tt.err != nil && !strings.Contains(err.Error(), tt.errText):
				t.Errorf("error %q does not hold %q", err, tt.errText)
			}
			if len(out.items) != 0 {
				t.Errorf("items = %v, want none", out.items)
			}
			var sitemaps, pages []string
			for _, r := range out.requests {
				switch {
				case r.Callback == CallbackSitemap && r.Errback == "":
					sitemaps = append(sitemaps, r.URL)
				case r.Callback == CallbackPage && r.Errback == ErrbackPage:
					pages = append(pages, r.URL)
				default:
					t.Errorf("request %v: callback %q errback %q", r, r.Callback, r.Errback)
				}
			}
			if !slices.Equal(sitemaps, tt.sitemaps) {
				t.Errorf("sitemap requests:\n got %q\nwant %q", sitemaps, tt.sitemaps)
			}
			if !slices.Equal(pages, tt.pages) {
				t.Errorf("page requests:\n got %q\nwant %q", pages, tt.pages)
			}
		})
	}
}

// The sitemap spider's pages are not followed.
func TestSitemapPagesNotFollowed(t *testing.T) {
	sp, err := New("sitemap", map[string]string{"sitemap_urls": "https://example.com/sitemap.xml"})
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := sp.Callback(CallbackPage)
	var out recorder
	if err := cb(context.Background(), htmlResponse("https://example.com/p", `<title>P</title><a href="/q">q</a>`), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.requests) != 0 {
		t.Errorf("requests = %q, want none", out.urls())
	}
	if got := out.pages(); len(got) != 1 || got[0].Title != "P" || !slices.Equal(got[0].Links, []string{"https://example.com/q"}) {
		t.Errorf("items = %#v", got)
	}
}

func TestSitemapMaxSize(t *testing.T) {
	const def = 12345
	tests := []struct {
		meta any
		want int64
	}{
		{nil, def},
		{1000, 1000},
		{int64(2000), 2000},
		{float64(3000), 3000},
		{0, 1<<63 - 1},
		{-5, def},
		{1e300, def},
		{"big", def},
	}
	for _, tt := range tests {
		r := framework.MustRequest("https://example.com/")
		if tt.meta != nil {
			r.Meta = map[string]any{"download_maxsize": tt.meta}
		}
		if got := sitemapMaxSize(r, def); got != tt.want {
			t.Errorf("sitemapMaxSize(%#v) = %d, want %d", tt.meta, got, tt.want)
		}
	}
	if sitemapMaxSize(nil, def) != def {
		t.Error("sitemapMaxSize(nil)")
	}
}
