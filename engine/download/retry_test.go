package download

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// failingServer answers the first n requests of each path with status,
// then 200.
func failingServer(t *testing.T, status, n int) (string, *atomic.Int64) {
	var hits atomic.Int64
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= int64(n) {
			w.WriteHeader(status)
			return
		}
		w.Write([]byte("fine"))
	}))
	return srv.URL, &hits
}

func TestRetryResponses(t *testing.T) {
	tests := []struct {
		name       string
		overrides  []string
		status     int
		failures   int
		meta       map[string]any
		wantOK     bool
		wantHits   int64
		wantRetry  int64
		wantReason string
		wantMax    int64
	}{
		{"500 twice, then fine", nil, 500, 2, nil, true, 3, 2, "500 Internal Server Error", 0},
		{"503 past RETRY_TIMES", nil, 503, 99, nil, false, 3, 2, "503 Service Unavailable", 1},
		{"RETRY_TIMES=4", []string{"RETRY_TIMES=4"}, 502, 99, nil, false, 5, 4, "502 Bad Gateway", 1},
		{"meta max_retry_times", nil, 504, 99, map[string]any{MetaMaxRetryTimes: 1.0}, false, 2, 1, "504 Gateway Timeout", 1},
		{"404 is not retried", nil, 404, 99, nil, false, 1, 0, "", 0},
		{"RETRY_HTTP_CODES", []string{"RETRY_HTTP_CODES=404,410"}, 404, 1, nil, true, 2, 1, "404 Not Found", 0},
		{"dont_retry", nil, 500, 99, map[string]any{MetaDontRetry: true}, false, 1, 0, "", 0},
		{"RETRY_ENABLED=false", []string{"RETRY_ENABLED=false"}, 500, 99, nil, false, 1, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, hits := failingServer(t, tt.status, tt.failures)
			p, c, logs := newPipeline(t, tt.overrides...)
			r := get(t, base+"/page")
			r.Meta = tt.meta
			r.Priority = 10
			resp, err, sent := p.run(context.Background(), r)
			if ok := err == nil && resp.Status == 200; ok != tt.wantOK {
				t.Errorf("ended in %v, %v; want success %v", resp, err, tt.wantOK)
			}
			if hits.Load() != tt.wantHits {
				t.Errorf("%d requests reached the server, want %d", hits.Load(), tt.wantHits)
			}
			stats := statsWith(c, "retry/")
			if stats[StatRetryCount] != tt.wantRetry || stats[StatRetryMaxReached] != tt.wantMax {
				t.Errorf("stats %v", stats)
			}
			if tt.wantReason != "" && stats[StatRetryReasonCount+"/"+tt.wantReason] != tt.wantRetry {
				t.Errorf("stats %v, want %d for reason %q", stats, tt.wantRetry, tt.wantReason)
			}
			for i, s := range sent[1:] {
				if got := s.Meta[MetaRetryTimes]; got != i+1 {
					t.Errorf("retry %d has retry_times %v", i+1, got)
				}
				if !s.DontFilter || s.Priority != 10-(i+1) {
					t.Errorf("retry %d: DontFilter %v, priority %d", i+1, s.DontFilter, s.Priority)
				}
			}
			if r.Meta[MetaRetryTimes] != nil {
				t.Error("the original request's meta changed")
			}
			log := logs.String()
			if tt.wantRetry > 0 && !strings.Contains(log, "Retrying <GET "+base+"/page> (failed 1 times): "+tt.wantReason) {
				t.Errorf("log lacks the retry line:\n%s", log)
			}
			if tt.wantMax > 0 && !strings.Contains(log, "Gave up retrying <GET "+base+"/page> (failed "+strconv.FormatInt(tt.wantRetry+1, 10)+" times)") {
				t.Errorf("log lacks the give-up line:\n%s", log)
			}
		})
	}
}

func TestRetryErrors(t *testing.T) {
	c, _ := newCrawler(t, "RETRY_TIMES=1")
	rt, err := NewRetry(c)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		meta map[string]any
		want bool
	}{
		{"timeout", &Error{Kind: KindTimeout}, nil, true},
		{"refused", &Error{Kind: KindConnectionRefused}, nil, true},
		{"reset", &Error{Kind: KindConnectionReset}, nil, true},
		{"DNS", &Error{Kind: KindDNSLookup}, nil, true},
		{"truncated", &Error{Kind: KindResponseTruncated}, nil, true},
		{"wrapped", errors.Join(errors.New("context"), &Error{Kind: KindTimeout}), nil, true},
		{"too large", &Error{Kind: KindResponseTooLarge}, nil, false},
		{"invalid URL", &Error{Kind: KindInvalidURL}, nil, false},
		{"canceled", &Error{Kind: KindCanceled}, nil, false},
		{"TLS", &Error{Kind: KindTLS}, nil, false},
		{"not a download error", errors.New("something"), nil, false},
		{"dont_retry", &Error{Kind: KindTimeout}, map[string]any{MetaDontRetry: 1}, false},
		{"retried as often as allowed", &Error{Kind: KindTimeout}, map[string]any{MetaRetryTimes: 1.0}, false},
		{"max_retry_times from a job directory", &Error{Kind: KindTimeout}, map[string]any{MetaRetryTimes: int64(1), MetaMaxRetryTimes: 3.0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, "http://example.com/")
			r.Meta = tt.meta
			r.Callback, r.Errback = "parse_item", "on_error"
			next, ok := rt.OnError(r, tt.err)
			if ok != tt.want || (next != nil) != tt.want {
				t.Fatalf("OnError = %v, %v; want %v", next, ok, tt.want)
			}
			if ok && (next.Callback != "parse_item" || next.Errback != "on_error" || next.URL != r.URL) {
				t.Errorf("retry %+v lost the request's data", next)
			}
		})
	}
	if got := c.Stats.Get(StatRetryReasonCount + "/Timeout"); got != 3 {
		t.Errorf("retry/reason_count/Timeout = %d, want 3", got)
	}
	if got := c.Stats.Get(StatRetryMaxReached); got != 1 {
		t.Errorf("retry/max_reached = %d, want 1", got)
	}
}

func TestRetryPriorityAdjust(t *testing.T) {
	c, _ := newCrawler(t, "RETRY_PRIORITY_ADJUST=5")
	rt, _ := NewRetry(c)
	r := get(t, "http://example.com/")
	r.Priority = 1
	if next, _ := rt.OnError(r, &Error{Kind: KindTimeout}); next.Priority != 6 {
		t.Errorf("priority %d, want 6", next.Priority)
	}
	r.Meta = map[string]any{MetaPriorityAdjust: -3}
	if next, _ := rt.OnError(r, &Error{Kind: KindTimeout}); next.Priority != -2 {
		t.Errorf("with meta priority_adjust: priority %d, want -2", next.Priority)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name     string
		afterMax string
		value    string
		want     time.Duration
	}{
		{"seconds", "60", "5", 5 * time.Second},
		{"capped", "60", "3600", time.Minute},
		{"huge", "60", "99999999999999999", time.Minute},
		{"HTTP-date", "60", date(30 * time.Second), 30 * time.Second},
		{"HTTP-date capped", "60", date(time.Hour), time.Minute},
		{"HTTP-date in the past", "60", date(-time.Hour), 0},
		{"RETRY_AFTER_MAX=0 ignores it", "0", "5", 0},
		{"negative", "60", "-5", 0},
		{"garbage", "60", "soon", 0},
		{"empty", "60", "", 0},
		{"fractional max", "1.5", "2", 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newCrawler(t, "RETRY_AFTER_MAX="+tt.afterMax)
			rt, err := NewRetry(c)
			if err != nil {
				t.Fatal(err)
			}
			if got := rt.retryAfter(tt.value, now); got != tt.want {
				t.Errorf("retryAfter(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

// TestRetryAfterPausesTheSlot checks that a 503 with Retry-After gives a
// pause, only for 429 and 503, and that the pause holds the retry back.
func TestRetryAfterPausesTheSlot(t *testing.T) {
	var hits atomic.Int64
	var times [2]time.Time
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if n <= 2 {
			times[n-1] = time.Now()
		}
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("fine"))
	}))
	p, _, _ := newPipeline(t)
	resp, err, sent := p.run(context.Background(), get(t, srv.URL))
	if err != nil || resp.Status != 200 || len(sent) != 2 {
		t.Fatalf("ended in %v, %v after %d requests", resp, err, len(sent))
	}
	if gap := times[1].Sub(times[0]); gap < 900*time.Millisecond {
		t.Errorf("retry came %v after the 503 with Retry-After: 1", gap)
	}

	for _, status := range []int{429, 503, 500} {
		resp := &framework.Response{Status: status, Headers: http.Header{"Retry-After": {"7"}}}
		_, pause, _ := p.retry.OnResponse(get(t, "http://example.com/"), resp)
		want := 7 * time.Second
		if status == 500 {
			want = 0
		}
		if pause != want {
			t.Errorf("status %d: pause %v, want %v", status, pause, want)
		}
	}
}
