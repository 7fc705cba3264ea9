package urlnorm

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Safe returns rawURL made safe the way Scrapy's Request constructor does it:
// w3lib.url.safe_url_string(rawURL, encoding) (w3lib 2.4.1 on Python 3.13's
// urllib.parse), then Scrapy's check that the URL has a scheme.
//
// Leading and trailing C0 control characters and spaces are removed, and so
// are tabs, CRs and LFs anywhere. The scheme is lowercased; the userinfo is
// percent-decoded and re-encoded; the host is lowercased and IDNA-encoded
// (kept as it is when IDNA fails, as w3lib does); the port is written as a
// plain number; path (always UTF-8), query and fragment (in encoding) are
// percent-encoded where the URL standards require it. Bytes of rawURL that are
// not valid UTF-8 are percent-encoded, as w3lib does for bytes input. An
// empty encoding means UTF-8.
//
// Errors: ErrMissingScheme for a result without "://" that is not about: or
// data:; ErrControlChar for a NUL byte anywhere, or a C0 control character
// left in the result (only the host can keep one); ErrInvalid where Python's
// urlsplit or port parsing raise ValueError; ErrEncoding for an unknown
// encoding or text it cannot encode. Safe never panics and is safe for
// concurrent use.
func Safe(rawURL, encoding string) (string, error) {
	if strings.IndexByte(rawURL, 0) >= 0 {
		return "", fmt.Errorf("%w: NUL byte in %q", ErrControlChar, rawURL)
	}
	// Python looks the encoding up whatever the URL holds.
	c, err := lookupCodec(encoding)
	if err != nil {
		return "", err
	}
	out, ok := fastSafe(rawURL)
	if !ok {
		if out, err = safeURLString(rawURL, c); err != nil {
			return "", err
		}
	}
	if !strings.Contains(out, "://") && !strings.HasPrefix(out, "about:") && !strings.HasPrefix(out, "data:") {
		return "", fmt.Errorf("%w in request url: %q", ErrMissingScheme, out)
	}
	for i := 0; i < len(out); i++ {
		if out[i] < ' ' {
			return "", fmt.Errorf("%w: %q", ErrControlChar, out)
		}
	}
	return out, nil
}

// safeURLString is w3lib.url.safe_url_string(url, encoding) for a str URL.
func safeURLString(rawURL string, c codec) (string, error) {
	p, err := urlsplit(strip(percentEncodeInvalid(rawURL)))
	if err != nil {
		return "", err
	}
	host, port := hostinfo(p.netloc)
	portNum := -1
	if port != "" {
		if portNum, err = parsePort(port); err != nil {
			return "", err
		}
	}
	b := make([]byte, 0, len(rawURL)+32)

	// netloc
	if user, hasUser, pass, hasPass := userinfo(p.netloc); hasUser {
		b = appendQuote(b, unquote(user), userinfoSafest)
		if hasPass {
			b = append(b, ':')
			b = appendQuote(b, unquote(pass), userinfoSafest)
		}
		b = append(b, '@')
	}
	if host != "" {
		// SplitResult.hostname lowercases all but an IPv6 zone.
		if k := strings.IndexByte(host, '%'); k >= 0 {
			host = pyLower(host[:k]) + host[k:]
		} else {
			host = pyLower(host)
		}
		switch {
		case strings.IndexByte(host, ':') >= 0:
			if !isASCII(host) {
				return "", fmt.Errorf("%w: 'ascii' cannot encode IPv6 host %q", ErrEncoding, host)
			}
			b = append(b, '[')
			b = append(b, host...)
			b = append(b, ']')
		default:
			if a, ok := idnaEncode(host); ok {
				b = append(b, a...)
			} else {
				e, err := c.encode(host)
				if err != nil {
					return "", err
				}
				b = append(b, e...)
			}
		}
	}
	if portNum >= 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(portNum), 10)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%w: host %q in %q is not valid UTF-8 once encoded", ErrEncoding, host, c.name)
	}
	netloc := string(b)

	path := quote(p.path, pathSafest)
	q, err := c.encode(p.query)
	if err != nil {
		return "", err
	}
	if specialScheme(p.scheme) {
		q = quote(q, specialQuerySafest)
	} else {
		q = quote(q, pathSafest)
	}
	f, err := c.encode(p.fragment)
	if err != nil {
		return "", err
	}
	out := parts{scheme: p.scheme, netloc: netloc, path: path, query: q, fragment: quote(f, pathSafest)}
	return string(appendUnparse(make([]byte, 0, len(netloc)+len(path)+len(q)+len(out.fragment)+16), &out)), nil
}

// Character classes of the fast paths.
var (
	fastHost  = newByteSet("", "ABCDEFGHIJKLMNOPQRSTUVWXYZ~") // lowercase, digits, "-._"
	fastQuery = plusSafe                                      // always-safe characters
)

// fastSafe handles the common URL that safe_url_string returns unchanged:
// http or https, a host of lowercase letters, digits, "-", "." and "_" with an
// optional port written as a plain number, and path, query and fragment made
// of characters that need no encoding. It reports false for anything else.
func fastSafe(s string) (string, bool) {
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
	for i < len(s) && fastHost[s[i]] {
		i++
	}
	// An ASCII host is kept as it is even where IDNA refuses it.
	if i == start {
		return "", false
	}
	if i < len(s) && s[i] == ':' {
		i++
		ps := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		n := i - ps
		if n == 0 || n > 5 || (n > 1 && s[ps] == '0') {
			return "", false
		}
		if v, _ := strconv.Atoi(s[ps:i]); v > 65535 {
			return "", false
		}
	}
	if i < len(s) && s[i] != '/' && s[i] != '?' && s[i] != '#' {
		return "", false
	}
	for ; i < len(s) && s[i] != '?' && s[i] != '#'; i++ {
		if !pathSafest[s[i]] {
			return "", false
		}
	}
	if i < len(s) && s[i] == '?' {
		qs := i + 1
		for i++; i < len(s) && s[i] != '#'; i++ {
			if !specialQuerySafest[s[i]] {
				return "", false
			}
		}
		if i == qs {
			return "", false // an empty query loses its "?"
		}
	}
	if i < len(s) {
		if i == len(s)-1 {
			return "", false // an empty fragment loses its "#"
		}
		for i++; i < len(s); i++ {
			if !pathSafest[s[i]] {
				return "", false
			}
		}
	}
	return s, true
}
