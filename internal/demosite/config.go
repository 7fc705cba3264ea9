package demosite

import (
	"fmt"
	"time"
)

// Config describes a site. Every page's links and behaviour are a function
// of the Config alone, so two Sites built from equal Configs serve the same
// URLs with the same bodies and the same misbehaviours.
//
// The misbehaviour knobs are all zero in the Bench and Test profiles. The
// fractions are shares of the pages other than the home page (page 0, which
// always answers 200 at once); a non-zero fraction picks at least one page.
// The page kinds they select (slow, flaky, retry-after, gone, large) do not
// overlap, so their fractions, once rounded, must not add up to more than
// the pages there are.
type Config struct {
	// Pages is the number of pages, the home page included: page 0 is served
	// at /, page i ≥ 1 at /page/i. At least 1.
	Pages int
	// LinksPerPage is the number of links from each page to other pages
	// (the next page in a chain that reaches every page, then pseudo-random
	// ones). A page followed by gone pages also links each of them. Zero
	// means 8.
	LinksPerPage int
	// Seed selects the pseudo-random link targets, link forms, page kinds
	// and filler text.
	Seed int64

	// SlowFraction of the pages answer after SlowDelay.
	SlowFraction float64
	SlowDelay    time.Duration
	// FlakyFraction of the pages answer 500 to their first request and 200
	// after, so a retry succeeds.
	FlakyFraction float64
	// RetryAfterFraction of the pages answer 503 with "Retry-After: 1" to
	// their first request and 200 after.
	RetryAfterFraction float64
	// GoneFraction of the pages always answer 404. They are linked, so a
	// crawl fetches them, but they yield no item.
	GoneFraction float64
	// LargePages pages are padded to about LargeSize bytes (zero means 1 MiB).
	LargePages int
	LargeSize  int
	// RedirectFraction of the links point at an alias of their target,
	// /old/N (301) or /moved/N (302), that redirects to the page's
	// canonical URL.
	RedirectFraction float64
	// FragmentFraction of the links carry a "#fragment", which a crawl
	// must drop before it compares URLs (Colly, for one, does not).
	FragmentFraction float64
	// RedirectLoop adds one link to /loop/a, which redirects to /loop/b,
	// which redirects back to /loop/a.
	RedirectLoop bool
	// AssetFraction of the pages also link a JSON document (/data/N.json)
	// and an image (/img/N.png), which are not HTML and yield no item.
	AssetFraction float64
	// PrivateFraction of the pages also link /private/N, which robots.txt
	// disallows (served 200 with no links to a crawl that ignores it).
	PrivateFraction float64
	// ConnReset adds one link to /reset, whose connection is closed with a
	// TCP reset before any response is written.
	ConnReset bool
}

// Defaults for zero Config fields.
const (
	DefaultLinksPerPage = 8
	DefaultLargeSize    = 1 << 20
)

// Demo is the profile of `frontier demo`: 3000 pages with some of every
// misbehaviour, about 150 of them slow (1.5 s), so that a crawl at the
// default settings (16 requests at a time, 8 per host) takes about half a
// minute and shows retries, redirects, errors and robots.txt at work.
func Demo() Config {
	return Config{
		Pages:              3000,
		LinksPerPage:       DefaultLinksPerPage,
		Seed:               20240501,
		SlowFraction:       0.05,
		SlowDelay:          1500 * time.Millisecond,
		FlakyFraction:      0.01,
		RetryAfterFraction: 0.002,
		GoneFraction:       0.01,
		LargePages:         3,
		LargeSize:          DefaultLargeSize,
		RedirectFraction:   0.03,
		FragmentFraction:   0.02,
		RedirectLoop:       true,
		AssetFraction:      0.01,
		PrivateFraction:    0.02,
		ConnReset:          true,
	}
}

// Bench is the profile of the crawl benchmarks: pages pages, 8 links a page,
// every page answered 200 at once with 2 to 5 KB of HTML, no misbehaviour.
func Bench(pages int) Config {
	return Config{Pages: pages, LinksPerPage: DefaultLinksPerPage, Seed: 1}
}

// Test is the profile of end-to-end and crash tests: pages pages, every one
// answered 200 at once. It has the Bench shape with a seed of its own.
func Test(pages int) Config {
	return Config{Pages: pages, LinksPerPage: DefaultLinksPerPage, Seed: 7}
}

// withDefaults fills the zero fields that have defaults.
func (c Config) withDefaults() Config {
	if c.LinksPerPage == 0 {
		c.LinksPerPage = DefaultLinksPerPage
	}
	if c.LargeSize == 0 {
		c.LargeSize = DefaultLargeSize
	}
	return c
}

// maxPages bounds Pages so that page numbers fit an int32 and the layout
// stays in memory.
const maxPages = 50_000_000

// Validate reports the first field out of range, wrapping ErrConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%w: %s is %v, want %s", ErrConfig, field, v, want)
	}
	switch {
	case c.Pages < 1 || c.Pages > maxPages:
		return bad("Pages", c.Pages, fmt.Sprintf("1 to %d", maxPages))
	case c.LinksPerPage < 1 || c.LinksPerPage > 1000:
		return bad("LinksPerPage", c.LinksPerPage, "1 to 1000")
	case c.SlowDelay < 0:
		return bad("SlowDelay", c.SlowDelay, "≥ 0")
	case c.LargePages < 0:
		return bad("LargePages", c.LargePages, "≥ 0")
	case c.LargeSize < 0 || c.LargeSize > 1<<30:
		return bad("LargeSize", c.LargeSize, "0 to 1 GiB")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"SlowFraction", c.SlowFraction},
		{"FlakyFraction", c.FlakyFraction},
		{"RetryAfterFraction", c.RetryAfterFraction},
		{"GoneFraction", c.GoneFraction},
		{"RedirectFraction", c.RedirectFraction},
		{"FragmentFraction", c.FragmentFraction},
		{"AssetFraction", c.AssetFraction},
		{"PrivateFraction", c.PrivateFraction},
	} {
		if !(f.v >= 0 && f.v <= 1) {
			return bad(f.name, f.v, "in [0, 1]")
		}
	}
	if n, have := c.specialPages(), c.Pages-1; n > have {
		return fmt.Errorf("%w: the slow, flaky, retry-after, gone and large pages add up to %d, more than the %d pages besides the home page",
			ErrConfig, n, have)
	}
	return nil
}

// share is the number of pages other than the home page that fraction f
// selects: rounded, and at least one when f > 0.
func (c Config) share(f float64) int {
	if f <= 0 || c.Pages <= 1 {
		return 0
	}
	n := int(f*float64(c.Pages-1) + 0.5)
	return max(n, 1)
}

// specialPages is the number of pages of a kind other than KindNormal.
func (c Config) specialPages() int {
	return c.share(c.SlowFraction) + c.share(c.FlakyFraction) + c.share(c.RetryAfterFraction) +
		c.share(c.GoneFraction) + c.LargePages
}
