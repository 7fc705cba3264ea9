package disktest

import (
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// Kind is a kind of disk queue: FIFO or LIFO.
type Kind struct {
	Name string // "fifo" or "lifo"
	LIFO bool
}

// Kinds returns the two kinds of disk queue, for tests that run on both.
func Kinds() []Kind { return []Kind{{"fifo", false}, {"lifo", true}} }

// Req returns the GET request of url.
func Req(t testing.TB, url string) *framework.Request {
	t.Helper()
	r, err := framework.NewRequest(url)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// MustPush pushes a request of each URL.
func MustPush(t testing.TB, q framework.Queue, urls ...string) {
	t.Helper()
	for _, u := range urls {
		if err := q.Push(Req(t, u)); err != nil {
			t.Fatalf("push %s: %v", u, err)
		}
	}
}

// PopURLs pops n times and returns the URLs, "<nil>" for an empty pop.
func PopURLs(t testing.TB, q framework.Queue, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		r, err := q.Pop()
		if err != nil {
			t.Fatalf("pop: %v", err)
		}
		if r == nil {
			out = append(out, "<nil>")
		} else {
			out = append(out, r.URL)
		}
	}
	return out
}

// SameList fails t unless got is want.
func SameList(t testing.TB, got, want []string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// MustClose closes q.
func MustClose(t testing.TB, q framework.Queue) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// Order returns urls in the order a queue pops them, pushed in that
// order: reversed for LIFO.
func Order(lifo bool, urls ...string) []string {
	out := append([]string(nil), urls...)
	if lifo {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// URLsOf returns the URLs of rs.
func URLsOf(rs []*framework.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.URL
	}
	return out
}
