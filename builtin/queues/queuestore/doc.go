// Package queuestore keeps every bucket of a job directory's disk priority
// queue in one log: segment files every bucket appends to, and a checkpoint
// of which chunks each bucket still holds (docs/jobdir-queues.md, "The queue
// store"). It is the layout a new job uses.
//
// Lifecycle. [Open] recovers a store (the checkpoint, then the log written
// after it, a torn tail cut off and reported); [Read] opens one for reading
// only, for the job tools. [Store.Queue] and [Store.Bucket] return the queue
// of one bucket; the buckets are flushed together by [Store.Flush] and the
// store is closed, after its buckets, by [Store.Close]. A persistent
// priority queue opens the store with its bucket journal and hands it to the
// disk queue factories as framework.QueueConfig.Store.
//
// The store owns what its buckets share: its files (at most a bounded number
// open), its buffers, and the delivery identifiers of their records, which
// start at the clock when the store is opened and move past the largest one
// the store holds, so that no two records of the job share one, in this
// process or a later one.
//
// Concurrency. A Store is safe for concurrent use, and its queues share its
// lock; as for every queue, the owner of a bucket serialises its calls.
package queuestore
