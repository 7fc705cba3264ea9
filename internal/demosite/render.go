package demosite

import (
	"strconv"
)

// words are the filler text's vocabulary.
var words = [...]string{
	"frontier", "crawl", "request", "queue", "scheduler", "priority", "spider", "item",
	"page", "link", "host", "delay", "retry", "redirect", "robots", "sitemap",
	"fingerprint", "duplicate", "filter", "disk", "memory", "job", "resume", "pause",
	"the", "a", "of", "and", "to", "in", "is", "for", "on", "with", "every", "each",
	"fetch", "parse", "follow", "store", "order", "depth", "breadth", "first", "last",
	"quick", "slow", "steady", "careful", "polite", "patient", "large", "small",
	"river", "mountain", "harbour", "lantern", "orchard", "meadow", "compass", "atlas",
	"library", "archive", "ledger", "index", "catalogue", "journal", "chapter", "margin",
}

// fillerParagraphs is the number of paragraphs in a site's text bank.
const fillerParagraphs = 48

// makeFiller writes the bank of paragraphs that page bodies draw from,
// each 150 to 500 bytes of <p> element.
func makeFiller(seed uint64) [][]byte {
	bank := make([][]byte, fillerParagraphs)
	n := 0
	for p := range bank {
		target := 150 + int(hash64(seed, streamWords, uint64(p), 0)%350)
		b := append(make([]byte, 0, target+100), "<p>"...)
		for sentence := 0; len(b) < target; sentence++ {
			if sentence > 0 {
				b = append(b, ' ')
			}
			length := 6 + int(hash64(seed, streamWords, uint64(p), uint64(1000+sentence))%9)
			for w := range length {
				word := words[hash64(seed, streamWords, uint64(p), uint64(n))%uint64(len(words))]
				n++
				if w == 0 {
					b = append(b, word[0]-'a'+'A')
					b = append(b, word[1:]...)
				} else {
					b = append(b, ' ')
					b = append(b, word...)
				}
			}
			b = append(b, '.')
		}
		bank[p] = append(b, "</p>\n"...)
	}
	return bank
}

// makeLarge writes the padding of a large page: filler paragraphs repeated
// to size bytes or a little more.
func makeLarge(bank [][]byte, size int) []byte {
	b := make([]byte, 0, size+1024)
	b = append(b, "<section class=\"appendix\">\n<h2>Appendix</h2>\n"...)
	for i := 0; len(b) < size; i++ {
		b = append(b, bank[i%len(bank)]...)
	}
	return append(b, "</section>\n"...)
}

// Link forms: how an href to a path is written.
const (
	formAbsPath  = iota // /page/5
	formRelative        // 5 (from /page/3), page/5 (from /)
	formDotDot          // ../page/5 (from /page/3), ./page/5 (from /)
	formAbsURL          // http://host/page/5
)

// numLinks returns the number of page i's links to pages: LinksPerPage,
// plus one for each gone page between i and the next page that is not gone,
// so that a crawl sees every gone page.
func (s *Site) numLinks(i int) int {
	n := s.cfg.LinksPerPage
	if s.next != nil {
		j := s.succ(i)
		if j == 0 {
			j = s.cfg.Pages
		}
		n += j - i - 1
	}
	return n
}

// linkFor returns the target page of page i's k-th link (k < numLinks(i)),
// the alias kind of its href (0: the canonical path, 301: /old/N, 302:
// /moved/N), its form and whether it carries a fragment. Link 0 goes to the
// next page that is not gone, the others to pseudo-random pages, and those
// after LinksPerPage to the gone pages that follow i.
func (s *Site) linkFor(i, k int) (target, alias, form int, fragment bool) {
	switch {
	case k == 0:
		target = s.succ(i)
	case k >= s.cfg.LinksPerPage:
		target = i + 1 + k - s.cfg.LinksPerPage
	default:
		target = int(s.rnd(streamTarget, i, k) % uint64(s.cfg.Pages))
	}
	if r := s.rnd(streamRedirect, i, k); chance(r, s.cfg.RedirectFraction) {
		alias = 301
		if r&1 == 1 {
			alias = 302
		}
	}
	form = int(s.rnd(streamForm, i, k) % 4)
	fragment = chance(s.rnd(streamFragment, i, k), s.cfg.FragmentFraction)
	return target, alias, form, fragment
}

// appendPath appends the path of target under the given alias kind.
func appendPath(b []byte, target, alias int) []byte {
	switch alias {
	case 301:
		b = append(b, "/old/"...)
	case 302:
		b = append(b, "/moved/"...)
	default:
		if target == 0 {
			return append(b, '/')
		}
		b = append(b, "/page/"...)
	}
	return strconv.AppendInt(b, int64(target), 10)
}

// appendHref appends an href, written in the given form, from page from to
// the path appendPath writes for target and alias.
func appendHref(b []byte, from, target, alias, form int, scheme, host string) []byte {
	switch form {
	case formAbsURL:
		b = append(b, scheme...)
		b = append(b, "://"...)
		b = append(b, host...)
	case formRelative, formDotDot:
		// The path minus its leading slash, relative to the directory of
		// from's path: / for page 0, /page/ after.
		var tmp [32]byte
		rel := appendPath(tmp[:0], target, alias)[1:]
		switch {
		case form == formDotDot && from == 0:
			b = append(append(b, "./"...), rel...)
		case form == formDotDot:
			b = append(append(b, "../"...), rel...)
		case from == 0 && len(rel) == 0:
			b = append(b, "./"...)
		case from == 0:
			b = append(b, rel...)
		case alias == 0 && target != 0:
			b = append(b, rel[len("page/"):]...)
		default:
			b = append(append(b, "../"...), rel...)
		}
		return b
	}
	return appendPath(b, target, alias)
}

// appendPage appends page i's HTML. It returns the body and the offset at
// which a large page's padding goes.
func (s *Site) appendPage(b []byte, i int, scheme, host string) ([]byte, int) {
	num := func(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }
	b = append(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"+
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Page "...)
	b = num(b, i)
	b = append(b, "</title>\n<meta name=\"description\" content=\"Page "...)
	b = num(b, i)
	b = append(b, " of the frontier demo site.\">\n</head>\n<body>\n"+
		"<header><p class=\"site\">frontier demo site</p></header>\n<main>\n<h1>Page "...)
	b = num(b, i)
	b = append(b, "</h1>\n<article>\n"...)
	// 1 to 3.5 KB of text, so that a page is 2 to 5 KB.
	r := s.rnd(streamFiller, i, 0)
	text, first := 1200+int(r%2300), int(r>>32)
	for p, start := 0, len(b); len(b)-start < text; p++ {
		b = append(b, s.filler[(first+p)%len(s.filler)]...)
	}
	b = append(b, "</article>\n"...)
	split := len(b)

	b = append(b, "<nav class=\"related\">\n<h2>Related pages</h2>\n<ul>\n"...)
	for k := range s.numLinks(i) {
		target, alias, form, fragment := s.linkFor(i, k)
		b = append(b, "<li><a href=\""...)
		b = appendHref(b, i, target, alias, form, scheme, host)
		if fragment {
			b = append(b, "#comments"...)
		}
		b = append(b, "\">Page "...)
		b = num(b, target)
		b = append(b, "</a></li>\n"...)
	}
	b = append(b, "</ul>\n</nav>\n"...)

	if l := s.layout[i]; l&(flagAssets|flagPrivate|flagLoop|flagReset) != 0 {
		b = append(b, "<aside>\n<ul>\n"...)
		if l&flagAssets != 0 {
			b = append(b, "<li><a href=\"/data/"...)
			b = num(b, i)
			b = append(b, ".json\">Data of this page</a></li>\n<li><a href=\"/img/"...)
			b = num(b, i)
			b = append(b, ".png\">Picture of this page</a></li>\n"...)
		}
		if l&flagPrivate != 0 {
			b = append(b, "<li><a href=\"/private/"...)
			b = num(b, i)
			b = append(b, "\">Members only</a></li>\n"...)
		}
		if l&flagLoop != 0 {
			b = append(b, "<li><a href=\"/loop/a\">Archive</a></li>\n"...)
		}
		if l&flagReset != 0 {
			b = append(b, "<li><a href=\"/reset\">Live feed</a></li>\n"...)
		}
		b = append(b, "</ul>\n</aside>\n"...)
	}

	b = append(b, "</main>\n<footer><p>Page "...)
	b = num(b, i)
	b = append(b, " of "...)
	b = num(b, s.cfg.Pages)
	b = append(b, ".</p></footer>\n</body>\n</html>\n"...)
	return b, split
}
