// Package builtin registers every built-in component: queues and priority
// queues, dupefilters, the default scheduler, the request fingerprinter and
// the shared frontier on Redis.
package builtin

import (
	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/builtin/fingerprinters"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/builtin/schedulers"
	"github.com/frontier-go/frontier/registry"
)

// Register adds every built-in component to r.
func Register(r *registry.Registry) error {
	for _, reg := range []func(*registry.Registry) error{
		queues.Register,
		dupefilters.Register,
		schedulers.Register,
		fingerprinters.Register,
		redisfrontier.Register,
	} {
		if err := reg(r); err != nil {
			return err
		}
	}
	return nil
}
