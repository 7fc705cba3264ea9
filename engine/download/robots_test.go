package download

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// robotsServer serves body with status at /robots.txt, counting the
// requests for it.
func robotsServer(t *testing.T, status int, body string) (string, *atomic.Int64) {
	var hits atomic.Int64
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/robots.txt" {
			hits.Add(1)
			time.Sleep(20 * time.Millisecond) // callers pile up meanwhile
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	}))
	return srv.URL, &hits
}

func newRobots(t *testing.T, overrides ...string) (*Robots, *framework.Crawler, *logBuffer) {
	t.Helper()
	d, c, logs := newDownloader(t, append([]string{"ROBOTSTXT_OBEY=true"}, overrides...)...)
	rb, err := NewRobots(c, d)
	if err != nil {
		t.Fatal(err)
	}
	return rb, c, logs
}

func TestRobots(t *testing.T) {
	const rules = "User-agent: *\nDisallow: /private\nAllow: /private/open\n\nUser-agent: otherbot\nDisallow: /\n"
	tests := []struct {
		name      string
		overrides []string
		status    int
		body      string
		paths     map[string]bool // path → allowed
		wantHits  int64
		warn      string
	}{
		{"rules", nil, 200, rules,
			map[string]bool{"/": true, "/public": true, "/private": false, "/private/x?y=1": false, "/private/open": true}, 1, ""},
		{"a group for our product token", []string{"USER_AGENT=OtherBot/2.0 (+https://example.com)"}, 200, rules,
			map[string]bool{"/": false, "/public": false}, 1, ""},
		{"query in rules", nil, 200, "User-agent: *\nDisallow: /*?sort=\n",
			map[string]bool{"/list": true, "/list?sort=asc": false}, 1, ""},
		{"404 allows all", nil, 404, "User-agent: *\nDisallow: /", map[string]bool{"/private": true}, 1, ""},
		{"401 allows all", nil, 401, "", map[string]bool{"/private": true}, 1, ""},
		{"500 allows all, after retries", nil, 500, "User-agent: *\nDisallow: /", map[string]bool{"/private": true}, 3, "answered 500"},
		{"500 without retries", []string{"RETRY_ENABLED=false"}, 500, "", map[string]bool{"/private": true}, 1, "answered 500"},
		{"empty file", nil, 200, "", map[string]bool{"/private": true}, 1, ""},
		{"disallow all", nil, 200, "User-agent: *\nDisallow: /\n", map[string]bool{"/": false, "/robots.txt": false}, 1, ""},
		{"ROBOTSTXT_OBEY=false", []string{"ROBOTSTXT_OBEY=false"}, 200, "User-agent: *\nDisallow: /", map[string]bool{"/private": true}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, hits := robotsServer(t, tt.status, tt.body)
			rb, c, logs := newRobots(t, tt.overrides...)
			forbidden := 0
			for path, want := range tt.paths {
				got, err := rb.Allowed(context.Background(), get(t, base+path))
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("Allowed(%s) = %v, want %v", path, got, want)
				}
				if !got {
					forbidden++
					if !strings.Contains(logs.String(), "Forbidden by robots.txt: <GET "+base+path+">") {
						t.Errorf("log lacks the forbidden line for %s", path)
					}
				}
			}
			if hits.Load() != tt.wantHits {
				t.Errorf("robots.txt fetched %d times, want %d", hits.Load(), tt.wantHits)
			}
			if got := c.Stats.Get(StatRobotsForbidden); got != int64(forbidden) {
				t.Errorf("%s = %d, want %d", StatRobotsForbidden, got, forbidden)
			}
			if tt.wantHits > 0 {
				stats := statsWith(c, "robotstxt/")
				if stats[StatRobotsRequestCount] != 1 || stats[StatRobotsResponseCount] != 1 ||
					stats[StatRobotsResponseStatusCount+"/"+strconv.Itoa(tt.status)] != 1 {
					t.Errorf("stats %v", stats)
				}
			}
			if tt.warn != "" && !strings.Contains(logs.String(), tt.warn) {
				t.Errorf("log lacks %q:\n%s", tt.warn, logs.String())
			}
		})
	}
}

// TestRobotsOneFetch checks that many callers asking at once about one
// origin cause one download of its robots.txt, and that a request with meta
// dont_obey_robotstxt is not checked.
func TestRobotsOneFetch(t *testing.T) {
	base, hits := robotsServer(t, 200, "User-agent: *\nDisallow: /no\n")
	rb, c, _ := newRobots(t)
	var wg sync.WaitGroup
	var allowed, denied atomic.Int64
	for i := range 50 {
		path := "/yes"
		if i%2 == 1 {
			path = "/no"
		}
		wg.Go(func() {
			ok, err := rb.Allowed(context.Background(), get(t, base+path))
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			} else {
				denied.Add(1)
			}
		})
	}
	wg.Wait()
	if hits.Load() != 1 || c.Stats.Get(StatRobotsRequestCount) != 1 {
		t.Errorf("robots.txt fetched %d times (request_count %d), want once", hits.Load(), c.Stats.Get(StatRobotsRequestCount))
	}
	if allowed.Load() != 25 || denied.Load() != 25 {
		t.Errorf("allowed %d, denied %d", allowed.Load(), denied.Load())
	}
	r := get(t, base+"/no")
	r.Meta = map[string]any{MetaDontObeyRobotsTxt: true}
	if ok, _ := rb.Allowed(context.Background(), r); !ok {
		t.Error("dont_obey_robotstxt was not obeyed")
	}
}

// TestRobotsUnreachable checks that a robots.txt that cannot be downloaded
// allows everything with a warning, and that a caller's context bounds its
// wait.
func TestRobotsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rb, c, logs := newRobots(t, "RETRY_TIMES=1")
	ok, err := rb.Allowed(context.Background(), get(t, "http://"+addr+"/page"))
	if !ok || err != nil {
		t.Errorf("Allowed = %v, %v; want true", ok, err)
	}
	if got := c.Stats.Get(StatRobotsExceptionCount + "/ConnectionRefused"); got != 1 {
		t.Errorf("exception count %d, want 1", got)
	}
	if !strings.Contains(logs.String(), "Error downloading <GET http://"+addr+"/robots.txt>") {
		t.Errorf("log lacks the warning:\n%s", logs.String())
	}

	held := make(chan struct{})
	defer close(held)
	slow := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-held:
		case <-r.Context().Done():
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := rb.Allowed(ctx, get(t, slow.URL+"/page")); err != context.DeadlineExceeded {
		t.Errorf("error %v, want the context's", err)
	}
}

func TestProductToken(t *testing.T) {
	for ua, want := range map[string]string{
		"frontier/1 (+https://github.com/frontier-go/frontier)": "frontier",
		"Mozilla/5.0 (compatible; Googlebot/2.1)":               "mozilla",
		"MyBot":        "mybot",
		" spaced bot ": "spaced",
		"":             "",
	} {
		if got := productToken(ua); got != want {
			t.Errorf("productToken(%q) = %q, want %q", ua, got, want)
		}
	}
}
