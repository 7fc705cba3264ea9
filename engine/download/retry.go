package download

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// Stats keys of Retry, as Scrapy's RetryMiddleware.
const (
	StatRetryCount       = "retry/count"
	StatRetryReasonCount = "retry/reason_count" // + "/<reason>"
	StatRetryMaxReached  = "retry/max_reached"
)

// Retry decides which failed downloads are tried again, as Scrapy's
// RetryMiddleware: responses with a status in RETRY_HTTP_CODES and failures
// of a retryable [Kind], up to RETRY_TIMES retries after the first attempt
// (meta max_retry_times overrides it), unless RETRY_ENABLED is false or the
// request has meta dont_retry. A retry is a copy of the request with
// meta retry_times counted, DontFilter set and its priority changed by
// RETRY_PRIORITY_ADJUST (meta priority_adjust overrides it).
//
// Retry is safe for concurrent use.
type Retry struct {
	enabled        bool
	times          int
	codes          []int
	priorityAdjust int
	afterMax       time.Duration
	stats          framework.Stats
	log            zerolog.Logger
}

// NewRetry builds a Retry from c.Settings.
func NewRetry(c *framework.Crawler) (*Retry, error) {
	r := &settingsReader{s: c.Settings}
	rt := &Retry{
		enabled:        r.bool("RETRY_ENABLED"),
		times:          r.int("RETRY_TIMES"),
		codes:          r.ints("RETRY_HTTP_CODES"),
		priorityAdjust: r.int("RETRY_PRIORITY_ADJUST"),
		afterMax:       r.duration("RETRY_AFTER_MAX"),
		stats:          c.Stats,
		log:            c.Logger.With().Str("component", "retry").Logger(),
	}
	if r.err != nil {
		return nil, r.err
	}
	return rt, nil
}

// OnResponse returns the retry of r to schedule when resp's status is one to
// retry, and pause, how long r's slot should wait before any download
// starts: the Retry-After of a 429 or 503 response, capped by
// RETRY_AFTER_MAX (0 when there is none, or RETRY_AFTER_MAX is 0). pause
// stands whether or not r is retried; apply it with
// d.Pause(d.SlotKey(r), time.Now().Add(pause)). ok is false when r is not
// retried: resp then goes on to the callback or errback.
func (rt *Retry) OnResponse(r *framework.Request, resp *framework.Response) (retry *framework.Request, pause time.Duration, ok bool) {
	if !rt.enabled || framework.Truthy(r.Meta[MetaDontRetry]) {
		return nil, 0, false
	}
	if resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable {
		pause = rt.retryAfter(resp.Headers.Get("Retry-After"), time.Now())
	}
	if !slices.Contains(rt.codes, resp.Status) {
		return nil, pause, false
	}
	retry = rt.retry(r, statusMessage(resp.Status))
	return retry, pause, retry != nil
}

// OnError returns the retry of r to schedule when err is a failure of a
// retryable kind. ok is false when r is not retried: err then goes on to the
// errback.
func (rt *Retry) OnError(r *framework.Request, err error) (retry *framework.Request, ok bool) {
	if !rt.enabled || framework.Truthy(r.Meta[MetaDontRetry]) {
		return nil, false
	}
	var de *Error
	if !errors.As(err, &de) || !de.Kind.Retryable() {
		return nil, false
	}
	retry = rt.retry(r, de.Kind.String())
	return retry, retry != nil
}

// retry is Scrapy's get_retry_request: the copy of r to schedule, or nil
// when r has been retried as often as allowed.
func (rt *Retry) retry(r *framework.Request, reason string) *framework.Request {
	times := metaInt(r.Meta, MetaRetryTimes, 0) + 1
	maxTimes := metaInt(r.Meta, MetaMaxRetryTimes, rt.times)
	if times > maxTimes {
		rt.stats.Inc(StatRetryMaxReached, 1)
		rt.log.Error().Msgf("Gave up retrying %s (failed %d times): %s", r, times, reason)
		return nil
	}
	rt.log.Debug().Msgf("Retrying %s (failed %d times): %s", r, times, reason)
	next := r.Clone()
	next.Delivery, next.Redelivered = 0, false
	if next.Meta == nil {
		next.Meta = map[string]any{}
	}
	next.Meta[MetaRetryTimes] = times
	next.DontFilter = true
	next.Priority = r.Priority + metaInt(r.Meta, MetaPriorityAdjust, rt.priorityAdjust)
	rt.stats.Inc(StatRetryCount, 1)
	rt.stats.Inc(StatRetryReasonCount+"/"+reason, 1)
	return next
}

// retryAfter parses a Retry-After header (delay-seconds or an HTTP-date) at
// now, capped by RETRY_AFTER_MAX; 0 when it is absent or unreadable, or
// RETRY_AFTER_MAX is 0.
func (rt *Retry) retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if rt.afterMax <= 0 || v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n >= int64(rt.afterMax/time.Second)+1 {
			return rt.afterMax
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), rt.afterMax)
}

// statusMessage is Scrapy's response_status_message: "500 Internal Server
// Error", or "599 Unknown Status" for a status without a name.
func statusMessage(status int) string {
	text := http.StatusText(status)
	if text == "" {
		text = "Unknown Status"
	}
	return strconv.Itoa(status) + " " + text
}
