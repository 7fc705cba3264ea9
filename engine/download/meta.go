package download

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// Meta keys the downloader and its middlewares read or write, as Scrapy's.
const (
	MetaDownloadTimeout   = "download_timeout"
	MetaDownloadMaxsize   = "download_maxsize"
	MetaDownloadWarnsize  = "download_warnsize"
	MetaDontMergeCookies  = "dont_merge_cookies"
	MetaCookieJar         = "cookiejar"
	MetaDontRetry         = "dont_retry"
	MetaRetryTimes        = "retry_times"
	MetaMaxRetryTimes     = "max_retry_times"
	MetaPriorityAdjust    = "priority_adjust"
	MetaDontRedirect      = "dont_redirect"
	MetaRedirectTimes     = "redirect_times"
	MetaRedirectTTL       = "redirect_ttl"
	MetaRedirectURLs      = "redirect_urls"
	MetaRedirectReasons   = "redirect_reasons"
	MetaHandleStatusList  = "handle_httpstatus_list"
	MetaHandleStatusAll   = "handle_httpstatus_all"
	MetaDontObeyRobotsTxt = "dont_obey_robotstxt"
)

// Meta values come from spiders (Go values) and from job directories (the
// record codec's float64, int64, string, bool and []any), so they are read
// leniently, with Python's truth and int rules.

// asInts converts a list of numbers; elements that are not numbers are
// skipped.
func asInts(v any) []int {
	var out []int
	add := func(e any) {
		if n, ok := framework.MetaInt(e); ok {
			out = append(out, n)
		}
	}
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		for _, e := range t {
			add(e)
		}
		return out
	case []int:
		return t
	case string:
		for _, e := range strings.Split(t, ",") {
			add(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		for i := range rv.Len() {
			add(rv.Index(i).Interface())
		}
	}
	return out
}

// asDuration converts a number of seconds or a Go duration string.
func asDuration(v any) (time.Duration, bool) {
	if d, ok := v.(time.Duration); ok {
		return d, true
	}
	if s, ok := v.(string); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
			return d, true
		}
	}
	f, ok := framework.MetaFloat(v)
	if !ok || f < 0 || f*float64(time.Second) >= math.MaxInt64 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// metaInt returns meta[key] as an int, or def when it is missing or not a
// number.
func metaInt(meta map[string]any, key string, def int) int {
	if n, ok := framework.MetaInt(meta[key]); ok {
		return n
	}
	return def
}

// metaList returns meta[key] as a list, for the redirect_urls and
// redirect_reasons lists; a value that is not a list becomes a list of one.
func metaList(meta map[string]any, key string) []any {
	switch t := meta[key].(type) {
	case []any:
		return t
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return out
	case nil:
		return nil
	default:
		rv := reflect.ValueOf(t)
		if rv.Kind() != reflect.Slice {
			return []any{fmt.Sprint(t)}
		}
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).Interface()
		}
		return out
	}
}
