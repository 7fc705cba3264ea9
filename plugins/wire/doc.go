// Package wire is the go-plugin glue shared by frontier's plugin host
// (plugins/host) and its plugin SDK (plugins/sdk): the handshake both sides
// must agree on, the protocol version, the go-plugin Plugin value that
// registers the gRPC services on the plugin side and builds their clients on
// the host side, the gRPC options both sides use (message sizes, flow
// control, a codec that does not zero pooled buffers), and the format of a
// batch of records (AppendRecord, SplitRecords).
//
// Plugin authors do not use this package directly; they call sdk.Serve.
// Authors in other languages follow docs/plugins.md, which spells out the
// same values.
package wire
