package download

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// Redirect follows HTTP redirects as new requests through the scheduler, as
// Scrapy's RedirectMiddleware: a 301, 302, 303, 307 or 308 response with a
// Location becomes a request for that URL (resolved against the request's),
// unless REDIRECT_ENABLED is false, the request has meta dont_redirect, or
// its meta handle_httpstatus_list holds the status or handle_httpstatus_all
// is set.
//
// The new request keeps the original's callback, errback, meta and
// DontFilter; its priority changes by REDIRECT_PRIORITY_ADJUST, and meta
// redirect_times, redirect_ttl, redirect_urls and redirect_reasons record
// the chain. A 303, and a 301 or 302 of a POST, become a GET without a body
// (a HEAD stays a HEAD); the others keep method and body. Cookie and
// Authorization headers are dropped when the host or scheme changes.
//
// Redirect is safe for concurrent use.
type Redirect struct {
	enabled        bool
	maxTimes       int
	priorityAdjust int
	log            zerolog.Logger
}

// NewRedirect builds a Redirect from c.Settings.
func NewRedirect(c *framework.Crawler) (*Redirect, error) {
	r := &settingsReader{s: c.Settings}
	rd := &Redirect{
		enabled:        r.bool("REDIRECT_ENABLED"),
		maxTimes:       r.int("REDIRECT_MAX_TIMES"),
		priorityAdjust: r.int("REDIRECT_PRIORITY_ADJUST"),
		log:            c.Logger.With().Str("component", "redirect").Logger(),
	}
	if r.err != nil {
		return nil, r.err
	}
	return rd, nil
}

// OnResponse returns the request to schedule in place of r when resp is a
// redirect to follow; nil, nil when it is not (resp then goes on to the
// callback or errback). Past REDIRECT_MAX_TIMES redirects from the original
// request (a loop ends there too), the error wraps [ErrMaxRedirects] and
// framework.ErrIgnoreRequest, and r's errback should get it.
func (rd *Redirect) OnResponse(r *framework.Request, resp *framework.Response) (*framework.Request, error) {
	if !rd.enabled || framework.Truthy(r.Meta[MetaDontRedirect]) || framework.Truthy(r.Meta[MetaHandleStatusAll]) ||
		slices.Contains(asInts(r.Meta[MetaHandleStatusList]), resp.Status) {
		return nil, nil
	}
	switch resp.Status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, nil
	}
	location := strings.TrimSpace(resp.Headers.Get("Location"))
	if location == "" {
		return nil, nil
	}
	target, err := redirectURL(r.URL, location)
	if err != nil {
		rd.log.Debug().Msgf("Not following the redirect (%d) of %s to %q: %v", resp.Status, r, location, err)
		return nil, nil
	}

	ttl := metaInt(r.Meta, MetaRedirectTTL, rd.maxTimes)
	times := metaInt(r.Meta, MetaRedirectTimes, 0) + 1
	if ttl <= 0 || times > rd.maxTimes {
		rd.log.Debug().Msgf("Discarding %s: max redirections reached", r)
		return nil, fmt.Errorf("%w: %s: %w", ErrMaxRedirects, r, framework.ErrIgnoreRequest)
	}

	next := redirectRequest(r, target, resp.Status)
	next.Meta[MetaRedirectTimes] = times
	next.Meta[MetaRedirectTTL] = ttl - 1
	next.Meta[MetaRedirectURLs] = append(slices.Clip(metaList(r.Meta, MetaRedirectURLs)), r.URL)
	next.Meta[MetaRedirectReasons] = append(slices.Clip(metaList(r.Meta, MetaRedirectReasons)), resp.Status)
	next.Priority = r.Priority + rd.priorityAdjust
	rd.log.Debug().Msgf("Redirecting (%d) to %s from %s", resp.Status, next, r)
	return next, nil
}

// redirectURL resolves a Location against the request's URL. A scheme-relative
// "//host/path" takes the request's scheme; a target that is not http or https
// is not followed.
func redirectURL(from, location string) (*url.URL, error) {
	base, err := url.Parse(from)
	if err != nil {
		return nil, err
	}
	loc, err := url.Parse(location)
	if err != nil {
		// Servers send bytes a URL may not hold; make them safe, as
		// Scrapy's safe_url_string does.
		if loc, err = url.Parse(escapeLocation(location)); err != nil {
			return nil, err
		}
	}
	u := base.ResolveReference(loc)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host")
	}
	u.Fragment, u.RawFragment = base.Fragment, base.RawFragment
	if loc.Fragment != "" {
		u.Fragment, u.RawFragment = loc.Fragment, loc.RawFragment
	}
	return u, nil
}

// redirectRequest is r for target: a copy with its URL changed, turned into a
// GET without a body where the status asks for it, and without credentials
// meant for another origin.
func redirectRequest(r *framework.Request, target *url.URL, status int) *framework.Request {
	next := r.Clone()
	next.Delivery, next.Redelivered = 0, false
	next.URL = target.String()
	if next.Meta == nil {
		next.Meta = map[string]any{}
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	if method != http.MethodHead &&
		(status == http.StatusSeeOther || (method == http.MethodPost && (status == http.StatusMovedPermanently || status == http.StatusFound))) {
		next.Method = http.MethodGet
		next.Body = nil
		for _, h := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location"} {
			delHeader(next.Headers, h)
		}
	}
	src, _ := url.Parse(r.URL)
	if src == nil || !strings.EqualFold(src.Hostname(), target.Hostname()) {
		delHeader(next.Headers, "Cookie")
		next.Cookies = nil
	}
	if src == nil || src.Scheme != target.Scheme || !strings.EqualFold(src.Host, target.Host) {
		delHeader(next.Headers, "Authorization")
	}
	return next
}

// delHeader deletes name from h whatever the case of its key there: request
// headers may come from a job directory unchanged.
func delHeader(h http.Header, name string) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
}

// escapeLocation percent-encodes the bytes of a Location that a URL may not
// hold (spaces, controls, non-ASCII), leaving the rest as it is.
func escapeLocation(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`' || c == '{' || c == '|' || c == '}' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
