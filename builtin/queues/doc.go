// Package queues holds frontier's built-in request queues and priority queues:
// FIFO and LIFO queues in memory and on disk, Scrapy's priority queue with its
// separate start-request buckets, and the downloader-aware priority queue that
// keeps one priority queue per download slot. [Register] adds them to a
// registry under Go-native names and under Scrapy's dotted class paths.
//
// The disk queues keep framed, checksummed records under their key (a path in
// JOBDIR/requests.queue): a crash loses nothing that was flushed, a torn tail
// is dropped and reported, and open file descriptors are bounded by a pool
// shared by every queue; docs/jobdir-queues.md describes the files.
//
// Queues are not safe for concurrent use: the scheduler that owns them
// serialises every call.
package queues
