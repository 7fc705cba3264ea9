package schedulers

import (
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// Register adds the default scheduler to r as "frontier.schedulers.Default",
// aliased "scrapy.core.scheduler.Scheduler".
func Register(r *registry.Registry) error {
	return r.Register(registry.Entry{
		Name:    "frontier.schedulers.Default",
		Aliases: []string{"scrapy.core.scheduler.Scheduler"},
		Factory: framework.SchedulerFactory(FromCrawler),
		Origin:  "builtin",
		Doc:     "Scrapy's scheduler: dupefilter, memory and disk priority queues, in-flight tracking",
	})
}
