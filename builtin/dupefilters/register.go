package dupefilters

import (
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// Register adds the built-in dupefilters to r under their Go-native names,
// with Scrapy's class paths as aliases.
func Register(r *registry.Registry) error {
	for _, e := range []registry.Entry{
		{Name: "frontier.dupefilters.Base", Aliases: []string{"scrapy.dupefilters.BaseDupeFilter"},
			Factory: framework.DupeFilterFactory(BaseDupeFilterFactory), Doc: "filters nothing"},
		{Name: "frontier.dupefilters.RFP", Aliases: []string{"scrapy.dupefilters.RFPDupeFilter"},
			Factory: framework.DupeFilterFactory(RFPDupeFilterFactory), Doc: "filters by request fingerprint; persisted in JOBDIR"},
		{Name: "frontier.dupefilters.Bloom",
			Factory: framework.DupeFilterFactory(BloomDupeFilterFactory), Doc: "filters by request fingerprint in a Bloom filter (DUPEFILTER_BLOOM_CAPACITY, DUPEFILTER_BLOOM_ERROR_RATE); persisted in JOBDIR"},
	} {
		e.Origin = "builtin"
		if err := r.Register(e); err != nil {
			return err
		}
	}
	return nil
}
