// Package jobdir keeps a crawl's job directory (Scrapy's JOBDIR): the lock that
// lets one process at a time use it, the format manifest, the spider state,
// and the two journals the scheduler and the persistent priority queues recover
// from after a crash.
//
// A job directory holds:
//
//	lock                    PID, host and start time of the process using it (flock(2) held)
//	frontier-job.json       format manifest: format version, priority-queue kind, creator
//	spider.state            spider.State as JSON, replaced atomically
//	requests.inflight       in-flight journal: requests handed out and not yet finished
//	requests.queue/         the disk priority queue (its bucket journal and downstream queues)
//	requests.fingerprints   the duplicate filter's fingerprints (package dupefilters)
//
// The on-disk formats are described, with their versions, in docs/jobdir.md.
//
// Lifecycle: [Open] takes the lock, checks or writes the manifest and loads the
// state; [Job.Close] releases the lock. A [Job] and the journals are not safe
// for concurrent use: their owner (the scheduler) serialises calls.
//
// Durability: journals buffer appends in memory and write them in one call at
// Flush (group commit). Whether a write is also fsynced is the [FsyncPolicy].
// Every file is made of length- and checksum-framed records, so a file cut at
// any byte (a crash during a write) recovers to its last whole record, and the
// dropped tail is reported.
package jobdir
