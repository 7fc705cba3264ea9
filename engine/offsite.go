package engine

import (
	"strings"
	"sync"

	"github.com/frontier-go/frontier/framework"
)

// offsite keeps the crawl on the spider's allowed domains and their
// subdomains, as Scrapy's OffsiteMiddleware: a request elsewhere is
// dropped (unless DontFilter), counted in offsite/filtered, and the first
// one per domain is logged and counted in offsite/domains.
type offsite struct {
	domains []string // lowercased; empty: everything is allowed
	mu      sync.Mutex
	seen    map[string]bool // domains logged
}

func newOffsite(sp *framework.Spider) *offsite {
	o := &offsite{}
	for _, d := range sp.AllowedDomains {
		d = strings.ToLower(strings.TrimSpace(d))
		if d != "" {
			o.domains = append(o.domains, d)
		}
	}
	return o
}

func (o *offsite) allows(e *Engine, r *framework.Request) bool {
	if len(o.domains) == 0 || r.DontFilter {
		return true
	}
	host := framework.Hostname(r.URL)
	for _, d := range o.domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	e.c.Stats.Inc("offsite/filtered", 1)
	o.mu.Lock()
	first := !o.seen[host]
	if first {
		if o.seen == nil {
			o.seen = map[string]bool{}
		}
		o.seen[host] = true
	}
	o.mu.Unlock()
	if first {
		e.c.Stats.Inc("offsite/domains", 1)
		e.log.Debug().Msgf("Filtered offsite request to %q: %s", host, r)
	}
	return false
}
