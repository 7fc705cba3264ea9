package urlnorm

import (
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// parts is a URL split as Python's urllib.parse.urlparse splits it. Params is
// only split off for schemes in Python's uses_params.
type parts struct {
	scheme, netloc, path, params, query, fragment string
}

func isSchemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '+' || c == '-' || c == '.'
}

func isASCIIAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// urlsplit is Python 3.13's urllib.parse.urlsplit for a URL that strip has
// already cleaned. It fails, like Python, on unbalanced brackets in the
// netloc, on a bracketed host that is neither a valid IPv6 address nor an
// IPvFuture, and on a non-ASCII netloc that NFKC turns into delimiters.
func urlsplit(s string) (parts, error) {
	var p parts
	if i := strings.IndexByte(s, ':'); i > 0 && isASCIIAlpha(s[0]) {
		ok := true
		for k := 1; k < i; k++ {
			if !isSchemeChar(s[k]) {
				ok = false
				break
			}
		}
		if ok {
			p.scheme, s = asciiLower(s[:i]), s[i+1:]
		}
	}
	if strings.HasPrefix(s, "//") {
		end := len(s)
		if k := strings.IndexAny(s[2:], "/?#"); k >= 0 {
			end = k + 2
		}
		p.netloc, s = s[2:end], s[end:]
		open, closed := strings.IndexByte(p.netloc, '['), strings.IndexByte(p.netloc, ']')
		if (open >= 0) != (closed >= 0) {
			return p, fmt.Errorf("%w: %q: invalid IPv6 URL", ErrInvalid, p.netloc)
		}
		if open >= 0 {
			host := p.netloc[open+1:]
			if k := strings.IndexByte(host, ']'); k >= 0 {
				host = host[:k]
			}
			if err := checkBracketedHost(host); err != nil {
				return p, err
			}
		}
	}
	if k := strings.IndexByte(s, '#'); k >= 0 {
		s, p.fragment = s[:k], s[k+1:]
	}
	if k := strings.IndexByte(s, '?'); k >= 0 {
		s, p.query = s[:k], s[k+1:]
	}
	p.path = s
	if err := checkNetloc(p.netloc); err != nil {
		return p, err
	}
	return p, nil
}

// usesParams is Python's urllib.parse.uses_params.
func usesParams(scheme string) bool {
	switch scheme {
	case "", "ftp", "hdl", "prospero", "http", "imap", "https", "shttp", "rtsp",
		"rtsps", "rtspu", "sip", "sips", "mms", "sftp", "tel":
		return true
	}
	return false
}

// usesNetloc is Python's urllib.parse.uses_netloc.
func usesNetloc(scheme string) bool {
	switch scheme {
	case "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file",
		"mms", "https", "shttp", "snews", "prospero", "rtsp", "rtsps", "rtspu",
		"rsync", "svn", "svn+ssh", "sftp", "nfs", "git", "git+ssh", "ws", "wss",
		"itms-services":
		return true
	}
	return false
}

// specialScheme reports whether scheme is special in the URL living standard
// (w3lib's _SPECIAL_SCHEMES).
func specialScheme(scheme string) bool {
	switch scheme {
	case "ftp", "file", "http", "https", "ws", "wss":
		return true
	}
	return false
}

// urlparse is Python's urllib.parse.urlparse: urlsplit, then ";params" split
// off the last path segment for the schemes in uses_params.
func urlparse(s string) (parts, error) {
	p, err := urlsplit(s)
	if err != nil {
		return p, err
	}
	if usesParams(p.scheme) && strings.IndexByte(p.path, ';') >= 0 {
		i := -1
		if slash := strings.LastIndexByte(p.path, '/'); slash >= 0 {
			if k := strings.IndexByte(p.path[slash:], ';'); k >= 0 {
				i = slash + k
			}
		} else {
			i = strings.IndexByte(p.path, ';')
		}
		if i >= 0 {
			p.path, p.params = p.path[:i], p.path[i+1:]
		}
	}
	return p, nil
}

// appendUnparse appends Python 3.13's urlunparse of p to dst.
func appendUnparse(dst []byte, p *parts) []byte {
	if p.scheme != "" {
		dst = append(dst, p.scheme...)
		dst = append(dst, ':')
	}
	path := p.path
	switch {
	case p.netloc != "":
		dst = append(dst, "//"...)
		dst = append(dst, p.netloc...)
		if (path != "" || p.params != "") && !strings.HasPrefix(path, "/") {
			dst = append(dst, '/')
		}
	case strings.HasPrefix(path, "//"):
		dst = append(dst, "//"...)
	case p.scheme != "" && usesNetloc(p.scheme) && (path == "" && p.params == "" || strings.HasPrefix(path, "/")):
		dst = append(dst, "//"...)
	}
	dst = append(dst, path...)
	if p.params != "" {
		dst = append(dst, ';')
		dst = append(dst, p.params...)
	}
	if p.query != "" {
		dst = append(dst, '?')
		dst = append(dst, p.query...)
	}
	if p.fragment != "" {
		dst = append(dst, '#')
		dst = append(dst, p.fragment...)
	}
	return dst
}

// netlocDelims removes the characters _checknetloc ignores.
var netlocDelims = strings.NewReplacer("@", "", ":", "", "#", "", "?", "")

// checkNetloc is Python's _checknetloc: a non-ASCII netloc must not gain
// "/?#@:" under NFKC normalization.
func checkNetloc(netloc string) error {
	if netloc == "" || isASCII(netloc) {
		return nil
	}
	n := netlocDelims.Replace(netloc)
	n2 := norm.NFKC.String(n)
	if n == n2 {
		return nil
	}
	if strings.ContainsAny(n2, "/?#@:") {
		return fmt.Errorf("%w: netloc %q contains invalid characters under NFKC normalization", ErrInvalid, netloc)
	}
	return nil
}

// userinfo returns the username and password of netloc as Python's
// SplitResult.username and .password: present when netloc has "@", the
// password only when the userinfo has ":".
func userinfo(netloc string) (user string, hasUser bool, pass string, hasPass bool) {
	at := strings.LastIndexByte(netloc, '@')
	if at < 0 {
		return "", false, "", false
	}
	ui := netloc[:at]
	if c := strings.IndexByte(ui, ':'); c >= 0 {
		return ui[:c], true, ui[c+1:], true
	}
	return ui, true, "", false
}

// hostinfo returns the host and port text of netloc as Python's
// SplitResult._hostinfo (the host not yet lowercased; an empty port is none).
func hostinfo(netloc string) (host, port string) {
	if at := strings.LastIndexByte(netloc, '@'); at >= 0 {
		netloc = netloc[at+1:]
	}
	if open := strings.IndexByte(netloc, '['); open >= 0 {
		bracketed := netloc[open+1:]
		rest := ""
		if k := strings.IndexByte(bracketed, ']'); k >= 0 {
			bracketed, rest = bracketed[:k], bracketed[k+1:]
		}
		if k := strings.IndexByte(rest, ':'); k >= 0 {
			return bracketed, rest[k+1:]
		}
		return bracketed, ""
	}
	if k := strings.IndexByte(netloc, ':'); k >= 0 {
		return netloc[:k], netloc[k+1:]
	}
	return netloc, ""
}

// parsePort is Python's SplitResult.port for a non-empty port text: ASCII
// digits with a value from 0 to 65535.
func parsePort(port string) (int, error) {
	v := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: port could not be cast to integer value as %q", ErrInvalid, port)
		}
		if v <= 65535 {
			v = v*10 + int(c-'0')
		}
	}
	if v > 65535 {
		return 0, fmt.Errorf("%w: port %q out of range 0-65535", ErrInvalid, port)
	}
	return v, nil
}
