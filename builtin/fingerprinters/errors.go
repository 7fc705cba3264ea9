package fingerprinters

import "errors"

// ErrURL marks a request whose URL cannot be canonicalized (for instance an
// invalid bracketed host), so that no fingerprint can be computed for it.
var ErrURL = errors.New("fingerprinters: URL cannot be canonicalized")
