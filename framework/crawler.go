package framework

import (
	"context"
	"fmt"
	"sync"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/registry"
)

// Crawler carries what every component factory needs: settings, stats,
// signals, a logger, the registry names resolve through, and the spider, as
// Scrapy's Crawler. Fields are set before the crawl starts and not changed after.
type Crawler struct {
	Settings *Settings
	Stats    Stats
	Signals  *Signals
	Logger   zerolog.Logger
	Registry *registry.Registry
	Spider   *Spider
	// Downloader is the engine's view of active downloads per slot; nil when
	// no engine runs (the downloader-aware queue then counts for itself).
	Downloader SlotActivity

	fpOnce sync.Once
	fp     Fingerprinter
	fpErr  error

	jobOnce sync.Once
	job     *JobConfig
	jobErr  error
}

// NewCrawler returns a crawler over settings and reg with fresh stats and
// signals, a silent logger and spider.
func NewCrawler(settings *Settings, reg *registry.Registry, spider *Spider) *Crawler {
	if spider == nil {
		spider = NewSpider("default")
	}
	return &Crawler{
		Settings: settings,
		Stats:    NewMemoryStats(),
		Signals:  NewSignals(),
		Logger:   zerolog.Nop(),
		Registry: reg,
		Spider:   spider,
	}
}

// Fingerprinter returns the crawler's request fingerprinter, built once from
// REQUEST_FINGERPRINTER_CLASS (Scrapy's crawler.request_fingerprinter).
func (c *Crawler) Fingerprinter(ctx context.Context) (Fingerprinter, error) {
	c.fpOnce.Do(func() {
		f, err := RequiredComponent[FingerprinterFactory](c, "REQUEST_FINGERPRINTER_CLASS")
		if err != nil {
			c.fpErr = err
			return
		}
		c.fp, c.fpErr = f(ctx, c)
	})
	return c.fp, c.fpErr
}

// Component resolves the component named by setting to its typed factory. ok
// is false when the setting is null or empty (Scrapy's None). Errors name the
// setting, its value and where the value came from.
func Component[F registry.Factory](c *Crawler, setting string) (F, bool, error) {
	var zero F
	name, ok, err := c.Settings.Component(setting)
	if err != nil || !ok {
		return zero, false, err
	}
	f, _, err := registry.Get[F](c.Registry, name)
	if err != nil {
		st, _ := c.Settings.Lookup(setting)
		return zero, false, fmt.Errorf("%s=%q (from %s): %w", setting, name, st.Source, err)
	}
	return f, true, nil
}

// RequiredComponent is Component for settings that cannot be null.
func RequiredComponent[F registry.Factory](c *Crawler, setting string) (F, error) {
	f, ok, err := Component[F](c, setting)
	if err == nil && !ok {
		err = c.requiredErr(setting, f.Kind())
	}
	return f, err
}

func (c *Crawler) requiredErr(setting string, kind registry.Kind) error {
	st, _ := c.Settings.Lookup(setting)
	return fmt.Errorf("%w: %s is null or empty (from %s), but a %s is required", ErrSetting, setting, st.Source, kind)
}
