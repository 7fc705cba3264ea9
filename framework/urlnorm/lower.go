package urlnorm

import (
	"unicode"
	"unicode/utf8"
)

// asciiLower lowercases the ASCII letters of s, returning s itself when it has
// none in uppercase.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// pyLower is Python's str.lower(): the simple lowercase mapping, except the
// one unconditional full mapping ("İ" becomes "i̇") and the Final_Sigma rule
// for "Σ", implemented as CPython's handle_capital_sigma does.
func pyLower(s string) string {
	if isASCII(s) {
		return asciiLower(s)
	}
	rs := []rune(s)
	b := make([]byte, 0, len(s)+2)
	for i, r := range rs {
		switch r {
		case 0x130:
			b = append(b, "i\u0307"...)
		case 0x3A3:
			if finalSigma(rs, i) {
				b = utf8.AppendRune(b, 0x3C2)
			} else {
				b = utf8.AppendRune(b, 0x3C3)
			}
		default:
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
	}
	return string(b)
}

// finalSigma reports whether the capital sigma at rs[i] is in Unicode's
// Final_Sigma context: a cased letter before it and none after it, skipping
// case-ignorable characters both ways.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

// cased is Unicode's Cased property: Lowercase, Uppercase or Lt.
func cased(r rune) bool {
	return unicode.In(r, unicode.Ll, unicode.Lu, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// caseIgnorable is Unicode's Case_Ignorable property: Mn, Me, Cf, Lm, Sk, or
// Word_Break MidLetter, MidNumLet or Single_Quote.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019, 0x2024,
		0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
