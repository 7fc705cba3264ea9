package spiders

import (
	"context"
	"strings"
	"testing"
)

// FuzzParseSitemap feeds the sitemap callback bodies as a server might send
// them, gzip or not, at a sitemap URL and at a robots.txt URL. Whatever the
// bytes, it must not panic, yield items, or request anything but absolute
// http(s) URLs with the spider's own callback names.
func FuzzParseSitemap(f *testing.F) {
	for _, s := range []string{
		urlset, sitemapindex,
		"https://example.com/a\nhttps://example.com/b\n",
		"Sitemap: https://example.com/s.xml\nsitemap: /rel.xml\n",
		"<?xml version='1.0' encoding='iso-8859-1'?><urlset><url><loc>https://example.com/\xe9</loc></url></urlset>",
		"<urlset><url><loc><![CDATA[https://example.com/?a&b]]></loc></url><url><loc>https://example.com/",
		"<sitemapindex><sitemap><loc>https://example.com/news.xml</loc></sitemap></sitemapindex>",
		"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><urlset><url><loc>https://example.com/&a;</loc></url></urlset>",
	} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
		f.Add(false, []byte(gzipped(f, s)))
	}
	f.Fuzz(func(t *testing.T, robots bool, body []byte) {
		u := "https://example.com/sitemap.xml"
		if robots {
			u = "https://example.com/robots.txt"
		}
		resp := textResponse(u, "", "")
		resp.Body = body
		var out recorder
		_ = sitemapReader{maxSize: 1 << 20}.parse(context.Background(), resp, &out)
		if len(out.items) != 0 {
			t.Errorf("items %v", out.items)
		}
		for _, r := range out.requests {
			if !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
				t.Errorf("request for %q", r.URL)
			}
			if r.Callback != CallbackSitemap && !(r.Callback == CallbackPage && r.Errback == ErrbackPage) {
				t.Errorf("request %v: callback %q errback %q", r, r.Callback, r.Errback)
			}
		}
	})
}
