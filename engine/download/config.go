package download

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// config is the downloader's settings, read once by New.
type config struct {
	perDomain   int // CONCURRENT_REQUESTS_PER_DOMAIN
	perIP       int // CONCURRENT_REQUESTS_PER_IP
	concurrent  int // CONCURRENT_REQUESTS, to size the connection pool
	delay       time.Duration
	randomize   bool
	slots       map[string]slotConfig // DOWNLOAD_SLOTS
	timeout     time.Duration
	maxSize     int64
	warnSize    int64
	userAgent   string
	headers     http.Header // DEFAULT_REQUEST_HEADERS, canonical keys
	compression bool
	cookies     bool
	cookieDebug bool
}

// slotConfig is one download slot's concurrency (0: no limit) and delay.
type slotConfig struct {
	concurrency int
	delay       time.Duration
	randomize   bool
}

// settingsReader collects the first error of a run of settings reads, so
// that a constructor reads its settings in a list and checks once.
type settingsReader struct {
	s   *framework.Settings
	err error
}

func (r *settingsReader) int(name string) int {
	v, err := r.s.GetInt(name)
	r.keep(err)
	return v
}

func (r *settingsReader) bool(name string) bool {
	v, err := r.s.GetBool(name)
	r.keep(err)
	return v
}

func (r *settingsReader) duration(name string) time.Duration {
	v, err := r.s.GetDuration(name)
	r.keep(err)
	return v
}

func (r *settingsReader) string(name string) string {
	v, err := r.s.GetString(name)
	r.keep(err)
	return v
}

func (r *settingsReader) list(name string) []any {
	v, err := r.s.GetList(name)
	r.keep(err)
	return v
}

func (r *settingsReader) dict(name string) map[string]any {
	v, err := r.s.GetDict(name)
	r.keep(err)
	return v
}

// ints reads a list of integers, such as RETRY_HTTP_CODES.
func (r *settingsReader) ints(name string) []int {
	list := r.list(name)
	out := make([]int, 0, len(list))
	for _, e := range list {
		n, ok := framework.MetaInt(e)
		if !ok {
			r.keep(fmt.Errorf("%w: %s: %v is not an integer", framework.ErrSetting, name, e))
			continue
		}
		out = append(out, n)
	}
	return out
}

func (r *settingsReader) nonNegative(name string, v int) int {
	if v < 0 {
		r.keep(fmt.Errorf("%w: %s=%d: want 0 or more", framework.ErrSetting, name, v))
	}
	return v
}

func (r *settingsReader) keep(err error) {
	if r.err == nil {
		r.err = err
	}
}

func loadConfig(s *framework.Settings) (config, error) {
	r := &settingsReader{s: s}
	c := config{
		perDomain:   r.nonNegative("CONCURRENT_REQUESTS_PER_DOMAIN", r.int("CONCURRENT_REQUESTS_PER_DOMAIN")),
		perIP:       r.nonNegative("CONCURRENT_REQUESTS_PER_IP", r.int("CONCURRENT_REQUESTS_PER_IP")),
		concurrent:  r.nonNegative("CONCURRENT_REQUESTS", r.int("CONCURRENT_REQUESTS")),
		delay:       r.duration("DOWNLOAD_DELAY"),
		randomize:   r.bool("RANDOMIZE_DOWNLOAD_DELAY"),
		timeout:     r.duration("DOWNLOAD_TIMEOUT"),
		maxSize:     int64(r.nonNegative("DOWNLOAD_MAXSIZE", r.int("DOWNLOAD_MAXSIZE"))),
		warnSize:    int64(r.nonNegative("DOWNLOAD_WARNSIZE", r.int("DOWNLOAD_WARNSIZE"))),
		userAgent:   r.string("USER_AGENT"),
		compression: r.bool("COMPRESSION_ENABLED"),
		cookies:     r.bool("COOKIES_ENABLED"),
		cookieDebug: r.bool("COOKIES_DEBUG"),
		headers:     http.Header{},
	}
	for name, v := range r.dict("DEFAULT_REQUEST_HEADERS") {
		if v == nil {
			continue // None drops a default, as in Scrapy
		}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				c.headers.Add(name, fmt.Sprint(e))
			}
			continue
		}
		c.headers.Set(name, fmt.Sprint(v))
	}
	slots := r.dict("DOWNLOAD_SLOTS")
	if r.err != nil {
		return c, r.err
	}
	c.slots = make(map[string]slotConfig, len(slots))
	names := make([]string, 0, len(slots))
	for name := range slots {
		names = append(names, name)
	}
	sort.Strings(names) // the first bad entry reported is always the same
	for _, name := range names {
		sc, err := c.parseSlot(name, slots[name])
		if err != nil {
			return c, err
		}
		c.slots[name] = sc
	}
	return c, nil
}

// defaultSlot is the configuration of a slot DOWNLOAD_SLOTS does not name:
// CONCURRENT_REQUESTS_PER_IP when set, else CONCURRENT_REQUESTS_PER_DOMAIN.
func (c *config) defaultSlot() slotConfig {
	conc := c.perDomain
	if c.perIP > 0 {
		conc = c.perIP
	}
	return slotConfig{concurrency: conc, delay: c.delay, randomize: c.randomize}
}

func (c *config) slotConfig(key string) slotConfig {
	if sc, ok := c.slots[key]; ok {
		return sc
	}
	return c.defaultSlot()
}

// parseSlot reads one DOWNLOAD_SLOTS entry; missing keys take the defaults.
func (c *config) parseSlot(name string, v any) (slotConfig, error) {
	sc := c.defaultSlot()
	m, ok := v.(map[string]any)
	if !ok {
		return sc, fmt.Errorf("%w: DOWNLOAD_SLOTS[%q]=%v: want a map of concurrency, delay and randomize_delay",
			framework.ErrSetting, name, v)
	}
	for key, val := range m {
		bad := func(want string) error {
			return fmt.Errorf("%w: DOWNLOAD_SLOTS[%q].%s=%v: want %s", framework.ErrSetting, name, key, val, want)
		}
		switch key {
		case "concurrency":
			n, ok := framework.MetaInt(val)
			if !ok || n < 0 {
				return sc, bad("an integer, 0 or more")
			}
			sc.concurrency = n
		case "delay":
			d, ok := asDuration(val)
			if !ok {
				return sc, bad("a number of seconds, 0 or more")
			}
			sc.delay = d
		case "randomize_delay":
			sc.randomize = framework.Truthy(val)
		default:
			return sc, bad("one of concurrency, delay and randomize_delay as the key")
		}
	}
	return sc, nil
}
