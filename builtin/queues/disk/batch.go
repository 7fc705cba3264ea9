package disk

import "github.com/frontier-go/frontier/framework"

// PopBatch pops up to max requests from q, in Pop order, stopping at the
// first error or when q is empty.
func PopBatch(q framework.Queue, max int) ([]*framework.Request, error) {
	out := make([]*framework.Request, 0, min(max, q.Len()))
	for len(out) < max {
		r, err := q.Pop()
		if err != nil || r == nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
