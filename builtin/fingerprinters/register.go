package fingerprinters

import (
	"context"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// Names under which Register adds the fingerprinter.
const (
	Name       = "frontier.fingerprinters.Request"
	ScrapyName = "scrapy.utils.request.RequestFingerprinter"
)

// Register adds the default request fingerprinter to r under Name, with
// Scrapy's class path as an alias, so that REQUEST_FINGERPRINTER_CLASS works
// as in Scrapy.
func Register(r *registry.Registry) error {
	return r.Register(registry.Entry{
		Name:    Name,
		Aliases: []string{ScrapyName},
		Factory: framework.FingerprinterFactory(func(context.Context, *framework.Crawler) (framework.Fingerprinter, error) {
			return New(Options{}), nil
		}),
		Origin: "builtin",
		Doc:    "SHA-1 of method, canonical URL and body, identical to Scrapy's RequestFingerprinter",
	})
}
