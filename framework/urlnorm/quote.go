package urlnorm

import (
	"unicode/utf8"
)

// byteSet says, per byte, whether quoting keeps it as is.
type byteSet [256]bool

const (
	alwaysSafe    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
	genDelims     = ":/?#[]@"
	subDelims     = "!$&'()*+,;="
	unreservedSet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	hexUpper      = "0123456789ABCDEF"
)

// newByteSet returns Python's quote() safe set: its always-safe characters
// plus the ASCII characters of add, minus those of remove.
func newByteSet(add, remove string) *byteSet {
	var s byteSet
	for i := 0; i < len(alwaysSafe); i++ {
		s[alwaysSafe[i]] = true
	}
	for i := 0; i < len(add); i++ {
		if add[i] < 0x80 {
			s[add[i]] = true
		}
	}
	for i := 0; i < len(remove); i++ {
		s[remove[i]] = false
	}
	return &s
}

// The safe sets of w3lib.url, named after its constants.
var (
	// _safe_chars: RFC 3986 reserved and unreserved characters, "|" and "%".
	safeChars = newByteSet(genDelims+subDelims+unreservedSet+"|%", "")
	// _path_safe_chars: _safe_chars without "#".
	pathSafeChars = newByteSet(genDelims+subDelims+unreservedSet+"|%", "#")
	// _USERINFO_SAFEST_CHARS: unreserved, sub-delims and ":", less ":;=".
	userinfoSafest = newByteSet(unreservedSet+subDelims+":", ":;=")
	// _PATH_SAFEST_CHARS (also _QUERY_SAFEST_CHARS, _FRAGMENT_SAFEST_CHARS).
	pathSafest = newByteSet(genDelims+subDelims+unreservedSet+"|%", "#[]|")
	// _SPECIAL_QUERY_SAFEST_CHARS: _PATH_SAFEST_CHARS without "'".
	specialQuerySafest = newByteSet(genDelims+subDelims+unreservedSet+"|%", "#[]|'")
	// quote_plus(..., safe=""): only the always-safe characters.
	plusSafe = newByteSet("", "")
)

// appendQuote appends s percent-encoded as Python's quote_from_bytes(s, safe):
// every byte outside safe becomes %XX with uppercase hex digits.
func appendQuote(dst []byte, s string, safe *byteSet) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safe[c] {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

// quote is appendQuote returning a string; it returns s itself when nothing
// needs encoding.
func quote(s string, safe *byteSet) string {
	for i := 0; i < len(s); i++ {
		if !safe[s[i]] {
			return string(appendQuote(make([]byte, 0, len(s)+16), s, safe))
		}
	}
	return s
}

// appendQuotePlus appends s as Python's quote_plus(s, safe=""): spaces become
// "+", every other byte outside the always-safe set becomes %XX.
func appendQuotePlus(dst []byte, s []byte) []byte {
	for _, c := range s {
		switch {
		case c == ' ':
			dst = append(dst, '+')
		case plusSafe[c]:
			dst = append(dst, c)
		default:
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendUnquote appends s with every %XX (two hex digits) decoded to its byte,
// as Python's unquote_to_bytes; a "%" not followed by two hex digits stays.
func appendUnquote(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
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

// unquote is Python's urllib.parse.unquote(s) (UTF-8, errors="replace"): runs
// of ASCII characters are percent-decoded to bytes and decoded as UTF-8 with
// U+FFFD for each maximal invalid subsequence; other characters stay as they
// are. s must be valid UTF-8.
func unquote(s string) string {
	hasPct := false
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			hasPct = true
			break
		}
	}
	if !hasPct {
		return s
	}
	out := make([]byte, 0, len(s))
	var run []byte
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] < 0x80 {
			j++
		}
		if j > i {
			run = appendUnquote(run[:0], s[i:j])
			out = appendDecodeReplace(out, run)
			i = j
			continue
		}
		for j < len(s) && s[j] >= 0x80 {
			j++
		}
		out = append(out, s[i:j]...)
		i = j
	}
	return string(out)
}

// appendDecodeReplace appends b decoded as UTF-8 the way Python's decoder does
// with errors="replace": one U+FFFD per maximal subpart of an ill-formed
// sequence (Unicode's recommended practice), not one per byte.
func appendDecodeReplace(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			dst = append(dst, b[i:i+size]...)
			i += size
			continue
		}
		dst = utf8.AppendRune(dst, utf8.RuneError)
		i += maximalSubpart(b[i:])
	}
	return dst
}

// maximalSubpart returns the length of the longest prefix of b that starts a
// well-formed UTF-8 sequence without completing it (at least 1).
func maximalSubpart(b []byte) int {
	c := b[0]
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 {
			if x < lo || x > hi {
				break
			}
		} else if x < 0x80 || x > 0xBF {
			break
		}
		n++
	}
	return n
}

// percentEncodeInvalid replaces every byte of s that is not part of a valid
// UTF-8 sequence with %XX, as w3lib's "percentencode" decoding error handler
// does for bytes URLs. Valid strings are returned unchanged.
func percentEncodeInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			c := s[i]
			out = append(out, '%', hexUpper[c>>4], hexUpper[c&15])
			i++
			continue
		}
		out = append(out, s[i:i+size]...)
		i += size
	}
	return string(out)
}

// strip is w3lib's _strip: C0 control characters and spaces are removed from
// both ends, and tab, CR and LF from everywhere.
func strip(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	s = s[i:j]
	for k := 0; k < len(s); k++ {
		if c := s[k]; c == '\t' || c == '\n' || c == '\r' {
			out := make([]byte, 0, len(s))
			out = append(out, s[:k]...)
			for ; k < len(s); k++ {
				if c := s[k]; c != '\t' && c != '\n' && c != '\r' {
					out = append(out, c)
				}
			}
			return string(out)
		}
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
