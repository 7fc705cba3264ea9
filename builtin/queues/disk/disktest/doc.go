// Package disktest holds what the tests and benchmarks of the disk queues
// (packages filequeue and queuestore) share: a file on a disk that fills up
// ([FullDisk]), and the round-trip benchmark's workload and measures.
//
// It is for tests only. Its helpers are safe for concurrent use where they
// say so; a [FullDisk]'s budget is guarded by its mutex.
package disktest
