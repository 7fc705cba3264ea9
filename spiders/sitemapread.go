package spiders

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"

	"github.com/frontier-go/frontier/framework"
)

// defaultSitemapMaxSize caps what a gzip sitemap may decompress to when its
// request's meta has no "download_maxsize": 50 MiB, the sitemap protocol's
// limit for a sitemap file.
const defaultSitemapMaxSize = 50 << 20

// maxLocLen caps the text kept of one <loc>; no URL is longer.
const maxLocLen = 64 << 10

// sitemapKind is what a sitemap body turned out to be.
type sitemapKind int

const (
	notSitemap   sitemapKind = iota
	urlSet                   // <urlset>: pages
	sitemapIndex             // <sitemapindex>: sitemaps
	textSitemap              // one URL per line: pages
)

// sitemapContent is what readSitemap found: the kind of sitemap and the
// locations it lists, as written.
type sitemapContent struct {
	kind sitemapKind
	locs []string
}

// sitemapMaxSize returns the cap on a gzip sitemap's decompressed size for
// a response to r: r's meta "download_maxsize" when it is a number (0 means
// no cap, as in Scrapy), otherwise def.
func sitemapMaxSize(r *framework.Request, def int64) int64 {
	var v float64
	switch m := metaValue(r, "download_maxsize").(type) {
	case int:
		v = float64(m)
	case int64:
		v = float64(m)
	case float64:
		v = m
	default:
		return def
	}
	switch {
	case v == 0:
		return math.MaxInt64
	case v < 0 || v > math.MaxInt64/2:
		return def
	}
	return int64(v)
}

func metaValue(r *framework.Request, key string) any {
	if r == nil {
		return nil
	}
	return r.Meta[key]
}

// isGzip reports whether body starts as a gzip stream does (Scrapy's
// gzip_magic_number).
func isGzip(body []byte) bool {
	return len(body) >= 3 && body[0] == 0x1f && body[1] == 0x8b && body[2] == 0x08
}

// readSitemap reads a sitemap body: gunzipped first when it is gzip (up to
// maxSize bytes once decompressed), then XML when its first character other
// than a BOM or whitespace is "<", otherwise plain text, one URL per line.
//
// The XML is read as a stream of tokens, leniently (encoding/xml's
// non-strict mode; no DTD, no external entities), in the charset its
// declaration names. A <urlset> or <sitemapindex> root gives the <loc> of
// each <url> or <sitemap> entry, the first one when an entry has several.
// An error gives the locations read before it, except ErrSitemapTooLarge,
// which gives none.
func readSitemap(body []byte, maxSize int64) (sitemapContent, error) {
	var r io.Reader = bytes.NewReader(body)
	var capped *capReader
	if isGzip(body) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return sitemapContent{}, fmt.Errorf("gzip: %w", err)
		}
		capped = &capReader{r: zr, left: maxSize}
		r = capped
	}
	br := bufio.NewReaderSize(r, 32<<10)
	first, err := firstByte(br)
	var sc sitemapContent
	switch {
	case err == io.EOF:
		err = errors.New("empty")
	case err != nil:
	case first == '<':
		sc, err = readXML(br)
	default:
		sc, err = readText(br)
	}
	if capped != nil && capped.exceeded {
		return sitemapContent{}, fmt.Errorf("%w: more than %d bytes once decompressed (meta download_maxsize sets the cap)", ErrSitemapTooLarge, maxSize)
	}
	return sc, err
}

// firstByte skips a UTF-8 BOM and whitespace and returns the next byte,
// leaving it unread.
func firstByte(br *bufio.Reader) (byte, error) {
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.Discard(1)
		default:
			return b[0], nil
		}
	}
}

// readXML reads an XML sitemap or sitemap index.
func readXML(r io.Reader) (sitemapContent, error) {
	d := xml.NewDecoder(r)
	d.Strict = false
	d.CharsetReader = charset.NewReaderLabel
	var (
		sc       sitemapContent
		depth    int
		entry    = -1 // depth of the <url> or <sitemap> being read, -1 outside one
		inLoc    bool
		loc      []byte
		entryLoc string
		gotLoc   bool
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			switch {
			case sc.kind == notSitemap:
				return sc, errors.New("no root element")
			case depth > 0:
				return sc, errors.New("XML ends before its root element is closed")
			}
			return sc, nil
		}
		if err != nil {
			line, _ := d.InputPos()
			return sc, fmt.Errorf("XML error near line %d: %w", line, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			name := t.Name.Local
			if sc.kind == notSitemap {
				switch name {
				case "urlset":
					sc.kind = urlSet
				case "sitemapindex":
					sc.kind = sitemapIndex
				default:
					return sc, fmt.Errorf("root element <%s> is neither <urlset> nor <sitemapindex>", name)
				}
				continue
			}
			switch {
			case entry < 0 && (name == "url" || name == "sitemap"):
				entry, entryLoc, gotLoc = depth, "", false
			case entry >= 0 && depth == entry+1 && name == "loc" && !gotLoc:
				inLoc, loc = true, loc[:0]
			}
		case xml.EndElement:
			switch {
			case inLoc && depth == entry+1:
				inLoc = false
				entryLoc, gotLoc = strings.TrimSpace(string(loc)), true
			case depth == entry:
				if entryLoc != "" {
					sc.locs = append(sc.locs, entryLoc)
				}
				entry, inLoc = -1, false
			}
			depth--
		case xml.CharData:
			if inLoc && len(loc)+len(t) <= maxLocLen {
				loc = append(loc, t...)
			}
		}
	}
}

// readText reads a plain-text sitemap: one URL per line, blank lines
// skipped.
func readText(br *bufio.Reader) (sitemapContent, error) {
	sc := sitemapContent{kind: textSitemap}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// No URL is that long: skip the rest of the line, keep a mark of it.
			for err == bufio.ErrBufferFull {
				_, err = br.ReadSlice('\n')
			}
			line = []byte("(a line of more than 32 KB)")
		}
		if s := strings.TrimSpace(string(line)); s != "" {
			sc.locs = append(sc.locs, s)
		}
		if err == io.EOF {
			return sc, nil
		}
		if err != nil {
			return sc, err
		}
	}
}

// sitemapsFromRobots returns the values of a robots.txt's Sitemap: lines,
// as Scrapy's sitemap_urls_from_robots: any line that starts, after
// whitespace, with "sitemap:" in any case. Values that are not UTF-8 are
// skipped.
func sitemapsFromRobots(body []byte) []string {
	var out []string
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		line = bytes.TrimLeft(line, " \t\r\f\v")
		if len(line) < len("sitemap:") || !bytes.EqualFold(line[:len("sitemap:")], []byte("sitemap:")) {
			continue
		}
		v := strings.TrimSpace(string(line[len("sitemap:"):]))
		if v != "" && utf8.ValidString(v) {
			out = append(out, v)
		}
	}
	return out
}

// capReader reads r up to left bytes; one more is ErrSitemapTooLarge.
type capReader struct {
	r        io.Reader
	left     int64
	exceeded bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.exceeded = true
			return 0, ErrSitemapTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
