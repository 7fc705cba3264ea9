package engine

import "errors"

// Errors of the engine, checked with errors.Is.
var (
	// ErrFrontier wraps a failure of the frontier (the scheduler or its job
	// directory): the crawl stops, and what was committed stays.
	ErrFrontier = errors.New("engine: frontier failed")
	// ErrFeed wraps a failure to write or commit the item feeds.
	ErrFeed = errors.New("engine: feed failed")
	// ErrUnknownCallback is a request naming a callback or errback the
	// spider has not registered.
	ErrUnknownCallback = errors.New("engine: unknown callback")
)
