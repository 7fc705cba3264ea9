package wire

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
)

// ProtocolVersion is the application protocol version of plugins/proto/v1.
// It is the second field of the go-plugin handshake line.
const ProtocolVersion = 1

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
}

// Clients are the service stubs the host calls, over one connection.
type Clients struct {
	Plugin     pluginpb.PluginServiceClient
	Queue      pluginpb.QueueServiceClient
	DupeFilter pluginpb.DupeFilterServiceClient
	// Exited is done once go-plugin has seen the plugin process exit.
	Exited context.Context
}

// GRPCPlugin is the go-plugin Plugin value of frontier's protocol. On the
// plugin side Servers must be set; on the host side it is left empty.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Servers Servers
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
	return nil
}

// GRPCClient returns *Clients over conn. ctx is cancelled by go-plugin when
// the plugin process exits.
func (p *GRPCPlugin) GRPCClient(ctx context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &Clients{
		Plugin:     pluginpb.NewPluginServiceClient(conn),
		Queue:      pluginpb.NewQueueServiceClient(conn),
		DupeFilter: pluginpb.NewDupeFilterServiceClient(conn),
		Exited:     ctx,
	}, nil
}

// PluginSet returns the versioned plugin set for a client (Servers empty) or
// a server.
func PluginSet(s Servers) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginName: &GRPCPlugin{Servers: s}},
	}
}

// ServerOptions returns the gRPC server options a plugin should use.
func ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
	}
}

// DialOptions returns the gRPC dial options the host uses.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageBytes),
			grpc.MaxCallSendMsgSize(MaxMessageBytes),
		),
	}
}
