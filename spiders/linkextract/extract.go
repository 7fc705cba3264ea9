package linkextract

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/framework/urlnorm"
)

// Page is what Extract finds in an HTML page.
type Page struct {
	// Title is the text of the page's first <title> element (outside <svg>
	// and <math>), with runs of whitespace collapsed to one space and none
	// at either end.
	Title string
	// Links are the href targets of the page's <a> and <area> elements, in
	// document order, each once: absolute http and https URLs without
	// fragments, safe as framework.NewRequest makes a URL safe, with the
	// query encoded in the page's charset (as Scrapy does).
	Links []string
}

// Extract returns the title and the links of resp's page.
//
// A response whose Content-Type is neither text/html nor
// application/xhtml+xml, or, without a Content-Type, whose body does not
// sniff as HTML (http.DetectContentType), gives an empty Page and no error.
// Links that are empty, that are not http or https (javascript:, mailto:,
// tel:, data:, ...), that do not resolve to a URL, or whose path ends with
// one of [IgnoredExtensions] are left out. The content of <noscript> is read
// as markup, as a browser without scripts reads it; that of <script>,
// <style>, <textarea> and the like is not.
//
// The only error is ErrNilResponse; broken markup gives what the tokenizer
// makes of it.
func Extract(resp *framework.Response) (Page, error) {
	if resp == nil {
		return Page{}, ErrNilResponse
	}
	ctype := header(resp.Headers, "Content-Type")
	if !isHTML(ctype, resp.Body) {
		return Page{}, nil
	}
	body, encName := decode(resp.Body, ctype)
	var s scan
	s.tokens(body, false)
	return Page{Title: s.title, Links: resolveAll(resp.URL, s.base, s.hasBase, s.hrefs, encName)}, nil
}

// header returns the first value of the header name, looked up
// case-insensitively even when h's keys are not in canonical form.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if len(vs) > 0 && strings.EqualFold(k, name) {
			return vs[0]
		}
	}
	return ""
}

// isHTML reports whether a response with Content-Type ctype and body is an
// HTML page.
func isHTML(ctype string, body []byte) bool {
	if strings.TrimSpace(ctype) == "" {
		ctype = http.DetectContentType(body)
	}
	mt, _, _ := strings.Cut(ctype, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// decode returns a reader of body as UTF-8 and the name of body's charset:
// its BOM, the charset of ctype, its <meta charset> or <meta http-equiv>,
// UTF-8 when its first KB is, otherwise windows-1252 (the HTML standard's
// default). Text that is ASCII is read as it is whatever the charset.
func decode(body []byte, ctype string) (io.Reader, string) {
	enc, name, _ := charset.DetermineEncoding(body, ctype)
	switch {
	case name == "utf-8":
		body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
		return bytes.NewReader(body), name
	case name == "windows-1252" && isASCII(body):
		return bytes.NewReader(body), name
	case enc == nil:
		return charmap.Windows1252.NewDecoder().Reader(bytes.NewReader(body)), "windows-1252"
	}
	return enc.NewDecoder().Reader(bytes.NewReader(body)), name
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// scan collects what Extract needs from a token stream.
type scan struct {
	title    string
	hasTitle bool
	base     string
	hasBase  bool
	hrefs    []string
	foreign  int // depth of <svg> and <math> elements, whose <title> is not the page's
}

// tokens reads the tokens of r. nested is true for the content of a
// <noscript>, read once more as markup (and not deeper).
func (s *scan) tokens(r io.Reader, nested bool) {
	z := html.NewTokenizer(r)
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "a", "area":
				if v, ok := attr(z, hasAttr, "href"); ok {
					s.hrefs = append(s.hrefs, v)
				}
			case "base":
				if v, ok := attr(z, hasAttr, "href"); ok && !s.hasBase {
					s.base, s.hasBase = v, true
				}
			case "title":
				// The tokenizer reads a title's content as text, even after
				// <title/>, up to </title>.
				text := rawText(z)
				if !s.hasTitle && s.foreign == 0 {
					s.title, s.hasTitle = collapse(text), true
				}
			case "noscript":
				text := rawText(z)
				if !nested {
					s.tokens(strings.NewReader(text), true)
				}
			case "svg", "math":
				if tt == html.StartTagToken {
					s.foreign++
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if n := string(name); (n == "svg" || n == "math") && s.foreign > 0 {
				s.foreign--
			}
		}
	}
}

// attr returns the value of the current tag's first attribute named key.
func attr(z *html.Tokenizer, hasAttr bool, key string) (string, bool) {
	for more := hasAttr; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		if string(k) == key {
			return string(v), true
		}
	}
	return "", false
}

// rawText returns the text the tokenizer reads after a raw-text start tag
// (<title>, <noscript>), consuming the end tag that follows it.
func rawText(z *html.Tokenizer) string {
	var b strings.Builder
	for z.Next() == html.TextToken {
		b.Write(z.Text())
	}
	return b.String()
}

// collapse returns s with runs of HTML whitespace replaced by one space and
// none at either end, as a browser's document.title.
func collapse(s string) string {
	return strings.Join(strings.FieldsFunc(s, isHTMLSpace), " ")
}

func isHTMLSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r'
}

// resolveAll resolves hrefs against the page's base URL: the first <base
// href> when it resolves, against the response URL, to an http(s) URL,
// otherwise the response URL. It returns the links Extract keeps.
func resolveAll(respURL, base string, hasBase bool, hrefs []string, encName string) []string {
	if len(hrefs) == 0 {
		return nil
	}
	baseURL, err := url.Parse(respURL)
	if err != nil || !baseURL.IsAbs() {
		baseURL = nil
	}
	if hasBase {
		if b, ok := parseRef(base); ok {
			if baseURL != nil {
				b = baseURL.ResolveReference(b)
			}
			if isWeb(b) {
				baseURL = b
			}
		}
	}
	links := make([]string, 0, len(hrefs))
	seen := make(map[string]struct{}, len(hrefs))
	for _, h := range hrefs {
		link, ok := resolve(baseURL, h, encName)
		if !ok {
			continue
		}
		if _, dup := seen[link]; dup {
			continue
		}
		seen[link] = struct{}{}
		links = append(links, link)
	}
	return links
}

// resolve returns href resolved against base (nil when there is none), as
// a safe absolute http(s) URL without its fragment, and false for a link
// Extract leaves out.
func resolve(base *url.URL, href, encName string) (string, bool) {
	ref, ok := parseRef(href)
	if !ok {
		return "", false
	}
	u := ref
	if base != nil {
		u = base.ResolveReference(ref)
	}
	if !isWeb(u) {
		return "", false
	}
	raw := webString(u)
	link, err := urlnorm.Safe(raw, encName)
	if err != nil {
		// A charset that cannot encode the query, or is not one URLs are
		// written in (UTF-16): the query is then encoded in UTF-8.
		if link, err = urlnorm.Safe(raw, "utf-8"); err != nil {
			return "", false
		}
	}
	if hasIgnoredExtension(link) {
		return "", false
	}
	// A host that held an escape ("http://%250/") comes out of Safe as no
	// URL parser takes it, and one that IDNA refuses keeps characters that
	// a request built from the link would escape: neither is a link.
	if _, err := url.Parse(link); err != nil || !isASCII([]byte(framework.Hostname(link))) {
		return "", false
	}
	return link, true
}

// webString writes u without its fragment, as url.URL.String does but with
// the host as it was written: String percent-encodes a non-ASCII host, which
// urlnorm.Safe IDNA-encodes instead.
func webString(u *url.URL) string {
	var b strings.Builder
	path := u.EscapedPath()
	b.Grow(len(u.Scheme) + 3 + len(u.Host) + len(path) + 1 + len(u.RawQuery))
	b.WriteString(u.Scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(u.User.String())
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	if path != "" && path[0] != '/' {
		b.WriteByte('/')
	}
	b.WriteString(path)
	if u.ForceQuery || u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(u.RawQuery)
	}
	return b.String()
}

// isWeb reports whether u is an absolute http or https URL with a host.
func isWeb(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == ""
}

// parseRef parses an attribute value as a URL reference, cleaned first as
// the URL standard and w3lib clean one: HTML whitespace at either end and
// tabs and newlines anywhere removed, and a "%" that starts no escape
// written "%25".
func parseRef(href string) (*url.URL, bool) {
	href = strings.TrimFunc(href, isHTMLSpace)
	if href == "" {
		return nil, false
	}
	if strings.ContainsAny(href, "\t\n\r%") {
		href = cleanRef(href)
	}
	u, err := url.Parse(href)
	if err != nil {
		return nil, false
	}
	return u, true
}

func cleanRef(href string) string {
	var b strings.Builder
	b.Grow(len(href) + 8)
	for i := 0; i < len(href); i++ {
		switch c := href[i]; c {
		case '\t', '\n', '\r':
		case '%':
			if i+2 < len(href) && isHex(href[i+1]) && isHex(href[i+2]) {
				b.WriteByte(c)
			} else {
				b.WriteString("%25")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
