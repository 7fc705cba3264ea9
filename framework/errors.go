package framework

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrUnserializable marks a request the record codec cannot encode: a meta
	// or cb_kwargs value that is not plain data, or a callback the spider does
	// not know. The scheduler keeps such a request in memory, like Scrapy.
	ErrUnserializable = errors.New("framework: unserializable request")
	// ErrCorruptRecord marks bytes that do not decode as a request record.
	ErrCorruptRecord = errors.New("framework: corrupt request record")
	// ErrRecordVersion marks a request record in a format version this build
	// does not read, such as one written by a newer frontier.
	ErrRecordVersion = errors.New("framework: unsupported request record version")
	// ErrUnknownCallback marks a decoded request whose callback or errback name
	// the spider has not registered (Scrapy's "Method 'x' not found in").
	ErrUnknownCallback = errors.New("framework: unknown callback")
	// ErrInvalidURL marks a URL a request cannot be built from.
	ErrInvalidURL = errors.New("framework: invalid URL")
	// ErrIgnoreRequest, returned by a request_scheduled handler, drops the request.
	ErrIgnoreRequest = errors.New("framework: request ignored")
	// ErrSetting marks a setting whose value is unusable.
	ErrSetting = errors.New("framework: bad setting")
	// ErrNotConfigured is returned by a factory whose component is disabled by
	// the current settings (Scrapy's NotConfigured).
	ErrNotConfigured = errors.New("framework: not configured")
	// ErrNotInFlight is returned when a request reported finished was not handed out.
	ErrNotInFlight = errors.New("framework: request is not in flight")
	// ErrClosed is returned by a component used after Close.
	ErrClosed = errors.New("framework: closed")
)
