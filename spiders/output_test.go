package spiders

import (
	"github.com/frontier-go/frontier/framework"
)

// recorder is a framework.Output that keeps what a callback yields, in order.
type recorder struct {
	requests []*framework.Request
	items    []any
}

var _ framework.Output = (*recorder)(nil)

func (r *recorder) Request(req *framework.Request) { r.requests = append(r.requests, req) }
func (r *recorder) Item(item any)                  { r.items = append(r.items, item) }

// urls returns the URLs of the recorded requests.
func (r *recorder) urls() []string {
	out := []string{}
	for _, q := range r.requests {
		out = append(out, q.URL)
	}
	return out
}

// pages returns the recorded items, which must all be Pages.
func (r *recorder) pages() []Page {
	var out []Page
	for _, it := range r.items {
		out = append(out, it.(Page))
	}
	return out
}
