package wire

import "errors"

// ErrBadBatch marks a batch of records that does not parse.
var ErrBadBatch = errors.New("wire: bad record batch")
