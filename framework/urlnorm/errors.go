package urlnorm

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrMissingScheme marks a URL without "://" that is neither about: nor
	// data:, which Scrapy's Request refuses ("Missing scheme in request url").
	ErrMissingScheme = errors.New("urlnorm: missing scheme")
	// ErrControlChar marks a URL holding a NUL byte, or a C0 control character
	// that survives making it safe (one in the host, which w3lib does not
	// encode).
	ErrControlChar = errors.New("urlnorm: control character in URL")
	// ErrInvalid marks a URL that Python's urllib.parse refuses with a
	// ValueError: unbalanced or invalid bracketed hosts, a port that is not a
	// number from 0 to 65535, or a host that NFKC normalization turns into URL
	// delimiters.
	ErrInvalid = errors.New("urlnorm: invalid URL")
	// ErrEncoding marks an unknown encoding name, or text the encoding cannot
	// represent (Python's UnicodeEncodeError).
	ErrEncoding = errors.New("urlnorm: encoding error")
)
