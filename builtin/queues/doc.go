// Package queues holds frontier's built-in request queues and priority queues:
// FIFO and LIFO queues in memory, Scrapy's priority queue with its separate
// start-request buckets, the downloader-aware priority queue that keeps one
// priority queue per download slot, and the registry factories of the disk
// queues. [Register] adds them to a registry under Go-native names and under
// Scrapy's dotted class paths.
//
// The disk queues live below, one folder per idea: package disk holds what
// every disk queue shares (configuration, delivery identifiers, raw files,
// drop reports); package queuestore keeps every bucket of a job in one log
// (the default layout); package filequeue keeps each queue in files of its
// own (JOBDIR_QUEUE_LAYOUT=files, jobs written in format 1, and a disk queue
// built outside a persistent priority queue). docs/jobdir-queues.md
// describes the files.
//
// A persistent priority queue (PriorityQueueConfig.Job set) opens, with its
// bucket journal, the store its buckets live in (a queuestore.Store, or a
// filequeue.Store for a job kept as files) and hands it to the disk queue
// factories as QueueConfig.Store; the store owns what the buckets share
// (files, buffers, delivery identifiers) and is closed with the priority
// queue. Nothing in this package or below it is process-wide.
//
// Queues are not safe for concurrent use: the scheduler that owns them
// serialises every call.
package queues
