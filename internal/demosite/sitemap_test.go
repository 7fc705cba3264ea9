package demosite

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestRobots(t *testing.T) {
	s := New(Demo())
	rec := get(s, "http://127.0.0.1:8118/robots.txt")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("robots.txt: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var agent, sitemap string
	var disallow []string
	for line := range strings.Lines(rec.Body.String()) {
		name, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(name) {
		case "user-agent":
			agent = value
		case "disallow":
			disallow = append(disallow, value)
		case "sitemap":
			sitemap = value
		}
	}
	if agent != "*" || !slices.Equal(disallow, []string{"/private/"}) || sitemap != "http://127.0.0.1:8118/sitemap.xml" {
		t.Errorf("robots.txt says user-agent %q, disallow %q, sitemap %q:\n%s", agent, disallow, sitemap, rec.Body)
	}
}

func TestSitemaps(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"one page", Config{Pages: 1}},
		{"one sitemap", Test(1000)},
		{"gone pages over three sitemaps", Config{Pages: 2600, Seed: 8, GoneFraction: 0.05}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.cfg)
			const base = "http://example.com:81"
			rec := get(s, base+"/sitemap.xml")
			var index struct {
				XMLName  xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 sitemapindex"`
				Sitemaps []struct {
					Loc string `xml:"loc"`
				} `xml:"sitemap"`
			}
			if err := xml.Unmarshal(rec.Body.Bytes(), &index); err != nil {
				t.Fatalf("sitemap index: %v\n%s", err, rec.Body)
			}
			if want := (s.Expected() + sitemapURLs - 1) / sitemapURLs; len(index.Sitemaps) != want {
				t.Fatalf("%d sitemaps, want %d", len(index.Sitemaps), want)
			}
			var urls []string
			for k, sm := range index.Sitemaps {
				u, err := url.Parse(sm.Loc)
				if err != nil || u.Scheme+"://"+u.Host != base {
					t.Fatalf("sitemap %d at %q", k+1, sm.Loc)
				}
				rec := get(s, sm.Loc)
				body := rec.Body.Bytes()
				if strings.HasSuffix(u.Path, ".gz") {
					if rec.Header().Get("Content-Type") != "application/gzip" {
						t.Errorf("%s is %s", u.Path, rec.Header().Get("Content-Type"))
					}
					zr, err := gzip.NewReader(bytes.NewReader(body))
					if err != nil {
						t.Fatalf("%s: %v", u.Path, err)
					}
					if body, err = io.ReadAll(zr); err != nil {
						t.Fatalf("%s: %v", u.Path, err)
					}
				}
				var set struct {
					XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
					URLs    []struct {
						Loc string `xml:"loc"`
					} `xml:"url"`
				}
				if err := xml.Unmarshal(body, &set); err != nil {
					t.Fatalf("%s: %v", u.Path, err)
				}
				if len(set.URLs) == 0 || len(set.URLs) > sitemapURLs {
					t.Errorf("%s has %d URLs", u.Path, len(set.URLs))
				}
				for _, e := range set.URLs {
					urls = append(urls, e.Loc)
				}
			}
			if !slices.Equal(urls, s.PageURLs(base)) {
				t.Errorf("the sitemaps list %d URLs, not the %d PageURLs in order", len(urls), s.Expected())
			}
		})
	}
}
