// Package disk holds what frontier's disk queues share, whether each queue
// keeps files of its own (package filequeue) or every bucket of a job lives
// in one log (package queuestore): their configuration ([Config], read from
// the job directory's settings by [ConfigFromJob]), the delivery identifiers
// handed to the requests they return ([IDs]), the files they read and write
// through their descriptors ([File], [OpenRaw]), the report of bytes dropped
// as torn or corrupt ([ReportDropped]) and the errors they return.
//
// Nothing here is process-wide: a [Config] is a value, and the identifiers
// belong to whoever made them (a queue store, a pool of per-file queues). An
// [IDs] is safe for concurrent use; a Config is read-only once validated and
// may then be shared by any number of queues.
package disk
