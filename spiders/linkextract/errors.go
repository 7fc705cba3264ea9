package linkextract

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrNilResponse is returned by Extract for a nil response.
	ErrNilResponse = errors.New("linkextract: nil response")
)
