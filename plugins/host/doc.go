// Package host runs frontier's out-of-process plugins: executables that
// serve queues, priority queues and duplicate filters over
// hashicorp/go-plugin (gRPC only, automatic mutual TLS, protocol
// plugins/proto/v1).
//
// Plugins are declared in the PLUGINS setting, a list of entries:
//
//	PLUGINS:
//	  - name: acme
//	    command: ["./bin/acme-queues", "--verbose"]
//	    sha256: "<sha256sum of ./bin/acme-queues>"
//	    start_timeout: 30s
//	    provides:
//	      - {name: acme.queues.SQLiteFifo, kind: queue}
//	    config: {synchronous: full}
//	SCHEDULER_DISK_QUEUE: acme.queues.SQLiteFifo
//
// [Register] decodes them strictly and registers every provided name in the
// registry with the origin "plugin:<name>", so settings name plugin
// components like built-in ones. Each binary runs as one process, started the
// first time one of its components is built: the host checks its sha256,
// completes the handshake within start_timeout, checks that it describes the
// declared names and kinds, and sends it its config. [Manager.Close] stops
// every process; on Linux the kernel also kills plugins whose host died
// (parent-death signal), and plugins built with plugins/sdk exit when their
// parent changes.
//
// Plugin stderr lines in hclog's JSON shape (which plugins/sdk writes) reach
// the crawl's zerolog logger at their own level, with the field plugin set.
// go-plugin reads a plugin's stdout and stderr and watches its process on
// goroutines of its own, so the logger's writer must take concurrent writes
// (wrap one that does not, such as a bytes.Buffer, in zerolog.SyncWriter).
//
// Failures are typed. A plugin that exits or is killed fails the calls that
// notice it with a *PluginExitedError (ErrPluginExited) naming the plugin, and
// every later call on its components fails the same way; nothing hangs and
// nothing panics. Start-up failures wrap ErrBinaryNotFound, ErrChecksum,
// ErrStartTimeout, ErrHandshake, ErrProtocolVersion, ErrMismatch or
// ErrStart inside a *PluginError.
//
// Plugin queues are batched without changing what a queue means: pushes are
// buffered and sent batch_size at a time (or when a Pop or Peek needs them,
// and at Flush and Close); pops are prefetched in batches, and the prefetch
// stays valid across pushes according to the order the queue declares (FIFO:
// pushes come after it; LIFO: before it, fetched first; any other order: it
// is released and fetched again). Len is exact without a round trip, Peek
// returns what Pop returns next, a request is never handed out from the push
// buffer (whatever is handed out is in flight in the plugin), Close returns
// prefetched requests to their place, and acknowledgements travel with the
// next round trip or Flush. docs/plugins.md has the details and the
// protocol.
package host
