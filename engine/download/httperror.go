package download

import (
	"slices"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// Stats keys of HTTPError, as Scrapy's HttpErrorMiddleware.
const (
	StatHTTPErrorIgnored       = "httperror/response_ignored_count"
	StatHTTPErrorIgnoredStatus = "httperror/response_ignored_status_count" // + "/<status>"
)

// HTTPError decides which responses reach their request's callback, as
// Scrapy's HttpErrorMiddleware: a 2xx always does; another status does when
// the request's meta handle_httpstatus_all is set, or its meta
// handle_httpstatus_list holds it, or (without that meta list)
// HTTPERROR_ALLOW_ALL is true or HTTPERROR_ALLOWED_CODES holds it.
//
// HTTPError is safe for concurrent use.
type HTTPError struct {
	allowAll bool
	allowed  []int
	stats    framework.Stats
	log      zerolog.Logger
}

// NewHTTPError builds an HTTPError from c.Settings.
func NewHTTPError(c *framework.Crawler) (*HTTPError, error) {
	r := &settingsReader{s: c.Settings}
	h := &HTTPError{
		allowAll: r.bool("HTTPERROR_ALLOW_ALL"),
		allowed:  r.ints("HTTPERROR_ALLOWED_CODES"),
		stats:    c.Stats,
		log:      c.Logger.With().Str("component", "httperror").Logger(),
	}
	if r.err != nil {
		return nil, r.err
	}
	return h, nil
}

// Allowed reports whether resp goes to r's callback. When it does not, it
// counts the response in the httperror/* stats and logs it; the engine then
// calls r's errback with &framework.HTTPError{Response: resp}.
func (h *HTTPError) Allowed(r *framework.Request, resp *framework.Response) bool {
	if resp.Status >= 200 && resp.Status < 300 {
		return true
	}
	if framework.Truthy(r.Meta[MetaHandleStatusAll]) {
		return true
	}
	if list, ok := r.Meta[MetaHandleStatusList]; ok && list != nil {
		if slices.Contains(asInts(list), resp.Status) {
			return true
		}
	} else if h.allowAll || slices.Contains(h.allowed, resp.Status) {
		return true
	}
	h.stats.Inc(StatHTTPErrorIgnored, 1)
	h.stats.Inc(StatHTTPErrorIgnoredStatus+"/"+strconv.Itoa(resp.Status), 1)
	h.log.Info().Msgf("Ignoring response <%d %s>: HTTP status code is not handled or not allowed", resp.Status, resp.URL)
	return false
}
