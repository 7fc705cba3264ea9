package sdk

import "errors"

// Sentinel errors, checked with errors.Is. The gRPC layer turns them into
// status codes (NotFound, FailedPrecondition, InvalidArgument).
var (
	// ErrUnknownComponent is returned when the host opens a name the plugin
	// does not provide, or provides as another kind.
	ErrUnknownComponent = errors.New("sdk: unknown component")
	// ErrUnknownHandle is returned for a handle that is not open.
	ErrUnknownHandle = errors.New("sdk: unknown handle")
	// ErrAlreadyOpen is returned when a queue key is opened twice.
	ErrAlreadyOpen = errors.New("sdk: already open")
	// ErrInvalidPlugin is returned by Serve for a Plugin that cannot be served.
	ErrInvalidPlugin = errors.New("sdk: invalid plugin")
	// ErrBadConfig marks a plugin config that does not decode.
	ErrBadConfig = errors.New("sdk: bad config")
)
