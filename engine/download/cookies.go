package download

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"golang.org/x/net/publicsuffix"

	"github.com/frontier-go/frontier/framework"
)

// cookies keeps the crawl's cookie jars, as Scrapy's CookiesMiddleware: one
// by default, and one more per value of meta "cookiejar" that a spider uses
// to keep several sessions apart.
type cookies struct {
	debug bool
	log   zerolog.Logger

	mu   sync.Mutex
	jars map[string]*cookiejar.Jar
}

func newCookies(debug bool, log zerolog.Logger) *cookies {
	return &cookies{debug: debug, log: log, jars: map[string]*cookiejar.Jar{}}
}

func (c *cookies) jar(r *framework.Request) *cookiejar.Jar {
	key := ""
	if v, ok := r.Meta[MetaCookieJar]; ok && v != nil {
		key = fmt.Sprint(v)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	j := c.jars[key]
	if j == nil {
		// cookiejar.New fails only on a bad PublicSuffixList; the one given
		// is the standard one.
		j, _ = cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
		c.jars[key] = j
	}
	return j
}

// send adds r's cookies to the request about to go out on u: r.Cookies are
// stored in the jar (as if the server had set them) and the jar's cookies for
// u sent. With meta dont_merge_cookies, the jar is left alone and only
// r.Cookies are sent. A Cookie header the request sets itself comes first.
func (c *cookies) send(r *framework.Request, u *url.URL, h http.Header) {
	var send []*http.Cookie
	if framework.Truthy(r.Meta[MetaDontMergeCookies]) {
		for _, ck := range r.Cookies {
			send = append(send, &http.Cookie{Name: ck.Name, Value: ck.Value})
		}
	} else {
		j := c.jar(r)
		if len(r.Cookies) > 0 {
			set := make([]*http.Cookie, len(r.Cookies))
			for i, ck := range r.Cookies {
				set[i] = &http.Cookie{Name: ck.Name, Value: ck.Value, Domain: ck.Domain, Path: ck.Path}
			}
			j.SetCookies(u, set)
		}
		send = j.Cookies(u)
	}
	if len(send) == 0 {
		return
	}
	var b strings.Builder
	if own := h.Get("Cookie"); own != "" {
		b.WriteString(own)
	}
	for _, ck := range send {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(ck.String())
	}
	h.Set("Cookie", b.String())
	if c.debug {
		c.log.Debug().Msgf("Sending cookies to: %s\nCookie: %s", r, b.String())
	}
}

// receive stores the cookies resp sets, unless r has meta dont_merge_cookies.
func (c *cookies) receive(r *framework.Request, u *url.URL, resp *http.Response) {
	if framework.Truthy(r.Meta[MetaDontMergeCookies]) {
		return
	}
	set := resp.Cookies()
	if len(set) == 0 {
		return
	}
	c.jar(r).SetCookies(u, set)
	if c.debug {
		c.log.Debug().Msgf("Received cookies from: <%d %s>\nSet-Cookie: %s",
			resp.StatusCode, r.URL, strings.Join(resp.Header.Values("Set-Cookie"), "\nSet-Cookie: "))
	}
}
