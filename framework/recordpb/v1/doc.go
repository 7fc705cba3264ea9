// Package recordpb holds the generated Go types of frontier's request record
// schema, version 1 (record.proto, protobuf package frontier.record.v1).
//
// A record is one format version byte, 1, followed by a [Request] message in
// the protobuf binary encoding. The framework package reads and writes records
// with a hand-written codec that produces the same bytes as
// proto.MarshalOptions{Deterministic: true} (map entries and headers sorted by
// key); this package serves code that speaks the schema with the protobuf
// runtime, such as the plugin gRPC layer, and other languages can generate
// their own types from record.proto.
//
// Values in meta and cb_kwargs are [Value]s: null, bool, int (sint64),
// float (double), string, bytes, a [List] or a [Map], so integers, floats and
// bytes keep their types.
//
// Compatibility: fields may be added to version 1 under new numbers, since
// readers skip fields they do not know. Renumbering, retyping or removing a
// field takes a new version byte and a new package next to this one.
//
// To regenerate record.pb.go after editing record.proto, with protoc and
// protoc-gen-go (google.golang.org/protobuf/cmd/protoc-gen-go, the version in
// go.mod) on PATH, run in this directory:
//
//	protoc --go_out=. --go_opt=paths=source_relative record.proto
//
// or, from the repository root, go generate ./framework/recordpb/...
package recordpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative record.proto
