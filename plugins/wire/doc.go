// Package wire is the go-plugin glue shared by frontier's plugin host
// (plugins/host) and its plugin SDK (plugins/sdk): the handshake both sides
// must agree on, the protocol version, and the go-plugin Plugin value that
// registers the gRPC services on the plugin side and builds their clients on
// the host side.
//
// Plugin authors do not use this package directly; they call sdk.Serve.
// Authors in other languages follow docs/plugins.md, which spells out the
// same values.
package wire
