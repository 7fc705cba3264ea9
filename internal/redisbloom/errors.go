package redisbloom

import "errors"

// Errors of the package, wrapped with the key and values they concern.
var (
	// ErrParams marks an existing filter opened with other parameters.
	ErrParams = errors.New("redisbloom: filter parameters differ")
	// ErrForeign marks a key holding something other than this filter.
	ErrForeign = errors.New("redisbloom: key holds a foreign value")
	// ErrConfig marks invalid arguments to New.
	ErrConfig = errors.New("redisbloom: invalid configuration")
	// ErrFingerprint marks a fingerprint that is not 20 bytes.
	ErrFingerprint = errors.New("redisbloom: fingerprint is not 20 bytes")
)
