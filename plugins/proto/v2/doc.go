// Package storepb holds the generated Go types and gRPC stubs of frontier's
// plugin protocol version 2 (store.proto, protobuf package
// frontier.plugins.v2): the StoreService, which serves all the buckets of a
// job from one store over batched calls that name each bucket. Version 2
// keeps every service of version 1 (package pluginpb) as it is.
//
// To regenerate store.pb.go and store_grpc.pb.go after editing store.proto,
// install protoc (on Debian and Ubuntu: apt-get install -y
// protobuf-compiler) and the two Go generators at the versions named at the
// top of the generated files:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//
// then, with $(go env GOPATH)/bin on PATH, run in this directory
//
//	protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative store.proto
//
// or, from the repository root, go generate ./plugins/proto/...
package storepb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative store.proto
