package wire

import (
	"fmt"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// codec is gRPC's protobuf codec with this package's buffer pool (a tier
// for every power of two, see bufferPool) in place of gRPC's default one,
// which jumps from 32 KiB to 1 MiB and would clear 1 MiB for any message
// between them (most batches). A large message is marshalled into a pooled
// buffer that gRPC gives back once written; a received message is parsed in
// place when it arrives in one piece, else joined in a pooled buffer given
// back after parsing. Protobuf copies the bytes fields it keeps, so nothing
// refers to gRPC's buffers afterwards. On the wire it is the standard
// "proto" codec.
type codec struct{}

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("wire: cannot marshal %T", v)
	}
	// A large message (a batch) is written into a pooled buffer, which gRPC
	// frees once it is written to the connection.
	opts := proto.MarshalOptions{UseCachedSize: true}
	size := opts.Size(m)
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	buf := bufferPool.Get(size)
	b, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil {
		bufferPool.Put(buf)
		return nil, err
	}
	*buf = b
	return mem.BufferSlice{mem.NewBuffer(buf, bufferPool)}, nil
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("wire: cannot unmarshal into %T", v)
	}
	if len(data) == 1 {
		return proto.Unmarshal(data[0].ReadOnlyData(), m)
	}
	// A message received in pieces is joined in a pooled buffer, given back
	// right after parsing (the message keeps copies of its bytes fields).
	buf := data.MaterializeToBuffer(bufferPool)
	defer buf.Free()
	return proto.Unmarshal(buf.ReadOnlyData(), m)
}
