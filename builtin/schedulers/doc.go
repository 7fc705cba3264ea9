// Package schedulers holds frontier's default scheduler, the counterpart of
// Scrapy's scrapy.core.scheduler.Scheduler, and [Register], which adds it to a
// registry.
package schedulers
