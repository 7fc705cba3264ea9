package urlnorm

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned for URLs that cannot be used.
var (
	ErrMissingScheme = errors.New("urlnorm: missing scheme")
	ErrControlChar   = errors.New("urlnorm: control character in URL")
)

// Safe returns rawURL made safe as Scrapy's Request does. (Interim: checks only.)
func Safe(rawURL, encoding string) (string, error) {
	if !strings.Contains(rawURL, "://") && !strings.HasPrefix(rawURL, "about:") && !strings.HasPrefix(rawURL, "data:") {
		return "", fmt.Errorf("%w in request url: %q", ErrMissingScheme, rawURL)
	}
	return rawURL, nil
}

// Canonicalize returns the canonical form of rawURL. (Interim.)
func Canonicalize(rawURL string, keepFragments bool) (string, error) {
	return rawURL, nil
}
