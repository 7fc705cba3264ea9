package urlnorm

import (
	"sync"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
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

// pyLower is Python's str.lower(): Unicode's full lowercase mapping (so "İ"
// becomes "i̇") with the final sigma rule.
func pyLower(s string) string {
	if isASCII(s) {
		return asciiLower(s)
	}
	// A Caser holds state, so concurrent calls each take their own.
	c := lowerCasers.Get().(cases.Caser)
	defer lowerCasers.Put(c)
	return c.String(s)
}

var lowerCasers = sync.Pool{New: func() any { return cases.Lower(language.Und) }}
