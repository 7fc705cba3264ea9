package queues

import (
	"context"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/framework"
)

// DiskQueueFactory returns the registry factory of LIFO (lifo true) or FIFO
// disk queues. Inside a persistent priority queue (cfg.Store set), a queue
// is a bucket of the priority queue's store: of its queue store, or of its
// per-file layout ([filequeue.Store]). Otherwise it is a queue of its own at
// the path cfg.Key, configured by cfg.Job ([disk.ConfigFromJob]), with a
// pool and delivery identifiers of its own.
func DiskQueueFactory(lifo bool) framework.QueueFactory {
	return func(_ context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
		return newDiskQueue(c, cfg, lifo)
	}
}

func newDiskQueue(c *framework.Crawler, cfg framework.QueueConfig, lifo bool) (framework.Queue, error) {
	if cfg.Store != nil {
		return cfg.Store.Bucket(cfg.Key, lifo)
	}
	newQueue := filequeue.NewFifo
	if lifo {
		newQueue = filequeue.NewLifo
	}
	q, err := newQueue(cfg.Key, disk.ConfigFromJob(cfg.Job, c))
	if err != nil {
		return nil, err
	}
	return q, nil
}

// FifoDiskFactory builds FIFO disk queues (Scrapy's PickleFifoDiskQueue and
// MarshalFifoDiskQueue); the key is the queue's directory.
func FifoDiskFactory(_ context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
	return newDiskQueue(c, cfg, false)
}

// LifoDiskFactory builds LIFO disk queues (Scrapy's PickleLifoDiskQueue and
// MarshalLifoDiskQueue); the key is the queue's file.
func LifoDiskFactory(_ context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
	return newDiskQueue(c, cfg, true)
}
