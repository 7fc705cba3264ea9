package download

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// Stats keys the downloader maintains, as Scrapy's DownloaderStats; the
// per-method, per-status and per-kind keys add "/<GET>", "/<200>",
// "/<Timeout>".
const (
	StatRequestCount        = "downloader/request_count"
	StatRequestMethodCount  = "downloader/request_method_count"
	StatRequestBytes        = "downloader/request_bytes"
	StatResponseCount       = "downloader/response_count"
	StatResponseStatusCount = "downloader/response_status_count"
	StatResponseBytes       = "downloader/response_bytes"
	StatExceptionCount      = "downloader/exception_count"
	StatExceptionTypeCount  = "downloader/exception_type_count"
)

const (
	// slotIdleAge is how long a slot stays unused before it is forgotten,
	// as Scrapy's slot garbage collection.
	slotIdleAge = time.Minute
	// dnsCacheSize bounds the host → IP cache of CONCURRENT_REQUESTS_PER_IP
	// (Scrapy's DNSCACHE_SIZE); a full cache starts over.
	dnsCacheSize = 10000
	dnsTimeout   = time.Minute // when DOWNLOAD_TIMEOUT is 0

	// The connection pool: one transport for the crawl keeps as many idle
	// connections per host as a host may have downloads at once.
	minIdleConnsPerHost   = 8
	minIdleConns          = 1024
	idleConnTimeout       = time.Minute
	expectContinueTimeout = time.Second
	dialKeepAlive         = 30 * time.Second
)

// Downloader downloads requests over one shared HTTP transport, honouring
// each download slot's concurrency, delay and pause, as Scrapy's Downloader
// with its download handlers and the downloader middlewares that act on
// every request (default headers, user agent, compression, cookies, timeout,
// size limits, stats). A slot concurrency of 0 means no limit, as does a
// DOWNLOAD_TIMEOUT, DOWNLOAD_MAXSIZE or DOWNLOAD_WARNSIZE of 0.
//
// All methods are safe for concurrent use. Fetch is called from many
// goroutines; Close is called once, after the last Fetch has returned.
type Downloader struct {
	conf      config
	transport *http.Transport
	cookies   *cookies // nil when COOKIES_ENABLED is false
	log       zerolog.Logger
	closed    chan struct{}
	closeOnce sync.Once

	mu        sync.RWMutex
	slots     map[string]*slot
	lastSweep time.Time
	total     atomic.Int64

	dnsMu sync.Mutex
	dns   map[string]string // host → IP, for CONCURRENT_REQUESTS_PER_IP

	bodies    bodyReader
	userAgent []string // shared header values, never changed
	accept    []string

	requests, requestBytes, responses, responseBytes, exceptions func(int64)
	methods                                                      *counters[string]
	statuses                                                     *counters[int]
	kinds                                                        *counters[Kind]
}

var _ framework.SlotActivity = (*Downloader)(nil)

// New builds the downloader from c.Settings. Set c.Downloader to it before
// the scheduler is built, so that the downloader-aware priority queue sees
// slot activity.
func New(c *framework.Crawler) (*Downloader, error) {
	conf, err := loadConfig(c.Settings)
	if err != nil {
		return nil, err
	}
	log := c.Logger.With().Str("component", "downloader").Logger()
	perHost := max(conf.perDomain, conf.perIP, conf.concurrent, minIdleConnsPerHost)
	for _, sc := range conf.slots {
		perHost = max(perHost, sc.concurrency)
	}
	d := &Downloader{
		conf: conf,
		transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{KeepAlive: dialKeepAlive}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          max(minIdleConns, 2*conf.concurrent),
			MaxIdleConnsPerHost:   perHost,
			IdleConnTimeout:       idleConnTimeout,
			ExpectContinueTimeout: expectContinueTimeout,
			// Compressed bodies are decoded here, so that DOWNLOAD_MAXSIZE
			// bounds the decoded size; the transport neither asks for gzip
			// nor decodes it.
			DisableCompression: true,
		},
		log:       log,
		closed:    make(chan struct{}),
		slots:     map[string]*slot{},
		lastSweep: time.Now(),
		dns:       map[string]string{},
		userAgent: []string{conf.userAgent},
		accept:    []string{acceptEncoding},

		requests:      framework.CounterFunc(c.Stats, StatRequestCount),
		requestBytes:  framework.CounterFunc(c.Stats, StatRequestBytes),
		responses:     framework.CounterFunc(c.Stats, StatResponseCount),
		responseBytes: framework.CounterFunc(c.Stats, StatResponseBytes),
		exceptions:    framework.CounterFunc(c.Stats, StatExceptionCount),
		methods:       newCounters[string](c.Stats, StatRequestMethodCount),
		statuses:      newCounters[int](c.Stats, StatResponseStatusCount),
		kinds:         newCounters[Kind](c.Stats, StatExceptionTypeCount),
	}
	if conf.cookies {
		d.cookies = newCookies(conf.cookieDebug, log)
	}
	return d, nil
}

// SlotKey returns r's download slot: meta download_slot when set and not
// nil, else the host name, or the host's IP address when
// CONCURRENT_REQUESTS_PER_IP > 0 and a download has resolved it already
// (the host name until then, as Scrapy's DNS cache).
func (d *Downloader) SlotKey(r *framework.Request) string {
	if v, ok := r.Meta[framework.MetaDownloadSlot]; ok && v != nil {
		return r.Slot()
	}
	host := framework.Hostname(r.URL)
	if d.conf.perIP > 0 {
		d.dnsMu.Lock()
		ip, ok := d.dns[host]
		d.dnsMu.Unlock()
		if ok {
			return ip
		}
	}
	return host
}

// fetchSlotKey is SlotKey for a download: with CONCURRENT_REQUESTS_PER_IP it
// resolves the host (once, cached) rather than falling back to its name.
func (d *Downloader) fetchSlotKey(ctx context.Context, r *framework.Request) string {
	if v, ok := r.Meta[framework.MetaDownloadSlot]; ok && v != nil {
		return r.Slot()
	}
	host := framework.Hostname(r.URL) // lowercased, as SlotKey's
	if d.conf.perIP == 0 {
		return host
	}
	if net.ParseIP(host) != nil {
		return host
	}
	d.dnsMu.Lock()
	ip, ok := d.dns[host]
	d.dnsMu.Unlock()
	if ok {
		return ip
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(d.conf.timeout, dnsTimeout))
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(addrs) == 0 {
		return host // the download reports the failure
	}
	ip = addrs[0].IP.String()
	d.dnsMu.Lock()
	if len(d.dns) >= dnsCacheSize {
		clear(d.dns)
	}
	d.dns[host] = ip
	d.dnsMu.Unlock()
	return ip
}

// Active returns the number of requests in slot: downloading, or waiting in
// Fetch for their turn (Scrapy's len(slot.active)).
func (d *Downloader) Active(slot string) int {
	d.mu.RLock()
	s := d.slots[slot]
	d.mu.RUnlock()
	if s == nil {
		return 0
	}
	return int(s.active.Load())
}

// ActiveTotal returns the number of requests in all slots.
func (d *Downloader) ActiveTotal() int { return int(d.total.Load()) }

// Pause holds back every download start in slot until until, such as a
// Retry-After the server sent. Downloads already started go on; a shorter
// pause than one in force changes nothing.
func (d *Downloader) Pause(slot string, until time.Time) {
	s := d.slot(slot, false)
	s.pause(until)
}

// Close stops the downloader: Fetch calls waiting for their slot return an
// error wrapping framework.ErrClosed, as do later ones, and idle connections
// are closed. Downloads in progress finish.
func (d *Downloader) Close() error {
	d.closeOnce.Do(func() {
		close(d.closed)
		d.mu.Lock()
		for _, s := range d.slots {
			s.stop()
		}
		d.mu.Unlock()
		d.transport.CloseIdleConnections()
	})
	return nil
}

// slot returns the slot named key, created when missing; enter counts one
// more request active in it.
func (d *Downloader) slot(key string, enter bool) *slot {
	d.mu.RLock()
	s := d.slots[key]
	if s != nil && enter {
		s.active.Add(1) // under the lock, so that a sweep never forgets it
	}
	d.mu.RUnlock()
	if s != nil {
		return s
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s = d.slots[key]
	if s == nil {
		now := time.Now()
		if now.Sub(d.lastSweep) > slotIdleAge {
			d.sweep(now)
		}
		s = newSlot(d.conf.slotConfig(key), now)
		d.slots[key] = s
	}
	if enter {
		s.active.Add(1)
	}
	return s
}

// sweep forgets the slots idle at now, so that a crawl over many hosts does
// not keep one slot per host it ever saw. d.mu is held.
func (d *Downloader) sweep(now time.Time) {
	d.lastSweep = now
	for key, s := range d.slots {
		if s.idle(now, slotIdleAge) {
			s.stop()
			delete(d.slots, key)
		}
	}
}

// Fetch downloads r, honouring its slot's concurrency, delay and pause: it
// counts r active in its slot at once, waits for its turn, sends it, reads
// the body, and returns the response whatever its status. Redirects are not
// followed (see [Redirect]). A failure is an [*Error]; ctx ending it is one
// of kind Canceled. After Close, the error wraps framework.ErrClosed.
func (d *Downloader) Fetch(ctx context.Context, r *framework.Request) (*framework.Response, error) {
	select {
	case <-d.closed:
		return nil, errClosed
	default:
	}
	req, err := d.newRequest(r)
	if err != nil {
		d.exception(KindInvalidURL)
		return nil, &Error{Kind: KindInvalidURL, URL: r.URL, Err: err}
	}
	s := d.slot(d.fetchSlotKey(ctx, r), true)
	d.total.Add(1)
	defer func() {
		s.active.Add(-1)
		d.total.Add(-1)
	}()
	if err := s.acquire(ctx, d.closed); err != nil {
		if err == errClosed {
			return nil, err
		}
		return nil, &Error{Kind: KindCanceled, URL: r.URL, Err: err}
	}
	defer s.release()
	return d.download(ctx, r, req)
}

// newRequest checks r's method and URL and builds its HTTP request, without
// the headers that depend on the time it is sent.
func (d *Downloader) newRequest(r *framework.Request) (*http.Request, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if len(r.Body) > 0 {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, r.URL, body)
	if err != nil {
		return nil, err
	}
	switch req.URL.Scheme {
	case "http", "https":
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q", req.URL.Scheme)
	}
	if req.URL.Host == "" {
		return nil, fmt.Errorf("no host in URL")
	}
	return req, nil
}

// download sends req, r's HTTP request, within DOWNLOAD_TIMEOUT, and reads
// the response.
func (d *Downloader) download(ctx context.Context, r *framework.Request, req *http.Request) (*framework.Response, error) {
	timeout := d.conf.timeout
	if v, ok := r.Meta[MetaDownloadTimeout]; ok && v != nil {
		if t, ok := asDuration(v); ok {
			timeout = t
		}
	}
	lim := bodyLimits{max: d.conf.maxSize, warn: d.conf.warnSize}
	if n, ok := framework.MetaInt(r.Meta[MetaDownloadMaxsize]); ok && n >= 0 {
		lim.max = int64(n)
	}
	if n, ok := framework.MetaInt(r.Meta[MetaDownloadWarnsize]); ok && n >= 0 {
		lim.warn = int64(n)
	}

	var cancel context.CancelFunc
	dctx := ctx
	if timeout > 0 {
		dctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req = req.WithContext(dctx)
	req.Header = d.headers(r, req)
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
		req.Header.Del("Host")
	}

	d.requests(1)
	d.methods.get(req.Method)(1)
	d.requestBytes(int64(len(req.Method) + len(r.URL) + len(" HTTP/1.1\r\n") + headerSize(req.Header) + len(r.Body)))

	resp, err := d.transport.RoundTrip(req)
	if err != nil {
		return nil, d.fail(ctx, r, kindOf(err, false), err, timeout)
	}
	defer resp.Body.Close()
	if d.cookies != nil {
		d.cookies.receive(r, req.URL, resp)
	}
	if lim.max > 0 && resp.ContentLength > lim.max {
		d.log.Warn().Msgf("Cancelling download of %s: expected response size (%d) larger than download max size (%d).",
			r.URL, resp.ContentLength, lim.max)
		return nil, d.fail(ctx, r, KindResponseTooLarge,
			fmt.Errorf("%w: Content-Length %d > %d", errTooLarge, resp.ContentLength, lim.max), timeout)
	}
	warned := false
	if lim.warn > 0 && resp.ContentLength > lim.warn {
		warned = true
		d.log.Warn().Msgf("Expected response size (%d) larger than download warn size (%d) in request %s.",
			resp.ContentLength, lim.warn, r)
	}
	body, wire, kind, err := d.bodies.read(resp, d.conf.compression, lim)
	if err != nil {
		if kind == KindResponseTooLarge {
			d.log.Warn().Msgf("Received more bytes than download max size (%d) in request %s.", lim.max, r)
			err = fmt.Errorf("%w: %d", errTooLarge, lim.max)
		}
		return nil, d.fail(ctx, r, kind, err, timeout)
	}
	if lim.warn > 0 && int64(len(body)) > lim.warn && !warned {
		d.log.Warn().Msgf("Received (%d) bytes larger than download warn size (%d) in request %s.",
			len(body), lim.warn, r)
	}

	d.responses(1)
	d.statuses.get(resp.StatusCode)(1)
	d.responseBytes(wire + int64(headerSize(resp.Header)+len("HTTP/1.1 200 OK\r\n")))
	return &framework.Response{
		URL:     r.URL,
		Status:  resp.StatusCode,
		Headers: resp.Header,
		Body:    body,
		Request: r,
	}, nil
}

// headers returns the headers to send for r: its own, then
// DEFAULT_REQUEST_HEADERS, USER_AGENT and Accept-Encoding for those it does
// not set, then cookies. r.Headers is not changed.
func (d *Downloader) headers(r *framework.Request, req *http.Request) http.Header {
	h := make(http.Header, len(r.Headers)+len(d.conf.headers)+3)
	for k, v := range r.Headers {
		ck := http.CanonicalHeaderKey(k)
		if prev, ok := h[ck]; ok {
			h[ck] = append(slices.Clip(prev), v...)
		} else {
			h[ck] = v // shared with r, never changed in place
		}
	}
	for k, v := range d.conf.headers {
		if _, ok := h[k]; !ok {
			h[k] = v
		}
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = d.userAgent // "" keeps net/http from sending its own
	}
	if d.conf.compression {
		if _, ok := h["Accept-Encoding"]; !ok {
			h["Accept-Encoding"] = d.accept
		}
	}
	if d.cookies != nil {
		d.cookies.send(r, req.URL, h)
	}
	return h
}

// fail counts a failed download and returns its error. A failure caused by
// ctx (the caller gave up) is of kind Canceled and not counted.
func (d *Downloader) fail(ctx context.Context, r *framework.Request, kind Kind, err error, timeout time.Duration) error {
	if ctx.Err() != nil {
		return &Error{Kind: KindCanceled, URL: r.URL, Err: ctx.Err()}
	}
	if kind == KindCanceled { // our own timeout's cancellation
		kind = KindTimeout
	}
	if kind == KindTimeout && timeout > 0 {
		err = fmt.Errorf("getting %s took longer than %s: %w", r.URL, timeout, err)
	}
	d.exception(kind)
	return &Error{Kind: kind, URL: r.URL, Err: err}
}

func (d *Downloader) exception(kind Kind) {
	d.exceptions(1)
	d.kinds.get(kind)(1)
}

// headerSize is the size of h as written on the wire.
func headerSize(h http.Header) int {
	n := 2
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// counters caches the counters of the stats keys prefix/<k>, so that a
// download counts its method and status without building a key.
type counters[K comparable] struct {
	stats  framework.Stats
	prefix string
	mu     sync.RWMutex
	m      map[K]func(int64)
}

func newCounters[K comparable](st framework.Stats, prefix string) *counters[K] {
	return &counters[K]{stats: st, prefix: prefix + "/", m: map[K]func(int64){}}
}

func (c *counters[K]) get(k K) func(int64) {
	c.mu.RLock()
	f := c.m[k]
	c.mu.RUnlock()
	if f != nil {
		return f
	}
	var key string
	switch k := any(k).(type) {
	case int:
		key = c.prefix + strconv.Itoa(k)
	default:
		key = c.prefix + fmt.Sprint(k)
	}
	f = framework.CounterFunc(c.stats, key)
	c.mu.Lock()
	c.m[k] = f
	c.mu.Unlock()
	return f
}
