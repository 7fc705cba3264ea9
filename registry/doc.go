// Package registry maps component names to typed factories.
//
// A setting's value (SCHEDULER_DISK_QUEUE, DUPEFILTER_CLASS, ...) is a name; the
// registry resolves it to a factory of a known kind: queue, priority queue,
// dupefilter, scheduler or fingerprinter. Factories are stored untyped here and
// turned into typed values by one checked lookup, [Get], which fails with both
// the expected and the actual kind.
//
// A Registry is an explicit instance: built-in packages export Register(r), a
// plugin host registers the names its binaries provide, and user code registers
// its own components. Nothing registers itself from init. A Registry is safe for
// concurrent use.
package registry
