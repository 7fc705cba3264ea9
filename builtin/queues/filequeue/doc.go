// Package filequeue holds the disk queues that keep each queue in files of
// their own, as Scrapy does: a FIFO queue is a directory of segment files, a
// LIFO queue one file (docs/jobdir-queues.md, "Queue files"). They serve
// three cases: a job started with JOBDIR_QUEUE_LAYOUT=files, a job written in
// format 1 (before the queue store), and a disk queue built outside a
// persistent priority queue.
//
// Lifecycle. A job directory's queues come from one [Store], which owns the
// validated configuration they share and their [Pool]: the bound on open
// descriptors and buffered bytes, the borrowed buffers, and the delivery
// identifiers, which start at the clock when the pool is made and move past
// every identifier a queue finds in its files. A queue standing alone
// ([NewFifo], [NewLifo]) gets a pool of its own. Building a queue does no
// I/O; its files are read at first use, written at Flush, Close and the
// automatic flushes, and deleted by Close when it is empty. [Verify] and
// [Len] read a queue without changing it.
//
// Concurrency. A Queue's caller serialises its calls; a Queue still locks
// itself, because its pool may flush it from another queue's call. A Pool
// and a Store are safe for concurrent use.
//
// Why the layout stays. The queue store is the default, and these queues
// are about 2,800 lines beside it. Reading a format 1 job needs most of
// them: its buckets are these files, and a resume pops from them, makes
// those pops durable (the FIFO head cursor and segment deletion, the LIFO
// cursor), keeps their delivery identifiers, and recovers torn tails and
// corrupt records exactly as before; the format, recovery and pop paths are
// most of the code. A resumed format 1 job also goes on in its own layout
// (new requests are pushed to its files), so dropping the write side would
// mean converting the job into a store on resume: a converter as crash-safe
// as the store (a crash half way must leave one readable job), and a job
// whose on-disk format changes under its user. What writing costs beyond
// that is the push path and the pool's write budget, a few hundred lines,
// which also serve JOBDIR_QUEUE_LAYOUT=files and standalone queues.
package filequeue
