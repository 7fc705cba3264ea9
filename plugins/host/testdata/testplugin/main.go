// Command testplugin is a plugin for plugins/host's tests: a memory FIFO
// queue served with plugins/sdk, and ways to misbehave chosen by its first
// argument:
//
//	(none)    behave
//	stdout    print a line on stdout before serving (breaks the handshake)
//	sleep     sleep a minute before serving (start timeout)
//	exit      write an error to stderr and exit with status 3 at once
//	v99       serve protocol version 99, which no host speaks
//	v1        serve protocol version 1 only, as a plugin built before version 2
//	panic     panic on the third PopBatch
//	log       log at every level when configured
//	netrpc    serve go-plugin's net/rpc protocol instead of gRPC
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
	"github.com/frontier-go/frontier/plugins/sdk"
	"github.com/frontier-go/frontier/plugins/wire"
)

// memQueue is a FIFO in memory with in-flight tracking.
type memQueue struct {
	next     uint64
	pending  []sdk.Delivery // sorted by ID
	inflight map[uint64]sdk.Delivery
	pops     int
	panicAt  int
}

func (q *memQueue) Push(es []sdk.Entry) error {
	for _, e := range es {
		q.next++
		q.pending = append(q.pending, sdk.Delivery{ID: q.next, Record: e.Record})
	}
	return nil
}

func (q *memQueue) Pop(max int) ([]sdk.Delivery, error) {
	q.pops++
	if q.panicAt > 0 && q.pops >= q.panicAt {
		panic("testplugin: asked to panic")
	}
	n := min(max, len(q.pending))
	out := append([]sdk.Delivery(nil), q.pending[:n]...)
	q.pending = q.pending[n:]
	for _, d := range out {
		q.inflight[d.ID] = d
	}
	return out, nil
}

func (q *memQueue) Ack(ids []uint64) error {
	for _, id := range ids {
		delete(q.inflight, id)
	}
	return nil
}

func (q *memQueue) Release(ids []uint64) error {
	for _, id := range ids {
		if d, ok := q.inflight[id]; ok {
			delete(q.inflight, id)
			q.pending = append(q.pending, d)
		}
	}
	sort.Slice(q.pending, func(i, j int) bool { return q.pending[i].ID < q.pending[j].ID })
	return nil
}

func (q *memQueue) Len() sdk.State {
	return sdk.State{Pending: len(q.pending), InFlight: len(q.inflight)}
}

func (q *memQueue) Close() error { return nil }

func main() {
	mode := ""
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	panicAt := 0
	switch mode {
	case "stdout":
		fmt.Println("hello from a plugin that prints to stdout")
	case "sleep":
		time.Sleep(time.Minute)
	case "exit":
		fmt.Fprintln(os.Stderr, "testplugin: cannot open its database")
		os.Exit(3)
	case "v99", "netrpc":
		serveOther(mode)
		return
	case "panic":
		panicAt = 3
	}
	var versions []int
	if mode == "v1" {
		versions = []int{1}
	}
	sdk.Serve(sdk.Plugin{
		Name:             "testplugin",
		Version:          "0.0.1",
		ProtocolVersions: versions,
		Queues: map[string]sdk.QueueFactory{
			"test.MemoryFifo": {Order: sdk.FIFO, Doc: "test FIFO", New: func(sdk.QueueOptions) (sdk.Queue, error) {
				return &memQueue{inflight: map[uint64]sdk.Delivery{}, panicAt: panicAt}, nil
			}},
		},
		Configure: func(raw json.RawMessage, log zerolog.Logger) error {
			if mode == "log" {
				log.Debug().Msg("debug line")
				log.Info().Str("config", string(raw)).Msg("configured")
				log.Warn().Int("n", 7).Msg("warning line")
				log.Error().Msg("error line")
			}
			if mode == "chatty" {
				// Print to stdout without pause until killed: go-plugin
				// forwards it over its stdio stream.
				go func() {
					for i := 0; ; i++ {
						fmt.Printf("chatter %d\n", i)
					}
				}()
			}
			return nil
		},
	})
}

// serveOther serves a go-plugin the host must refuse.
func serveOther(mode string) {
	hs := wire.Handshake
	if mode == "v99" {
		hs.ProtocolVersion = 99
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: hs,
			VersionedPlugins: map[int]plugin.PluginSet{99: {wire.PluginName: &wire.GRPCPlugin{Servers: wire.Servers{
				Plugin:     pluginpb.UnimplementedPluginServiceServer{},
				Queue:      pluginpb.UnimplementedQueueServiceServer{},
				DupeFilter: pluginpb.UnimplementedDupeFilterServiceServer{},
			}}}},
			GRPCServer: func(opts []grpc.ServerOption) *grpc.Server { return grpc.NewServer(opts...) },
		})
		return
	}
	// net/rpc: no GRPCServer, so go-plugin picks its legacy protocol.
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         plugin.PluginSet{wire.PluginName: &wire.GRPCPlugin{}},
	})
}
