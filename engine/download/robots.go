package download

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/temoto/robotstxt"

	"github.com/frontier-go/frontier/framework"
)

// Stats keys of Robots, as Scrapy's RobotsTxtMiddleware.
const (
	StatRobotsRequestCount        = "robotstxt/request_count"
	StatRobotsResponseCount       = "robotstxt/response_count"
	StatRobotsResponseStatusCount = "robotstxt/response_status_count" // + "/<status>"
	StatRobotsExceptionCount      = "robotstxt/exception_count"       // + "/<kind>"
	StatRobotsForbidden           = "robotstxt/forbidden"
)

// robotsMaxRedirects bounds the redirects followed to a robots.txt.
const robotsMaxRedirects = 5

// Robots obeys robots.txt, as Scrapy's RobotsTxtMiddleware when
// ROBOTSTXT_OBEY is true: each origin's /robots.txt is downloaded once,
// through the downloader (so within its slot's concurrency and delay, with
// retries and redirects), and kept for the crawl; requests it disallows for
// the product token of USER_AGENT are dropped. A robots.txt answered with
// 4xx allows everything; a 5xx, a failed download or a file that does not
// parse allows everything too, with a warning, as Scrapy. Requests with meta
// dont_obey_robotstxt pass unchecked.
//
// Robots is safe for concurrent use: callers asking about an origin whose
// robots.txt is being downloaded wait for that one download.
type Robots struct {
	obey  bool
	agent string
	d     *Downloader
	retry *Retry
	redir *Redirect
	stats framework.Stats
	log   zerolog.Logger

	mu    sync.Mutex
	cache map[string]*robotsEntry // by origin, scheme://host:port
}

type robotsEntry struct {
	done  chan struct{}
	rules *robotstxt.Group // nil: allow all
}

// NewRobots builds a Robots from c.Settings that downloads through d.
func NewRobots(c *framework.Crawler, d *Downloader) (*Robots, error) {
	r := &settingsReader{s: c.Settings}
	rb := &Robots{
		obey:  r.bool("ROBOTSTXT_OBEY"),
		agent: productToken(r.string("USER_AGENT")),
		d:     d,
		stats: c.Stats,
		log:   c.Logger.With().Str("component", "robotstxt").Logger(),
		cache: map[string]*robotsEntry{},
	}
	if r.err != nil {
		return nil, r.err
	}
	var err error
	if rb.retry, err = NewRetry(c); err != nil {
		return nil, err
	}
	if rb.redir, err = NewRedirect(c); err != nil {
		return nil, err
	}
	return rb, nil
}

// productToken is the part of a User-Agent that robots.txt groups name:
// "frontier" of "frontier/1 (+https://...)", lowercased.
func productToken(ua string) string {
	ua = strings.TrimSpace(ua)
	if i := strings.IndexAny(ua, "/ ;("); i >= 0 {
		ua = ua[:i]
	}
	return strings.ToLower(ua)
}

// Allowed reports whether r may be downloaded. It waits, within ctx, for the
// robots.txt of r's origin when that is not known yet; the error is ctx's
// when it ends first. Allowed counts and logs a forbidden request; the
// engine drops it (Scrapy's IgnoreRequest).
func (rb *Robots) Allowed(ctx context.Context, r *framework.Request) (bool, error) {
	if !rb.obey || framework.Truthy(r.Meta[MetaDontObeyRobotsTxt]) {
		return true, nil
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return true, nil // the download reports it
	}
	origin := u.Scheme + "://" + strings.ToLower(u.Host)
	e := rb.entry(origin)
	select {
	case <-e.done:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	if e.rules == nil {
		return true, nil
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if e.rules.Test(path) {
		return true, nil
	}
	rb.stats.Inc(StatRobotsForbidden, 1)
	rb.log.Debug().Msgf("Forbidden by robots.txt: %s", r)
	return false, nil
}

// entry returns origin's cache entry, starting its download when it is the
// first asked for.
func (rb *Robots) entry(origin string) *robotsEntry {
	rb.mu.Lock()
	e := rb.cache[origin]
	if e == nil {
		e = &robotsEntry{done: make(chan struct{})}
		rb.cache[origin] = e
		go rb.load(origin, e)
	}
	rb.mu.Unlock()
	return e
}

// load downloads and parses origin's robots.txt into e. It runs on its own,
// so that a caller giving up does not cut it short for the others.
func (rb *Robots) load(origin string, e *robotsEntry) {
	defer close(e.done)
	req := &framework.Request{
		URL:    origin + "/robots.txt",
		Method: "GET",
		Meta:   map[string]any{MetaDontObeyRobotsTxt: true},
	}
	rb.stats.Inc(StatRobotsRequestCount, 1)
	resp, err := rb.fetch(req)
	if err != nil {
		kind := "Error"
		var de *Error
		if errors.As(err, &de) {
			kind = de.Kind.String()
		}
		rb.stats.Inc(StatRobotsExceptionCount+"/"+kind, 1)
		rb.log.Warn().Err(err).Msgf("Error downloading %s; all requests to %s are allowed", req, origin)
		return
	}
	rb.stats.Inc(StatRobotsResponseCount, 1)
	rb.stats.Inc(StatRobotsResponseStatusCount+"/"+strconv.Itoa(resp.Status), 1)
	switch {
	case resp.Status >= 200 && resp.Status < 300:
	case resp.Status >= 500:
		rb.log.Warn().Msgf("robots.txt of %s answered %d; all requests to it are allowed", origin, resp.Status)
		return
	default: // 4xx, or a 3xx left unfollowed: no robots.txt
		return
	}
	data, err := robotstxt.FromBytes(resp.Body)
	if err != nil {
		rb.log.Warn().Err(err).Msgf("robots.txt of %s does not parse; all requests to it are allowed", origin)
		return
	}
	e.rules = data.FindGroup(rb.agent)
}

// fetch downloads req with retries and redirects, as Scrapy sends its
// robots.txt request through the downloader middlewares.
func (rb *Robots) fetch(req *framework.Request) (*framework.Response, error) {
	ctx := context.Background()
	for redirects := 0; ; {
		resp, err := rb.d.Fetch(ctx, req)
		if err != nil {
			if next, ok := rb.retry.OnError(req, err); ok {
				req = next
				continue
			}
			return nil, err
		}
		if next, pause, ok := rb.retry.OnResponse(req, resp); ok || pause > 0 {
			if pause > 0 {
				rb.d.Pause(rb.d.SlotKey(req), time.Now().Add(pause))
			}
			if ok {
				req = next
				continue
			}
		}
		next, err := rb.redir.OnResponse(req, resp)
		if err != nil || next == nil || redirects >= robotsMaxRedirects {
			return resp, nil
		}
		redirects++
		req = next
	}
}
