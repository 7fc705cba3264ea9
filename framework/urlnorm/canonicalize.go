package urlnorm

import (
	"bytes"
	"slices"
	"strings"
)

// Canonicalize returns the canonical form of rawURL as w3lib 2.4.1's
// canonicalize_url(rawURL, keep_blank_values=True, keep_fragments=...)
// computes it on Python 3.13, the URL Scrapy's request fingerprint hashes:
//
//   - leading and trailing C0 controls and spaces are removed, and tabs, CRs
//     and LFs anywhere;
//   - the netloc is IDNA-encoded as a whole (kept when IDNA fails), then the
//     part after the last "@" is lowercased and stripped of trailing ":"
//     (the userinfo keeps its case, IPv6 brackets stay);
//   - the path is percent-encoded, percent-decoded (except %2F and %3F) and
//     re-encoded with uppercase hex digits; an empty path becomes "/";
//   - the query is split on "&" and ";", "+" read as a space, pairs without
//     "=" get an empty value, the pairs are sorted bytewise and re-encoded as
//     urlencode does ("+" for spaces);
//   - the fragment is dropped unless keepFragments.
//
// Bytes of rawURL that are not valid UTF-8 are percent-encoded first. The
// error is ErrInvalid where Python's urlparse raises ValueError (a bad
// bracketed host). Canonicalize never panics, is safe for concurrent use, and
// returns rawURL itself, without allocating, when it is already canonical in
// the common shape (http or https, lowercase host, plain path and sorted
// query).
func Canonicalize(rawURL string, keepFragments bool) (string, error) {
	if s, ok := fastCanonical(rawURL, keepFragments); ok {
		return s, nil
	}
	return canonicalize(rawURL, keepFragments, codec{})
}

// canonicalize is the general case of Canonicalize, with canonicalize_url's
// encoding argument for query and fragment: when the encoding cannot
// represent them, UTF-8 is used for the whole URL, as w3lib does.
func canonicalize(rawURL string, keepFragments bool, c codec) (string, error) {
	p, err := urlparse(strip(percentEncodeInvalid(rawURL)))
	if err != nil {
		return "", err
	}
	// _safe_ParseResult
	if a, ok := idnaEncode(p.netloc); ok {
		p.netloc = a
	}
	p.path = quote(p.path, pathSafeChars)
	p.params = quote(p.params, safeChars)
	q, errQ := c.encode(p.query)
	f, errF := c.encode(p.fragment)
	if errQ != nil || errF != nil {
		q, f = p.query, p.fragment
	}
	p.query = quote(q, safeChars)
	p.fragment = quote(f, safeChars)

	p.query = canonicalQuery(p.query)
	p.path = canonicalPath(p.path)
	if !keepFragments {
		p.fragment = ""
	}
	at := strings.LastIndexByte(p.netloc, '@')
	if host := strings.TrimRight(pyLower(p.netloc[at+1:]), ":"); host != p.netloc[at+1:] {
		p.netloc = p.netloc[:at+1] + host
	}
	return string(appendUnparse(make([]byte, 0, len(rawURL)+16), &p)), nil
}

// canonicalQuery is parse_qsl_to_bytes(query, keep_blank_values=True), sorted,
// then urllib.parse.urlencode.
func canonicalQuery(query string) string {
	if query == "" {
		return ""
	}
	// Names and values are decoded into one buffer; pairs index into it.
	type pair struct{ ks, ke, vs, ve int }
	var pairsArr [16]pair
	pairs := pairsArr[:0]
	buf := make([]byte, 0, len(query))
	for i := 0; i <= len(query); {
		j := i
		for j < len(query) && query[j] != '&' && query[j] != ';' {
			j++
		}
		if nv := query[i:j]; nv != "" {
			name, value, _ := strings.Cut(nv, "=")
			var p pair
			p.ks = len(buf)
			buf = appendUnquotePlus(buf, name)
			p.ke, p.vs = len(buf), len(buf)
			buf = appendUnquotePlus(buf, value)
			p.ve = len(buf)
			pairs = append(pairs, p)
		}
		i = j + 1
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		if c := bytes.Compare(buf[a.ks:a.ke], buf[b.ks:b.ke]); c != 0 {
			return c
		}
		return bytes.Compare(buf[a.vs:a.ve], buf[b.vs:b.ve])
	})
	out := make([]byte, 0, len(query)+8)
	for i, p := range pairs {
		if i > 0 {
			out = append(out, '&')
		}
		out = appendQuotePlus(out, buf[p.ks:p.ke])
		out = append(out, '=')
		out = appendQuotePlus(out, buf[p.vs:p.ve])
	}
	return string(out)
}

// appendUnquotePlus appends s with "+" read as a space, then percent-decoded
// as unquote_to_bytes does.
func appendUnquotePlus(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			dst = append(dst, ' ')
			continue
		case c == '%' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				dst = append(dst, hi<<4|lo)
				i += 2
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// canonicalPath is w3lib's _unquotepath followed by quote(_path_safe_chars):
// %2F and %3F stay encoded, every other escape is decoded, and the bytes are
// encoded again with uppercase hex digits. An empty path becomes "/".
func canonicalPath(path string) string {
	if path == "" {
		return "/"
	}
	if strings.IndexByte(path, '%') < 0 {
		return path // already quoted, nothing to decode
	}
	b := make([]byte, 0, len(path))
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '%' && i+2 < len(path) {
			hi, ok1 := unhex(path[i+1])
			lo, ok2 := unhex(path[i+2])
			if ok1 && ok2 {
				if v := hi<<4 | lo; v == '/' || v == '?' {
					b = append(b, '%', hexUpper[hi], hexUpper[lo])
				} else {
					b = append(b, v)
				}
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return string(appendQuote(make([]byte, 0, len(b)+8), string(b), pathSafeChars))
}

// fastCanonical recognizes a URL that is already canonical in the common
// shape and returns it (or its prefix before "#" when fragments are dropped)
// without allocating: http or https; a host of lowercase letters, digits,
// "-", ".", "_" and ":" not ending in ":"; a non-empty path of characters that
// need no encoding and no "%"; a query of "k=v" pairs joined by "&" whose keys
// and values are made of always-safe characters, in sorted order; and, when
// kept, a non-empty fragment of safe characters. It reports false otherwise.
func fastCanonical(s string, keepFragments bool) (string, bool) {
	var i int
	switch {
	case strings.HasPrefix(s, "https://"):
		i = 8
	case strings.HasPrefix(s, "http://"):
		i = 7
	default:
		return "", false
	}
	start := i
	for ; i < len(s); i++ {
		c := s[i]
		if c == '/' || c == '?' || c == '#' {
			break
		}
		if !fastHost[c] && c != ':' {
			return "", false
		}
	}
	if i == start || s[i-1] == ':' || i == len(s) || s[i] != '/' {
		return "", false
	}
	pathStart := i
	lastSlash := i
	for ; i < len(s); i++ {
		c := s[i]
		if c == '?' || c == '#' {
			break
		}
		if c == '%' || !pathSafeChars[c] {
			return "", false
		}
		if c == '/' {
			lastSlash = i
		}
	}
	// ";params" of the last segment: an empty one loses its ";".
	if k := strings.IndexByte(s[lastSlash:i], ';'); k >= 0 && lastSlash+k == i-1 && i > pathStart {
		return "", false
	}
	if i < len(s) && s[i] == '?' {
		i++
		var prevK, prevV string
		for first := true; ; first = false {
			ks := i
			for i < len(s) && fastQuery[s[i]] {
				i++
			}
			if i == ks || i == len(s) || s[i] != '=' {
				return "", false
			}
			k := s[ks:i]
			i++
			vs := i
			for i < len(s) && fastQuery[s[i]] {
				i++
			}
			v := s[vs:i]
			if !first && (k < prevK || k == prevK && v < prevV) {
				return "", false
			}
			prevK, prevV = k, v
			if i == len(s) || s[i] == '#' {
				break
			}
			if s[i] != '&' {
				return "", false
			}
			i++
		}
	}
	if i == len(s) {
		return s, true
	}
	// s[i] == '#'
	if !keepFragments || i == len(s)-1 {
		return s[:i], true
	}
	for j := i + 1; j < len(s); j++ {
		if !safeChars[s[j]] {
			return "", false
		}
	}
	return s, true
}
