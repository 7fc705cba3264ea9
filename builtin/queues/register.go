package queues

import (
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// Register adds the built-in queues and priority queues to r under their
// Go-native names, with Scrapy's class paths as aliases.
func Register(r *registry.Registry) error {
	for _, e := range []registry.Entry{
		{Name: "frontier.queues.FifoMemory", Aliases: []string{"scrapy.squeues.FifoMemoryQueue"},
			Factory: framework.QueueFactory(FifoMemoryFactory), Doc: "first in, first out, in memory"},
		{Name: "frontier.queues.LifoMemory", Aliases: []string{"scrapy.squeues.LifoMemoryQueue"},
			Factory: framework.QueueFactory(LifoMemoryFactory), Doc: "last in, first out, in memory"},
		{Name: "frontier.queues.FifoDisk", Aliases: []string{"scrapy.squeues.PickleFifoDiskQueue", "scrapy.squeues.MarshalFifoDiskQueue"},
			Factory: framework.QueueFactory(FifoDiskFactory), Doc: "first in, first out, on disk under JOBDIR; crash-safe framed records"},
		{Name: "frontier.queues.LifoDisk", Aliases: []string{"scrapy.squeues.PickleLifoDiskQueue", "scrapy.squeues.MarshalLifoDiskQueue"},
			Factory: framework.QueueFactory(LifoDiskFactory), Doc: "last in, first out, on disk under JOBDIR; crash-safe framed records"},
		{Name: "frontier.pqueues.Priority", Aliases: []string{"scrapy.pqueues.ScrapyPriorityQueue"},
			Factory: framework.PriorityQueueFactory(ScrapyPriorityQueueFactory), Doc: "one queue per priority, start requests after others at equal priority"},
		{Name: "frontier.pqueues.DownloaderAware", Aliases: []string{"scrapy.pqueues.DownloaderAwarePriorityQueue"},
			Factory: framework.PriorityQueueFactory(DownloaderAwarePriorityQueueFactory), Doc: "one priority queue per download slot, least busy slot first"},
	} {
		e.Origin = "builtin"
		if err := r.Register(e); err != nil {
			return err
		}
	}
	return nil
}
