// Package jobtools looks inside a job directory without changing it: what is
// pending by download slot and priority, what is in flight, how many
// fingerprints are kept (Inspect); every pending request as a JSON line
// (Export); and a check of every file that reports what a resume would drop
// (Verify). The frontier command's "jobdir" subcommands print them.
//
// The disk priority queue comes in two layouts. A job keeps the buckets of
// the built-in disk queues in one queue store (requests.queue/queue.index
// and its segments), which the tools open with queuestore.Read; a job
// written before the store, or with a disk queue that keeps its own files,
// has a file or directory per bucket, which they read with
// filequeue.Len and filequeue.Verify. Either way the bucket
// journal says which buckets are live.
//
// The tools never write to the job directory: the read-only functions see
// what a resume would see without cutting torn tails. A job that is running
// (its lock is held) can be inspected; the figures are then a snapshot of a
// moving target.
package jobtools
