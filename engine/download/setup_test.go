package download

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// logBuffer collects a test's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newCrawler returns a crawler over the default settings with overrides
// (NAME=VALUE) and a logger writing to the returned buffer.
func newCrawler(t testing.TB, overrides ...string) (*framework.Crawler, *logBuffer) {
	t.Helper()
	s, err := framework.LoadSettings(framework.LoadOptions{Overrides: overrides})
	if err != nil {
		t.Fatal(err)
	}
	c := framework.NewCrawler(s, nil, nil)
	logs := &logBuffer{}
	c.Logger = zerolog.New(logs).Level(zerolog.DebugLevel)
	return c, logs
}

// newDownloader returns a downloader for a new crawler, closed when the test ends.
func newDownloader(t testing.TB, overrides ...string) (*Downloader, *framework.Crawler, *logBuffer) {
	t.Helper()
	c, logs := newCrawler(t, overrides...)
	d, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, c, logs
}

func get(t testing.TB, url string) *framework.Request {
	t.Helper()
	r, err := framework.NewRequest(url)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// withSlot returns r with meta download_slot set.
func withSlot(r *framework.Request, slot string) *framework.Request {
	if r.Meta == nil {
		r.Meta = map[string]any{}
	}
	r.Meta[framework.MetaDownloadSlot] = slot
	return r
}

func fetch(t testing.TB, d *Downloader, r *framework.Request) *framework.Response {
	t.Helper()
	resp, err := d.Fetch(context.Background(), r)
	if err != nil {
		t.Fatalf("Fetch %s: %v", r, err)
	}
	return resp
}

// fetchErr fetches r, wanting an *Error of kind want.
func fetchErr(t testing.TB, d *Downloader, r *framework.Request, want Kind) *Error {
	t.Helper()
	resp, err := d.Fetch(context.Background(), r)
	if err == nil {
		t.Fatalf("Fetch %s: got status %d, want an error of kind %s", r, resp.Status, want)
	}
	var de *Error
	if !errors.As(err, &de) {
		t.Fatalf("Fetch %s: %v (%T), want an *Error", r, err, err)
	}
	if de.Kind != want {
		t.Fatalf("Fetch %s: kind %s (%v), want %s", r, de.Kind, err, want)
	}
	if !errors.Is(err, want.sentinel()) {
		t.Fatalf("errors.Is(%v, %v) = false", err, want.sentinel())
	}
	return de
}

// gate is a handler that holds requests until released, counting how many
// it holds at once.
type gate struct {
	inflight, peak, served atomic.Int64
	release                chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := g.inflight.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	select {
	case <-g.release:
	case <-r.Context().Done():
	}
	g.inflight.Add(-1)
	g.served.Add(1)
	w.Write([]byte("ok"))
}

// waitFor polls cond until it holds, failing the test after a generous time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// serve starts a loopback server with handler, closed when the test ends.
func serve(t testing.TB, handler http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return srv
}

// statsWith returns the stats whose key starts with prefix.
func statsWith(c *framework.Crawler, prefix string) map[string]int64 {
	out := map[string]int64{}
	for k, v := range c.Stats.Snapshot() {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// pipeline plays the engine's part for one request: it fetches it, and
// fetches again what Retry and Redirect turn it into, until it ends in a
// response for the callback or an error for the errback.
type pipeline struct {
	d        *Downloader
	retry    *Retry
	redirect *Redirect
	httpErr  *HTTPError
}

func newPipeline(t testing.TB, overrides ...string) (*pipeline, *framework.Crawler, *logBuffer) {
	t.Helper()
	d, c, logs := newDownloader(t, overrides...)
	p := &pipeline{d: d}
	var err error
	if p.retry, err = NewRetry(c); err != nil {
		t.Fatal(err)
	}
	if p.redirect, err = NewRedirect(c); err != nil {
		t.Fatal(err)
	}
	if p.httpErr, err = NewHTTPError(c); err != nil {
		t.Fatal(err)
	}
	return p, c, logs
}

// run returns the final response or error and every request fetched, in order.
func (p *pipeline) run(ctx context.Context, r *framework.Request) (*framework.Response, error, []*framework.Request) {
	var sent []*framework.Request
	for {
		sent = append(sent, r)
		resp, err := p.d.Fetch(ctx, r)
		if err != nil {
			if next, ok := p.retry.OnError(r, err); ok {
				r = next
				continue
			}
			return nil, err, sent
		}
		next, pause, ok := p.retry.OnResponse(r, resp)
		if pause > 0 {
			p.d.Pause(p.d.SlotKey(r), time.Now().Add(pause))
		}
		if ok {
			r = next
			continue
		}
		next, err = p.redirect.OnResponse(r, resp)
		if err != nil {
			return nil, err, sent
		}
		if next != nil {
			r = next
			continue
		}
		if !p.httpErr.Allowed(r, resp) {
			return resp, &framework.HTTPError{Response: resp}, sent
		}
		return resp, nil, sent
	}
}
