package demosite

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Content types.
const (
	typeHTML = "text/html; charset=utf-8"
	typeText = "text/plain; charset=utf-8"
	typeJSON = "application/json"
	typePNG  = "image/png"
	typeXML  = "application/xml; charset=utf-8"
	typeGzip = "application/gzip"
)

// ServeHTTP answers one request. The routes:
//
//	/, /page/N          page 0 and page N, as their Kind says
//	/old/N, /moved/N    301 and 302 to page N's canonical path
//	/loop/a, /loop/b    302 to each other (Config.RedirectLoop)
//	/data/N.json        a JSON document (pages with assets)
//	/img/N.png          a PNG image (pages with assets)
//	/private/N          an HTML page without links, disallowed by robots.txt
//	/reset              the connection is reset (Config.ConnReset)
//	/robots.txt         allows all but /private/, names the sitemap
//	/sitemap.xml        a sitemap index of the sitemaps below
//	/sitemaps/pages-K.xml[.gz]  the canonical URLs of Expected pages, 1000 each
//
// Anything else is 404. Only the paths the Config provides for exist: with
// RedirectLoop false, /loop/a is 404, and /data/N.json exists only for the
// pages that link it.
//
// A slow page whose request context ends before SlowDelay (the client went
// away, or the Server is closing) panics with http.ErrAbortHandler, which
// net/http takes as the signal to drop the connection without an answer.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if i, ok := s.pageIndex(path); ok {
		s.servePage(w, r, i)
		return
	}
	s.hitOther(path)
	switch {
	case path == "/robots.txt":
		s.serveRobots(w, r)
	case path == "/sitemap.xml":
		s.serveSitemapIndex(w, r)
	case strings.HasPrefix(path, "/sitemaps/"):
		s.serveSitemap(w, r, path[len("/sitemaps/"):])
	case strings.HasPrefix(path, "/old/"):
		s.serveAlias(w, path[len("/old/"):], http.StatusMovedPermanently)
	case strings.HasPrefix(path, "/moved/"):
		s.serveAlias(w, path[len("/moved/"):], http.StatusFound)
	case s.cfg.RedirectLoop && path == "/loop/a":
		redirect(w, "/loop/b", http.StatusFound)
	case s.cfg.RedirectLoop && path == "/loop/b":
		redirect(w, "/loop/a", http.StatusFound)
	case strings.HasPrefix(path, "/data/") && strings.HasSuffix(path, ".json"):
		s.serveJSON(w, path[len("/data/"):len(path)-len(".json")])
	case strings.HasPrefix(path, "/img/") && strings.HasSuffix(path, ".png"):
		s.servePNG(w, path[len("/img/"):len(path)-len(".png")])
	case strings.HasPrefix(path, "/private/"):
		s.servePrivate(w, path[len("/private/"):])
	case s.cfg.ConnReset && path == "/reset":
		reset(w)
	default:
		notFound(w)
	}
}

// servePage answers a request for page i.
func (s *Site) servePage(w http.ResponseWriter, r *http.Request, i int) {
	n := s.hitPage(i)
	kind := s.Kind(i)
	switch {
	case kind == KindGone:
		notFound(w)
		return
	case kind == KindFlaky && n == 1:
		writeBody(w, http.StatusInternalServerError, typeText, "500 internal server error: try again\n")
		return
	case kind == KindRetryAfter && n == 1:
		w.Header()["Retry-After"] = []string{"1"}
		writeBody(w, http.StatusServiceUnavailable, typeText, "503 service unavailable: try again in 1 second\n")
		return
	case kind == KindSlow && s.cfg.SlowDelay > 0:
		t := time.NewTimer(s.cfg.SlowDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			// The client left or the server is closing: close the
			// connection instead of answering 200 with no body.
			panic(http.ErrAbortHandler)
		}
	}

	bp := s.bufs.Get().(*[]byte)
	body, split := s.appendPage((*bp)[:0], i, scheme(r), r.Host)
	var pad []byte
	if kind == KindLarge {
		pad = s.large
	}
	h := w.Header()
	h["Content-Type"] = s.htmlType // shared: net/http only reads it
	h["Content-Length"] = []string{strconv.Itoa(len(body) + len(pad))}
	s.okPage(i)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if pad == nil {
			_, _ = w.Write(body)
		} else {
			_, _ = w.Write(body[:split])
			_, _ = w.Write(pad)
			_, _ = w.Write(body[split:])
		}
	}
	*bp = body
	s.bufs.Put(bp)
}

// serveAlias redirects a /old/N or /moved/N alias to page N.
func (s *Site) serveAlias(w http.ResponseWriter, num string, code int) {
	i, ok := s.index(num)
	if !ok {
		notFound(w)
		return
	}
	redirect(w, PagePath(i), code)
}

// serveJSON answers /data/N.json for a page that links it.
func (s *Site) serveJSON(w http.ResponseWriter, num string) {
	i, ok := s.index(num)
	if !ok || s.layout[i]&flagAssets == 0 {
		notFound(w)
		return
	}
	b := append(make([]byte, 0, 128), `{"page":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"title":"Page `...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","url":"`...)
	b = append(b, PagePath(i)...)
	b = append(b, `","kind":"`...)
	b = append(b, s.Kind(i).String()...)
	b = append(b, "\"}\n"...)
	writeBytes(w, http.StatusOK, typeJSON, b)
}

// servePNG answers /img/N.png for a page that links it.
func (s *Site) servePNG(w http.ResponseWriter, num string) {
	if i, ok := s.index(num); !ok || s.layout[i]&flagAssets == 0 {
		notFound(w)
		return
	}
	writeBytes(w, http.StatusOK, typePNG, s.png)
}

// servePrivate answers /private/N for a page that links it.
func (s *Site) servePrivate(w http.ResponseWriter, num string) {
	i, ok := s.index(num)
	if !ok || s.layout[i]&flagPrivate == 0 {
		notFound(w)
		return
	}
	b := append(make([]byte, 0, 256), "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Private "...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, "</title>\n</head>\n<body>\n<p>Members only: robots.txt asks crawlers to keep out.</p>\n</body>\n</html>\n"...)
	writeBytes(w, http.StatusOK, typeHTML, b)
}

// reset closes the request's connection with a TCP reset, writing nothing.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil { // HTTP/2 or a recorder: no connection to reset
		writeBody(w, http.StatusInternalServerError, typeText, "connection reset\n")
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST instead of FIN
	}
	_ = conn.Close()
}

// redirect answers with code and a Location of path.
func redirect(w http.ResponseWriter, path string, code int) {
	h := w.Header()
	h["Location"] = []string{path}
	h["Content-Length"] = []string{"0"}
	w.WriteHeader(code)
}

func notFound(w http.ResponseWriter) {
	writeBody(w, http.StatusNotFound, typeText, "404 page not found\n")
}

func writeBody(w http.ResponseWriter, code int, ctype, body string) {
	h := w.Header()
	h["Content-Type"] = []string{ctype}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(body))
}

func writeBytes(w http.ResponseWriter, code int, ctype string, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{ctype}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// scheme returns the scheme r came in with.
func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
