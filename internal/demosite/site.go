package demosite

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Kind is what a page does when it is requested.
type Kind uint8

// The page kinds. The home page is always KindNormal.
const (
	KindNormal     Kind = iota // 200 at once
	KindSlow                   // 200 after Config.SlowDelay
	KindFlaky                  // 500 to the first request, 200 after
	KindRetryAfter             // 503 with Retry-After: 1 to the first request, 200 after
	KindGone                   // 404 always
	KindLarge                  // 200 at once, padded to about Config.LargeSize bytes
	numKinds
)

var kindNames = [numKinds]string{"normal", "slow", "flaky", "retry-after", "gone", "large"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Page flags, stored above the kind in a page's layout byte.
const (
	kindMask    = 0x0f
	flagAssets  = 1 << 4 // links /data/N.json and /img/N.png
	flagPrivate = 1 << 5 // links /private/N
	flagLoop    = 1 << 6 // links /loop/a
	flagReset   = 1 << 7 // links /reset
)

// maxOtherPaths bounds the distinct non-page paths whose hits are counted,
// so that a client requesting random paths cannot grow the map without end.
const maxOtherPaths = 100_000

// Site is a synthetic website: an http.Handler whose pages, links and
// misbehaviours follow from its Config, and which counts what it serves.
//
// A Site is safe for concurrent use. Its layout is fixed by New; only the
// counters change, and the flaky and retry-after pages, which fail on the
// first request for them, fail again after Reset.
type Site struct {
	cfg      Config
	layout   []uint8 // per page: Kind | flags
	next     []int32 // per page: the next page that is not gone, wrapping to 0; nil when none is gone
	counts   [numKinds]int
	expected int

	filler [][]byte // paragraphs of body text
	large  []byte   // the padding of a large page
	png    []byte   // the body of every /img/N.png

	htmlType []string // the Content-Type header of every page

	hits    []atomic.Int32 // per page: requests
	oks     []atomic.Int32 // per page: 200 responses
	fetches atomic.Int64
	unique  atomic.Int64
	dups    atomic.Int64

	mu    sync.Mutex
	other map[string]int // hits of paths that are not pages

	bufs sync.Pool // *[]byte
}

// New builds the site cfg describes. It panics when cfg.Validate fails:
// check a Config made from user input with Validate first.
func New(cfg Config) *Site {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	s := &Site{
		cfg:    cfg,
		layout: make([]uint8, cfg.Pages),
		hits:   make([]atomic.Int32, cfg.Pages),
		oks:    make([]atomic.Int32, cfg.Pages),
		other:  make(map[string]int),

		htmlType: []string{typeHTML},
	}
	s.bufs.New = func() any { b := make([]byte, 0, 8<<10); return &b }

	// The special kinds go to distinct pages drawn from 1..Pages-1.
	special := []struct {
		kind Kind
		n    int
	}{
		{KindSlow, cfg.share(cfg.SlowFraction)},
		{KindFlaky, cfg.share(cfg.FlakyFraction)},
		{KindRetryAfter, cfg.share(cfg.RetryAfterFraction)},
		{KindGone, cfg.share(cfg.GoneFraction)},
		{KindLarge, cfg.LargePages},
	}
	total := 0
	for _, sp := range special {
		total += sp.n
	}
	picked := s.sample(streamKinds, cfg.Pages-1, total)
	for _, sp := range special {
		for _, p := range picked[:sp.n] {
			s.layout[p+1] = uint8(sp.kind)
		}
		picked = picked[sp.n:]
	}
	for _, p := range s.sample(streamAssets, cfg.Pages-1, cfg.share(cfg.AssetFraction)) {
		s.layout[p+1] |= flagAssets
	}
	for _, p := range s.sample(streamPrivate, cfg.Pages-1, cfg.share(cfg.PrivateFraction)) {
		s.layout[p+1] |= flagPrivate
	}
	if cfg.RedirectLoop {
		s.layout[s.normalPageFrom(streamLoop)] |= flagLoop
	}
	if cfg.ConnReset {
		s.layout[s.normalPageFrom(streamReset)] |= flagReset
	}
	for _, l := range s.layout {
		s.counts[l&kindMask]++
	}
	s.expected = cfg.Pages - s.counts[KindGone]
	if s.counts[KindGone] > 0 {
		s.next = make([]int32, cfg.Pages)
		nxt := int32(0)
		for i := cfg.Pages - 1; i >= 0; i-- {
			s.next[i] = nxt
			if s.Kind(i) != KindGone {
				nxt = int32(i)
			}
		}
	}

	s.filler = makeFiller(uint64(cfg.Seed))
	if cfg.LargePages > 0 {
		s.large = makeLarge(s.filler, cfg.LargeSize)
	}
	var img bytes.Buffer
	m := image.NewGray(image.Rect(0, 0, 1, 1))
	m.SetGray(0, 0, color.Gray{Y: 0x80})
	_ = png.Encode(&img, m) // writing to a bytes.Buffer cannot fail
	s.png = img.Bytes()
	return s
}

// Config returns the site's Config with its defaults filled in.
func (s *Site) Config() Config { return s.cfg }

// Kind returns page i's kind; i must be in [0, Pages).
func (s *Site) Kind(i int) Kind { return Kind(s.layout[i] & kindMask) }

// Count returns the number of pages of kind k.
func (s *Site) Count(k Kind) int {
	if k >= numKinds {
		return 0
	}
	return s.counts[k]
}

// Expected returns the number of pages a full crawl yields an item for:
// every page but the gone ones (the flaky and retry-after pages succeed on
// a retry). It is len(PageURLs(base)).
func (s *Site) Expected() int { return s.expected }

// PagePath returns page i's canonical path: / for page 0, /page/i after.
func PagePath(i int) string {
	if i == 0 {
		return "/"
	}
	return "/page/" + strconv.Itoa(i)
}

// PageURLs returns the canonical URL of every page a full crawl yields an
// item for, in page order, on the site served at base (such as
// "http://127.0.0.1:8118"; a trailing slash is dropped). The gone pages,
// redirect aliases, assets, private pages and the loop and reset paths are
// not among them.
func (s *Site) PageURLs(base string) []string {
	base = strings.TrimSuffix(base, "/")
	out := make([]string, 0, s.expected)
	for i := range s.cfg.Pages {
		if s.Kind(i) != KindGone {
			out = append(out, base+PagePath(i))
		}
	}
	return out
}

// Fetches returns the number of requests for pages (/ and /page/N with N a
// page), whatever their answer: retries, duplicates and gone pages count.
func (s *Site) Fetches() int64 { return s.fetches.Load() }

// Unique returns the number of distinct pages requested at least once.
func (s *Site) Unique() int64 { return s.unique.Load() }

// Duplicates returns the number of 200 responses to a page beyond the first
// 200 response to that page: what a crawl fetched again after it already had
// the page. A flaky or retry-after page's failed first answer and its retry
// do not count, nor do repeated requests of gone pages, nor requests of
// anything but pages (redirect aliases, assets, robots.txt, sitemaps).
func (s *Site) Duplicates() int64 { return s.dups.Load() }

// Hits returns the number of requests for path (a URL's path, without query
// or fragment), whatever their answer. Pages, redirect aliases, assets,
// robots.txt and sitemaps are counted, and so are the first 100,000 other
// paths requested.
func (s *Site) Hits(path string) int {
	if i, ok := s.pageIndex(path); ok {
		return int(s.hits[i].Load())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.other[path]
}

// Reset sets every counter to zero, as if nothing had been requested yet;
// flaky and retry-after pages fail their next request again. Requests served
// while Reset runs may or may not be counted.
func (s *Site) Reset() {
	for i := range s.hits {
		s.hits[i].Store(0)
		s.oks[i].Store(0)
	}
	s.fetches.Store(0)
	s.unique.Store(0)
	s.dups.Store(0)
	s.mu.Lock()
	clear(s.other)
	s.mu.Unlock()
}

// hitPage counts a request for page i and returns how many there have been.
func (s *Site) hitPage(i int) int32 {
	s.fetches.Add(1)
	n := s.hits[i].Add(1)
	if n == 1 {
		s.unique.Add(1)
	}
	return n
}

// okPage counts a 200 response for page i.
func (s *Site) okPage(i int) {
	if s.oks[i].Add(1) > 1 {
		s.dups.Add(1)
	}
}

// hitOther counts a request for a path that is not a page.
func (s *Site) hitOther(path string) {
	s.mu.Lock()
	if n, ok := s.other[path]; ok || len(s.other) < maxOtherPaths {
		s.other[path] = n + 1
	}
	s.mu.Unlock()
}

// pageIndex returns the page whose canonical path is path.
func (s *Site) pageIndex(path string) (int, bool) {
	if path == "/" {
		return 0, true
	}
	rest, ok := strings.CutPrefix(path, "/page/")
	if !ok {
		return 0, false
	}
	i, ok := s.index(rest)
	return i, ok && i > 0
}

// index parses a page number written the canonical way (decimal digits, no
// leading zero) and checks that the page exists.
func (s *Site) index(str string) (int, bool) {
	if str == "" || len(str) > 9 || (str[0] == '0' && len(str) > 1) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(str); i++ {
		c := str[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n < s.cfg.Pages
}

// succ returns the page after i in the chain that links every page: the
// next page that is not gone, page 0 after the last.
func (s *Site) succ(i int) int {
	if s.next != nil {
		return int(s.next[i])
	}
	if i+1 < s.cfg.Pages {
		return i + 1
	}
	return 0
}

// normalPageFrom returns a pseudo-random page of KindNormal chosen by stream
// (page 0 when no other page is normal).
func (s *Site) normalPageFrom(stream uint64) int {
	n := s.cfg.Pages
	start := int(s.rnd(stream, 0, 0) % uint64(n))
	for d := range n {
		i := (start + d) % n
		if s.Kind(i) == KindNormal {
			return i
		}
	}
	return 0
}
