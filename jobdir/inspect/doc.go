// Package inspect looks inside a job directory without changing it: what is
// pending by download slot and priority, what is in flight, how many
// fingerprints are kept (Inspect); every pending request as a JSON line
// (Export); and a check of every file that reports what a resume would drop
// (Verify). The frontier command's "jobdir" subcommands print them.
//
// The tools never write to the job directory: the disk queues are read with
// their read-only functions (queues.DiskQueueLen, queues.VerifyDiskQueue),
// which see what a resume would see without cutting torn tails. A job that is
// running (its lock is held) can be inspected; the figures are then a
// snapshot of a moving target.
package inspect
