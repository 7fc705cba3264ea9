// Package pluginpb holds the generated Go types and gRPC stubs of frontier's
// plugin protocol, version 1 (plugin.proto, protobuf package
// frontier.plugins.v1).
//
// Requests cross the wire as frontier request records (bytes: a format
// version byte followed by a frontier.record.v1.Request, see
// framework/recordpb), not as a nested message: the host writes them with
// the framework's codec straight into the batch, and a queue plugin stores
// them without decoding, so a request is converted once on each side and
// never twice.
//
// Compatibility: fields and RPCs may be added to version 1 under new numbers
// and names. Any other change takes a new package next to this one
// (frontier.plugins.v2) and a new go-plugin protocol version.
//
// To regenerate plugin.pb.go and plugin_grpc.pb.go after editing
// plugin.proto, with protoc, protoc-gen-go and protoc-gen-go-grpc (the
// versions named at the top of the generated files) on PATH, run in this
// directory:
//
//	protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
//
// or, from the repository root, go generate ./plugins/proto/...
package pluginpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
