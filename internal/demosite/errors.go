package demosite

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrConfig marks a Config field out of range.
	ErrConfig = errors.New("demosite: bad config")
	// ErrAddrInUse means Serve could not listen because another process
	// holds the address. The error also matches syscall.EADDRINUSE.
	ErrAddrInUse = errors.New("demosite: address in use")
)

// addrInUseError is Serve's error for a taken address: its message says what
// to do, and it matches both ErrAddrInUse and the listener's own error.
type addrInUseError struct {
	addr string
	err  error
}

func (e *addrInUseError) Error() string {
	return "demosite: address " + e.addr + " is in use: is another frontier demo running? choose another with --addr"
}

func (e *addrInUseError) Unwrap() []error { return []error{ErrAddrInUse, e.err} }
