package wire

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/mem"

	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
	storepb "github.com/frontier-go/frontier/plugins/proto/v2"
)

// Application protocol versions: the second field of the go-plugin
// handshake line. Version 1 is plugins/proto/v1; version 2 is version 1 plus
// the StoreService of plugins/proto/v2 (keyed buckets).
const (
	ProtocolV1 = 1
	ProtocolV2 = 2
)

// ProtocolVersion is the newest application protocol version; the host
// offers every version in Versions and the plugin picks the newest it
// speaks.
const ProtocolVersion = ProtocolV2

// Versions lists the protocol versions this module speaks, oldest first.
var Versions = []int{ProtocolV1, ProtocolV2}

// PluginName is the name the host dispenses; one binary serves exactly one
// go-plugin plugin under this name, whatever components it provides.
const PluginName = "frontier"

// MaxMessageBytes is the largest gRPC message either side accepts. The host
// keeps its batches well below it (see host.Config), so it only matters for
// single requests with very large bodies.
const MaxMessageBytes = 256 << 20

// Handshake is the go-plugin handshake. The cookie is a UX feature, not a
// security measure: it lets a plugin binary tell it was started by frontier
// and print a friendly message otherwise. It must never change.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "FRONTIER_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "c6b1e0f4-frontier-plugin-v1",
}

// Servers are the service implementations a plugin registers.
type Servers struct {
	Plugin     pluginpb.PluginServiceServer
	Queue      pluginpb.QueueServiceServer
	DupeFilter pluginpb.DupeFilterServiceServer
	// Store is registered under protocol version 2 only.
	Store storepb.StoreServiceServer
}

// Clients are the service stubs the host calls, over one connection.
type Clients struct {
	Plugin     pluginpb.PluginServiceClient
	Queue      pluginpb.QueueServiceClient
	DupeFilter pluginpb.DupeFilterServiceClient
	// Store is set when the negotiated protocol version is 2 or later.
	Store storepb.StoreServiceClient
	// Version is the negotiated protocol version.
	Version int
	// Exited is done once go-plugin has seen the plugin process exit.
	Exited context.Context
}

// GRPCPlugin is the go-plugin Plugin value of frontier's protocol. On the
// plugin side Servers must be set; on the host side it is left empty.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Servers Servers
	// Version is the protocol version this value serves or dispenses.
	Version int
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

// GRPCServer registers the services on s.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Servers.Plugin == nil || p.Servers.Queue == nil || p.Servers.DupeFilter == nil {
		return errors.New("wire: GRPCPlugin.Servers is incomplete")
	}
	pluginpb.RegisterPluginServiceServer(s, p.Servers.Plugin)
	pluginpb.RegisterQueueServiceServer(s, p.Servers.Queue)
	pluginpb.RegisterDupeFilterServiceServer(s, p.Servers.DupeFilter)
	if p.Version >= ProtocolV2 {
		if p.Servers.Store == nil {
			return errors.New("wire: protocol version 2 needs GRPCPlugin.Servers.Store")
		}
		storepb.RegisterStoreServiceServer(s, p.Servers.Store)
	}
	return nil
}

// GRPCClient returns *Clients over conn. ctx is cancelled by go-plugin when
// the plugin process exits.
func (p *GRPCPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	c := &Clients{
		Plugin:     pluginpb.NewPluginServiceClient(conn),
		Queue:      pluginpb.NewQueueServiceClient(conn),
		DupeFilter: pluginpb.NewDupeFilterServiceClient(conn),
		Version:    max(p.Version, ProtocolV1),
		Exited:     ctx,
	}
	if p.Version >= ProtocolV2 {
		c.Store = storepb.NewStoreServiceClient(conn)
	}
	return c, nil
}

// PluginSet returns the versioned plugin set for a client (Servers empty) or
// a server, for the given protocol versions (all of Versions when none are
// given). go-plugin offers the client's versions to the plugin, which
// answers with the newest it also serves.
func PluginSet(s Servers, versions ...int) map[int]plugin.PluginSet {
	if len(versions) == 0 {
		versions = Versions
	}
	out := map[int]plugin.PluginSet{}
	for _, v := range versions {
		out[v] = plugin.PluginSet{PluginName: &GRPCPlugin{Servers: s, Version: v}}
	}
	return out
}

// Flow control and I/O buffers. The peers are on one machine, so HTTP/2 flow
// control only adds round trips: a batch larger than gRPC's initial 64 KiB
// window would wait for a window update in the middle of its transfer.
// Larger I/O buffers mean fewer system calls per batch.
const (
	windowBytes   = 16 << 20
	ioBufferBytes = 256 << 10
)

// bufferPool has a tier for every power of two from 256 bytes to 16 MiB.
// gRPC's default pool jumps from 32 KiB to 1 MiB and zeroes what it hands
// out, so every batch of 32 KiB to 1 MiB (most batches) would clear 1 MiB.
var bufferPool = func() mem.BufferPool {
	var exps []uint8
	for e := uint8(8); e <= 24; e++ {
		exps = append(exps, e)
	}
	p, err := mem.NewBinaryTieredBufferPool(exps...)
	if err != nil {
		return mem.DefaultBufferPool()
	}
	return p
}()

// ServerOptions returns the gRPC server options a plugin should use.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		experimental.BufferPool(bufferPool),
		grpc.ForceServerCodecV2(codec{}),
		grpc.InitialWindowSize(windowBytes),
		grpc.InitialConnWindowSize(windowBytes),
		grpc.ReadBufferSize(ioBufferBytes),
		grpc.WriteBufferSize(ioBufferBytes),
	}
}

// DialOptions returns the gRPC dial options the host uses.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageBytes),
			grpc.MaxCallSendMsgSize(MaxMessageBytes),
			grpc.ForceCodecV2(codec{}),
		),
		experimental.WithBufferPool(bufferPool),
		grpc.WithInitialWindowSize(windowBytes),
		grpc.WithInitialConnWindowSize(windowBytes),
		grpc.WithReadBufferSize(ioBufferBytes),
		grpc.WithWriteBufferSize(ioBufferBytes),
	}
}
