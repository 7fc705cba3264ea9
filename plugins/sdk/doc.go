// Package sdk serves frontier components (queues, priority queues and
// duplicate filters) from a plugin executable. A plugin's main function
// builds a [Plugin] and calls [Serve]:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name: "acme",
//			Queues: map[string]sdk.QueueFactory{
//				"acme.queues.Fifo": {Order: sdk.FIFO, New: openFifo},
//			},
//		})
//	}
//
// Serve speaks hashicorp/go-plugin's gRPC protocol and frontier's plugin
// protocol (plugins/proto/v1) and turns its calls into calls of the small
// [Queue] and [DupeFilter] interfaces. It sets up logging the way go-plugin
// expects: [NewLogger] writes JSON lines with hclog's field names (@level,
// @message, @timestamp) to stderr, so the host logs them at their level.
// Stdout belongs to the go-plugin handshake: a plugin must never write to it
// before Serve has printed the handshake line, and after that go-plugin
// forwards what is written there to the host, which logs it.
//
// A plugin process exits when the host closes it, and also when the host
// disappears without closing it (the parent process changes), so a host
// killed with SIGKILL leaves no plugin behind. With FRONTIER_PLUGIN_CPUPROFILE
// set in its environment ([ProfileEnv]), it writes a CPU profile.
//
// Concurrency: Serve calls the methods of one Queue or DupeFilter from one
// goroutine at a time; different instances may be called concurrently.
// Factories may be called concurrently.
package sdk
