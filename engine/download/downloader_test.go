package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
)

func TestFetchReturnsEveryStatusAndFollowsNoRedirect(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/missing":
			http.Error(w, "no such page", http.StatusNotFound)
		case "/broken":
			http.Error(w, "oops", http.StatusInternalServerError)
		default:
			w.Header().Set("X-Test", "yes")
			fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), mustRead(r.Body))
		}
	}))
	d, _, _ := newDownloader(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		wantBody                 string
	}{
		{"get", "", "/page?q=1", "", 200, "GET /page?q=1 "},
		{"post with body", "POST", "/form", "a=1&b=2", 200, "POST /form a=1&b=2"},
		{"put", "PUT", "/thing", "data", 200, "PUT /thing data"},
		{"redirect comes back as a response", "", "/moved", "", 302, ""},
		{"404", "", "/missing", "", 404, "no such page\n"},
		{"500", "", "/broken", "", 500, "oops\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, srv.URL+tt.path)
			r.Method = tt.method
			if tt.body != "" {
				r.Body = []byte(tt.body)
			}
			resp := fetch(t, d, r)
			if resp.Status != tt.status {
				t.Fatalf("status %d, want %d", resp.Status, tt.status)
			}
			if tt.wantBody != "" && string(resp.Body) != tt.wantBody {
				t.Errorf("body %q, want %q", resp.Body, tt.wantBody)
			}
			if resp.Request != r || resp.URL != r.URL {
				t.Errorf("response of %s has request %v and URL %s", r, resp.Request, resp.URL)
			}
			if tt.status == 302 && resp.Headers.Get("Location") != "/elsewhere" {
				t.Errorf("Location %q", resp.Headers.Get("Location"))
			}
		})
	}
}

func mustRead(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}

// TestSlotConcurrency holds requests in the server and checks that no slot
// ever has more downloads at once than its concurrency, and that Active
// counts the requests waiting for the slot too.
func TestSlotConcurrency(t *testing.T) {
	tests := []struct {
		name      string
		overrides []string
		slot      string // meta download_slot; "" for the host
		want      int
	}{
		{"per domain", []string{"CONCURRENT_REQUESTS_PER_DOMAIN=2"}, "", 2},
		{"DOWNLOAD_SLOTS overrides per domain", []string{"CONCURRENT_REQUESTS_PER_DOMAIN=2",
			`DOWNLOAD_SLOTS={"wide": {"concurrency": 3}, "narrow": {"concurrency": 1}}`}, "wide", 3},
		{"DOWNLOAD_SLOTS narrower", []string{"CONCURRENT_REQUESTS_PER_DOMAIN=4",
			`DOWNLOAD_SLOTS={"narrow": {"concurrency": 1}}`}, "narrow", 1},
		{"slot not in DOWNLOAD_SLOTS", []string{"CONCURRENT_REQUESTS_PER_DOMAIN=2",
			`DOWNLOAD_SLOTS={"narrow": {"concurrency": 1}}`}, "other", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate()
			srv := serve(t, g)
			d, _, _ := newDownloader(t, tt.overrides...)
			const n = 8
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				r := get(t, fmt.Sprintf("%s/%d", srv.URL, i))
				if tt.slot != "" {
					withSlot(r, tt.slot)
				}
				wg.Go(func() {
					if _, err := d.Fetch(context.Background(), r); err != nil {
						errs <- err
					}
				})
			}
			slot := tt.slot
			if slot == "" {
				slot = "127.0.0.1"
			}
			waitFor(t, "all requests active", func() bool { return d.Active(slot) == n })
			if d.ActiveTotal() != n {
				t.Errorf("ActiveTotal %d, want %d", d.ActiveTotal(), n)
			}
			waitFor(t, "the slot to fill", func() bool { return g.inflight.Load() == int64(tt.want) })
			time.Sleep(50 * time.Millisecond) // room for a request too many to arrive
			if p := g.inflight.Load(); p != int64(tt.want) {
				t.Errorf("%d downloads at once, want %d", p, tt.want)
			}
			close(g.release)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if p := g.peak.Load(); p > int64(tt.want) {
				t.Errorf("peak of %d downloads at once, want at most %d", p, tt.want)
			}
			if g.served.Load() != n {
				t.Errorf("served %d, want %d", g.served.Load(), n)
			}
			if d.Active(slot) != 0 || d.ActiveTotal() != 0 {
				t.Errorf("after the downloads: Active %d, ActiveTotal %d", d.Active(slot), d.ActiveTotal())
			}
		})
	}
}

// TestSlotsAreIndependent checks that a full slot does not hold back another.
func TestSlotsAreIndependent(t *testing.T) {
	g := newGate()
	srv := serve(t, g)
	d, _, _ := newDownloader(t, "CONCURRENT_REQUESTS_PER_DOMAIN=1")
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Fetch(context.Background(), withSlot(get(t, srv.URL+"/held"), "a"))
	}()
	waitFor(t, "slot a busy", func() bool { return g.inflight.Load() == 1 })
	other := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("b")) }))
	if resp := fetch(t, d, withSlot(get(t, other.URL), "b")); string(resp.Body) != "b" {
		t.Errorf("body %q", resp.Body)
	}
	close(g.release)
	<-done
}

// TestDelayBetweenStarts checks that a slot with a delay starts one download
// per delay, in the order the requests came. Only lower bounds on time are
// asserted: a loaded machine can only make things slower.
func TestDelayBetweenStarts(t *testing.T) {
	const delay = 150 * time.Millisecond
	tests := []struct {
		name      string
		overrides []string
		slot      string
		minGap    time.Duration
	}{
		{"DOWNLOAD_DELAY", []string{"DOWNLOAD_DELAY=0.15", "RANDOMIZE_DOWNLOAD_DELAY=false"}, "", delay},
		{"randomized", []string{"DOWNLOAD_DELAY=0.15", "RANDOMIZE_DOWNLOAD_DELAY=true"}, "", delay / 2},
		{"DOWNLOAD_SLOTS delay", []string{`DOWNLOAD_SLOTS={"slow": {"delay": 0.15, "randomize_delay": false}}`}, "slow", delay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var order []string
			srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				order = append(order, r.URL.Path)
				mu.Unlock()
			}))
			d, _, _ := newDownloader(t, append(tt.overrides, "CONCURRENT_REQUESTS_PER_DOMAIN=8")...)
			slot := tt.slot
			if slot == "" {
				slot = "127.0.0.1"
			}
			const n = 4
			start := time.Now()
			var wg sync.WaitGroup
			var finished atomic.Int64
			var want []string
			for i := range n {
				r := get(t, fmt.Sprintf("%s/%d", srv.URL, i))
				if tt.slot != "" {
					withSlot(r, tt.slot)
				}
				want = append(want, fmt.Sprintf("/%d", i))
				wg.Go(func() {
					if _, err := d.Fetch(context.Background(), r); err != nil {
						t.Error(err)
					}
					finished.Add(1)
				})
				// The next request comes only once this one is in the slot.
				waitFor(t, "the request to enter its slot", func() bool {
					return int64(d.Active(slot))+finished.Load() == int64(i+1)
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			if min := time.Duration(n-1) * tt.minGap; elapsed < min {
				t.Errorf("%d downloads took %v, want at least %v", n, elapsed, min)
			}
			if !slices.Equal(order, want) {
				t.Errorf("order %v, want %v", order, want)
			}
		})
	}
}

// TestPause checks that no download starts in a paused slot before the
// pause ends, and that other slots go on.
func TestPause(t *testing.T) {
	hits := make(chan time.Time, 4)
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits <- time.Now() }))
	d, _, _ := newDownloader(t)
	const pause = 300 * time.Millisecond
	start := time.Now()
	d.Pause("paused", start.Add(pause))
	d.Pause("paused", start.Add(pause/3)) // a shorter pause changes nothing
	fetch(t, d, withSlot(get(t, srv.URL+"/other"), "free"))
	fetch(t, d, withSlot(get(t, srv.URL+"/held"), "paused"))
	<-hits
	if at := <-hits; at.Sub(start) < pause {
		t.Errorf("paused slot downloaded after %v, want at least %v", at.Sub(start), pause)
	}
}

func TestTimeout(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow-headers":
		case "/slow-body":
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("12345"))
			w.(http.Flusher).Flush()
		case "/quick":
			time.Sleep(300 * time.Millisecond)
			w.Write([]byte("done"))
			return
		}
		select {
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	}))
	d, c, _ := newDownloader(t, "DOWNLOAD_TIMEOUT=0.2")
	for _, path := range []string{"/slow-headers", "/slow-body"} {
		t.Run(path, func(t *testing.T) {
			e := fetchErr(t, d, get(t, srv.URL+path), KindTimeout)
			if !e.Kind.Retryable() || !strings.Contains(e.Error(), "took longer than 200ms") {
				t.Errorf("error %v", e)
			}
		})
	}
	t.Run("meta download_timeout", func(t *testing.T) {
		r := get(t, srv.URL+"/quick")
		r.Meta = map[string]any{MetaDownloadTimeout: 10.0}
		if resp := fetch(t, d, r); string(resp.Body) != "done" {
			t.Errorf("body %q", resp.Body)
		}
		r = get(t, srv.URL+"/slow-headers")
		r.Meta = map[string]any{MetaDownloadTimeout: "0.1"}
		fetchErr(t, d, r, KindTimeout)
	})
	if n := c.Stats.Get(StatExceptionTypeCount + "/Timeout"); n != 3 {
		t.Errorf("%s/Timeout = %d, want 3", StatExceptionTypeCount, n)
	}
}

// TestCanceled checks that the caller's context ends a download waiting for
// its slot and one in progress, as kind Canceled, not counted as failures.
func TestCanceled(t *testing.T) {
	g := newGate()
	srv := serve(t, g)
	d, c, _ := newDownloader(t, "CONCURRENT_REQUESTS_PER_DOMAIN=1")
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := d.Fetch(ctx, get(t, fmt.Sprintf("%s/%d", srv.URL, i)))
			errs <- err
		}()
	}
	waitFor(t, "one downloading, one waiting", func() bool {
		return g.inflight.Load() == 1 && d.ActiveTotal() == 2
	})
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrCanceled) || !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want ErrCanceled wrapping context.Canceled", err)
		}
	}
	close(g.release)
	if n := c.Stats.Get(StatExceptionCount); n != 0 {
		t.Errorf("%s = %d, want 0", StatExceptionCount, n)
	}
	if d.ActiveTotal() != 0 {
		t.Errorf("ActiveTotal %d", d.ActiveTotal())
	}
}

func TestClose(t *testing.T) {
	g := newGate()
	srv := serve(t, g)
	d, _, _ := newDownloader(t, "CONCURRENT_REQUESTS_PER_DOMAIN=1")
	done := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := d.Fetch(context.Background(), get(t, fmt.Sprintf("%s/%d", srv.URL, i)))
			done <- err
		}()
	}
	waitFor(t, "one downloading, one waiting", func() bool { return g.inflight.Load() == 1 && d.ActiveTotal() == 2 })
	d.Close()
	if err := <-done; !errors.Is(err, framework.ErrClosed) {
		t.Errorf("waiting Fetch: %v, want framework.ErrClosed", err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Errorf("download in progress: %v", err)
	}
	if _, err := d.Fetch(context.Background(), get(t, srv.URL)); !errors.Is(err, framework.ErrClosed) {
		t.Errorf("Fetch after Close: %v, want framework.ErrClosed", err)
	}
}

func TestDefaultHeadersAndUserAgent(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, k := range []string{"User-Agent", "Accept", "Accept-Language", "X-Custom", "Accept-Encoding"} {
			fmt.Fprintf(w, "%s=%s\n", k, strings.Join(r.Header.Values(k), ","))
		}
		fmt.Fprintf(w, "Host=%s\n", r.Host)
	}))
	tests := []struct {
		name      string
		overrides []string
		headers   map[string][]string
		want      []string
	}{
		{"defaults", nil, nil, []string{
			"User-Agent=frontier/1 (+https://github.com/frontier-go/frontier)",
			"Accept=text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"Accept-Language=en", "X-Custom=", "Accept-Encoding=gzip, deflate"}},
		{"settings", []string{"USER_AGENT=mybot/2", `DEFAULT_REQUEST_HEADERS={"X-Custom": "from-settings", "Accept": "text/plain"}`}, nil,
			[]string{"User-Agent=mybot/2", "Accept=text/plain", "Accept-Language=", "X-Custom=from-settings"}},
		{"the request's own win", []string{`DEFAULT_REQUEST_HEADERS={"X-Custom": "from-settings"}`},
			map[string][]string{"user-agent": {"own/1"}, "X-Custom": {"a", "b"}, "Accept-Encoding": {"identity"}, "Host": {"example.test"}},
			[]string{"User-Agent=own/1", "X-Custom=a,b", "Accept-Encoding=identity", "Host=example.test"}},
		{"no compression, no Accept-Encoding", []string{"COMPRESSION_ENABLED=false"}, nil, []string{"Accept-Encoding="}},
		{"empty USER_AGENT sends none", []string{"USER_AGENT="}, nil, []string{"User-Agent="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, _ := newDownloader(t, tt.overrides...)
			r := get(t, srv.URL)
			r.Headers = tt.headers
			before := maps.Clone(r.Headers)
			got := strings.Split(string(fetch(t, d, r).Body), "\n")
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("server saw %q, want %q among them", got, w)
				}
			}
			if !maps.EqualFunc(before, r.Headers, slices.Equal) {
				t.Errorf("the request's headers changed: %v, were %v", r.Headers, before)
			}
		})
	}
}

// TestSlotKey covers the slot of a request: meta download_slot, the host,
// and with CONCURRENT_REQUESTS_PER_IP the host's address once resolved.
func TestSlotKey(t *testing.T) {
	d, _, _ := newDownloader(t)
	tests := []struct {
		url  string
		meta map[string]any
		want string
	}{
		{"http://Example.COM:8080/a", nil, "example.com"},
		{"http://example.com/a", map[string]any{framework.MetaDownloadSlot: "mine"}, "mine"},
		{"http://example.com/a", map[string]any{framework.MetaDownloadSlot: nil}, "example.com"},
		{"http://example.com/a", map[string]any{framework.MetaDownloadSlot: int64(3)}, "3"},
		{"http://[::1]:80/", nil, "::1"},
	}
	for _, tt := range tests {
		r := get(t, tt.url)
		r.Meta = tt.meta
		if got := d.SlotKey(r); got != tt.want {
			t.Errorf("SlotKey(%s, %v) = %q, want %q", tt.url, tt.meta, got, tt.want)
		}
	}

	// A download counts in the slot SlotKey names, whatever the host's case.
	g := newGate()
	held := serve(t, g)
	upper := get(t, strings.Replace(held.URL, "127.0.0.1", "LocalHost", 1))
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Fetch(context.Background(), upper)
	}()
	waitFor(t, "the download in its slot", func() bool { return g.inflight.Load() == 1 })
	if key := d.SlotKey(upper); key != "localhost" || d.Active(key) != 1 {
		t.Errorf("SlotKey %q has %d active, want localhost with 1", key, d.Active(key))
	}
	close(g.release)
	<-done

	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	perIP, _, _ := newDownloader(t, "CONCURRENT_REQUESTS_PER_IP=2")
	r := get(t, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	if got := perIP.SlotKey(r); got != "localhost" {
		t.Errorf("before a download, SlotKey = %q, want the host name", got)
	}
	fetch(t, perIP, r)
	if got := perIP.SlotKey(r); got != "127.0.0.1" && got != "::1" {
		t.Errorf("after a download, SlotKey = %q, want localhost's address", got)
	}
}

// TestForgetIdleSlots checks that slots unused for a while are dropped, so
// that a crawl over many hosts does not keep a slot per host, and that a
// slot with a request in it is kept.
func TestForgetIdleSlots(t *testing.T) {
	g := newGate()
	srv := serve(t, g)
	d, _, _ := newDownloader(t)
	close(g.release)
	for i := range 100 {
		fetch(t, d, withSlot(get(t, srv.URL), fmt.Sprint("slot", i)))
	}
	held := make(chan struct{})
	busy := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-held }))
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Fetch(context.Background(), withSlot(get(t, busy.URL), "busy"))
	}()
	waitFor(t, "the busy slot", func() bool { return d.Active("busy") == 1 })
	d.Pause("paused", time.Now().Add(time.Hour))

	d.mu.Lock()
	d.sweep(time.Now().Add(2 * slotIdleAge))
	left := slices.Sorted(maps.Keys(d.slots))
	d.mu.Unlock()
	if !slices.Equal(left, []string{"busy", "paused"}) {
		t.Errorf("slots left: %v, want [busy paused]", left)
	}
	close(held)
	<-done
}

func TestConnectionFailures(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		switch r.URL.Path {
		case "/reset":
			conn.(*net.TCPConn).SetLinger(0) // close with RST
		case "/closed":
		case "/truncated":
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
			buf.Flush()
		case "/truncated-chunked":
			buf.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			buf.Flush()
		case "/truncated-gzip":
			z := gzipped(strings.Repeat("x", 1000))
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nConnection: close\r\n\r\n%s", z[:len(z)/2])
			buf.Flush()
		case "/garbage":
			buf.WriteString("this is not HTTP\r\n\r\n")
			buf.Flush()
		}
	}))
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/"
	}()
	tests := []struct {
		url  string
		want Kind
	}{
		{srv.URL + "/reset", KindConnectionReset},
		{srv.URL + "/closed", KindConnectionReset},
		{srv.URL + "/truncated", KindResponseTruncated},
		{srv.URL + "/truncated-chunked", KindResponseTruncated},
		{srv.URL + "/truncated-gzip", KindResponseTruncated},
		{srv.URL + "/garbage", KindConnection},
		{refused, KindConnectionRefused},
	}
	d, c, _ := newDownloader(t)
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			e := fetchErr(t, d, get(t, tt.url), tt.want)
			if !e.Kind.Retryable() {
				t.Errorf("kind %s is not retryable", e.Kind)
			}
		})
	}
	if n := c.Stats.Get(StatExceptionCount); n != int64(len(tests)) {
		t.Errorf("%s = %d, want %d", StatExceptionCount, n, len(tests))
	}
}

func TestInvalidURL(t *testing.T) {
	d, c, _ := newDownloader(t)
	for _, u := range []string{"ftp://example.com/file", "http:///no-host", "mailto:someone@example.com", "http://exa mple.com/"} {
		t.Run(u, func(t *testing.T) {
			e := fetchErr(t, d, &framework.Request{URL: u}, KindInvalidURL)
			if e.Kind.Retryable() {
				t.Error("an invalid URL is retryable")
			}
		})
	}
	if n := c.Stats.Get(StatExceptionTypeCount + "/InvalidURL"); n != 4 {
		t.Errorf("InvalidURL count %d, want 4", n)
	}
	if n := c.Stats.Get(StatRequestCount); n != 0 {
		t.Errorf("%s = %d, want 0", StatRequestCount, n)
	}
}

func TestStats(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("hello"))
	}))
	d, c, _ := newDownloader(t, "DOWNLOAD_TIMEOUT=0.5")
	fetch(t, d, get(t, srv.URL+"/a"))
	fetch(t, d, get(t, srv.URL+"/b"))
	fetch(t, d, get(t, srv.URL+"/missing"))
	post := get(t, srv.URL+"/form")
	post.Method, post.Body = "POST", []byte("x=1")
	fetch(t, d, post)
	fetchErr(t, d, get(t, "ftp://example.com/"), KindInvalidURL)

	want := map[string]int64{
		"downloader/request_count":                   4,
		"downloader/request_method_count/GET":        3,
		"downloader/request_method_count/POST":       1,
		"downloader/response_count":                  4,
		"downloader/response_status_count/200":       3,
		"downloader/response_status_count/404":       1,
		"downloader/exception_count":                 1,
		"downloader/exception_type_count/InvalidURL": 1,
	}
	got := statsWith(c, "downloader/")
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
	if got[StatRequestBytes] < 4*int64(len(srv.URL)) || got[StatResponseBytes] < 3*5 {
		t.Errorf("bytes: request %d, response %d", got[StatRequestBytes], got[StatResponseBytes])
	}
}
