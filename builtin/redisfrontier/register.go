package redisfrontier

import (
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// Register adds the Redis components to r, with scrapy-redis's names as
// aliases: the scheduler (scrapy_redis.scheduler.Scheduler), the exact
// dupefilter (scrapy_redis.dupefilter.RFPDupeFilter) and plain list queues
// (scrapy_redis.queue.FifoQueue, LifoQueue). scrapy-redis's PriorityQueue,
// FifoQueue and LifoQueue are also the values of SCHEDULER_QUEUE_CLASS,
// which orders the Redis scheduler's queues.
func Register(r *registry.Registry) error {
	for _, e := range []registry.Entry{
		{Name: "frontier.redis.Scheduler", Aliases: []string{"scrapy_redis.scheduler.Scheduler"},
			Factory: framework.SchedulerFactory(FromCrawler),
			Doc:     "shared frontier on Redis: per-host fair priority queues, leases, crawl-wide politeness"},
		{Name: "frontier.redis.RFPDupeFilter", Aliases: []string{"scrapy_redis.dupefilter.RFPDupeFilter"},
			Factory: framework.DupeFilterFactory(NewDupeFilter),
			Doc:     "exact fingerprint set in Redis, shared by the crawl's workers"},
		{Name: "frontier.redis.BloomDupeFilter",
			Factory: framework.DupeFilterFactory(NewBloomDupeFilter),
			Doc:     "Bloom filter in Redis, shared by the crawl's workers (DUPEFILTER_BLOOM_CAPACITY, DUPEFILTER_BLOOM_ERROR_RATE); no Redis module"},
		{Name: "frontier.redis.FifoQueue", Aliases: []string{"scrapy_redis.queue.FifoQueue"},
			Factory: listQueueFactory(false), Doc: "first in first out queue in a Redis list"},
		{Name: "frontier.redis.LifoQueue", Aliases: []string{"scrapy_redis.queue.LifoQueue"},
			Factory: listQueueFactory(true), Doc: "last in first out queue in a Redis list"},
	} {
		e.Origin = "builtin"
		if err := r.Register(e); err != nil {
			return err
		}
	}
	return nil
}
