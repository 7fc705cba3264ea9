package demosite

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strconv"
	"strings"
)

// sitemapURLs is the number of URLs in one sitemap file.
const sitemapURLs = 1000

// sitemapCount returns the number of sitemap files: the Expected pages,
// sitemapURLs at a time.
func (s *Site) sitemapCount() int {
	return (s.expected + sitemapURLs - 1) / sitemapURLs
}

// SitemapPath returns the path of sitemap k (from 1): odd ones are gzipped
// (pages-1.xml.gz), even ones plain (pages-2.xml).
func SitemapPath(k int) string {
	p := "/sitemaps/pages-" + strconv.Itoa(k) + ".xml"
	if k%2 == 1 {
		p += ".gz"
	}
	return p
}

func (s *Site) serveRobots(w http.ResponseWriter, r *http.Request) {
	body := "# The frontier demo site.\nUser-agent: *\nDisallow: /private/\n\nSitemap: " +
		scheme(r) + "://" + r.Host + "/sitemap.xml\n"
	writeBody(w, http.StatusOK, typeText, body)
}

func (s *Site) serveSitemapIndex(w http.ResponseWriter, r *http.Request) {
	base := scheme(r) + "://" + r.Host
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	for k := 1; k <= s.sitemapCount(); k++ {
		b.WriteString("<sitemap><loc>" + base + SitemapPath(k) + "</loc></sitemap>\n")
	}
	b.WriteString("</sitemapindex>\n")
	writeBytes(w, http.StatusOK, typeXML, b.Bytes())
}

// serveSitemap answers /sitemaps/name, the name being pages-K.xml (K even)
// or pages-K.xml.gz (K odd).
func (s *Site) serveSitemap(w http.ResponseWriter, r *http.Request, name string) {
	num, gz := strings.CutSuffix(name, ".xml.gz")
	if !gz {
		num = strings.TrimSuffix(name, ".xml")
	}
	num, ok := strings.CutPrefix(num, "pages-")
	k, err := strconv.Atoi(num)
	if !ok || err != nil || k < 1 || k > s.sitemapCount() || "/sitemaps/"+name != SitemapPath(k) {
		notFound(w)
		return
	}
	base := scheme(r) + "://" + r.Host
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	// The k-th run of sitemapURLs pages that are not gone.
	skip, n := (k-1)*sitemapURLs, 0
	for i := 0; i < s.cfg.Pages && n < sitemapURLs; i++ {
		if s.Kind(i) == KindGone {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		b.WriteString("<url><loc>" + base + PagePath(i) + "</loc></url>\n")
		n++
	}
	b.WriteString("</urlset>\n")
	if !gz {
		writeBytes(w, http.StatusOK, typeXML, b.Bytes())
		return
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(b.Bytes()) // writing to a bytes.Buffer cannot fail
	_ = zw.Close()
	writeBytes(w, http.StatusOK, typeGzip, z.Bytes())
}
