package redisfrontier

import "errors"

var (
	// ErrBadValue is returned when a key of the crawl holds a value this
	// package did not write (a foreign type or a corrupt record).
	ErrBadValue = errors.New("redisfrontier: bad value under a crawl key")
	// ErrConfig is returned for settings that cannot make a Redis client or
	// a key.
	ErrConfig = errors.New("redisfrontier: bad Redis setting")
)
