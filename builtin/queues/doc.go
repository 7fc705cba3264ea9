// Package queues holds frontier's built-in request queues and priority queues:
// FIFO and LIFO queues in memory and on disk, Scrapy's priority queue with its
// separate start-request buckets, and the downloader-aware priority queue that
// keeps one priority queue per download slot. [Register] adds them to a
// registry under Go-native names and under Scrapy's dotted class paths.
//
// Queues are not safe for concurrent use: the scheduler that owns them
// serialises every call.
package queues
