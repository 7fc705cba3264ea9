package host

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, checked with errors.Is. Errors about one plugin come as a
// *PluginError or a *PluginExitedError that names it and wraps one of these.
var (
	// ErrConfig marks a PLUGINS setting that does not decode.
	ErrConfig = errors.New("host: bad PLUGINS setting")
	// ErrPluginExited marks a plugin process that exited or was killed.
	ErrPluginExited = errors.New("host: plugin process exited")
	// ErrBinaryNotFound marks a plugin command whose executable is missing.
	ErrBinaryNotFound = errors.New("host: plugin binary not found")
	// ErrChecksum marks a plugin binary whose sha256 is not the declared one.
	ErrChecksum = errors.New("host: plugin checksum mismatch")
	// ErrStartTimeout marks a plugin that did not complete the handshake
	// within its start_timeout.
	ErrStartTimeout = errors.New("host: plugin start timed out")
	// ErrHandshake marks a plugin whose first line on stdout is not a
	// go-plugin handshake line (usually: something printed to stdout).
	ErrHandshake = errors.New("host: plugin handshake failed")
	// ErrProtocolVersion marks a plugin built for another protocol version.
	ErrProtocolVersion = errors.New("host: plugin protocol version mismatch")
	// ErrMismatch marks a plugin that does not provide the names and kinds
	// its PLUGINS entry declares.
	ErrMismatch = errors.New("host: plugin does not provide what settings declare")
	// ErrStart marks any other failure to start a plugin.
	ErrStart = errors.New("host: plugin failed to start")
	// ErrCall marks a call the plugin answered with an error, or did not
	// answer within its call_timeout.
	ErrCall = errors.New("host: plugin call failed")
	// ErrClosed is returned once the Manager is closed.
	ErrClosed = errors.New("host: plugin manager closed")
)

// PluginError is an error from, or about, one plugin.
type PluginError struct {
	// Plugin is the plugin's name in PLUGINS.
	Plugin string
	// Op is what was being done: "start", "describe", "configure", or a
	// component call such as "PopBatch acme.queues.Fifo".
	Op  string
	Err error
	// LastLog holds the plugin's last error lines on stderr, if any.
	LastLog []string
}

func (e *PluginError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %q: %s: %v", e.Plugin, e.Op, e.Err)
	writeLastLog(&b, e.LastLog)
	return b.String()
}

func (e *PluginError) Unwrap() error { return e.Err }

// PluginExitedError reports a plugin process that exited or was killed
// while the crawl was using it (or before it completed its handshake). It
// wraps ErrPluginExited. Nothing the plugin did not acknowledge can be relied
// on; a persistent queue can be reopened from its key after a restart.
type PluginExitedError struct {
	Plugin string
	// Op is the call that noticed the exit.
	Op string
	// Status is how the process ended, e.g. "exit status 2" or
	// "signal: killed", when known.
	Status string
	// LastLog holds the plugin's last error lines on stderr, if any.
	LastLog []string
}

func (e *PluginExitedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plugin %q exited", e.Plugin)
	if e.Status != "" {
		fmt.Fprintf(&b, " (%s)", e.Status)
	}
	if e.Op != "" {
		fmt.Fprintf(&b, " during %s", e.Op)
	}
	writeLastLog(&b, e.LastLog)
	return b.String()
}

func (e *PluginExitedError) Unwrap() error { return ErrPluginExited }

func writeLastLog(b *strings.Builder, lines []string) {
	if len(lines) > 0 {
		fmt.Fprintf(b, "; its last log lines: %s", strings.Join(lines, " | "))
	}
}
