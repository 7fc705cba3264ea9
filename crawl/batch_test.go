package crawl

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// TestEnqueueBatchSameAsOneByOne: EnqueueBatch on the default scheduler
// (a framework.BatchEnqueuer) and on one that only has Enqueue accepts the
// same requests and hands them out in the same order as Enqueue one at a
// time.
func TestEnqueueBatchSameAsOneByOne(t *testing.T) {
	reqs := func() []*framework.Request {
		var rs []*framework.Request
		for i := range 40 {
			r, err := framework.NewRequest(fmt.Sprintf("http://h%d.example/%d", i%3, i%25))
			if err != nil {
				t.Fatal(err)
			}
			r.Priority = i % 4
			rs = append(rs, r)
		}
		return rs
	}
	quiet := zerolog.Nop()
	for _, sched := range []string{"", "SCHEDULER=test.Slice"} {
		name := sched
		if name == "" {
			name = "default scheduler"
		}
		t.Run(name, func(t *testing.T) {
			open := func() *Frontier {
				var set []string
				if sched != "" {
					set = append(set, sched)
				}
				f, err := Open(context.Background(), Options{Set: set, Registry: userRegistry(t), Logger: &quiet})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = f.Close() })
				return f
			}
			one, batch := open(), open()
			var want []bool
			for _, r := range reqs() {
				ok, err := one.Enqueue(r)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, ok)
			}
			got := make([]bool, len(want))
			if err := batch.EnqueueBatch(reqs(), got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("accepted %v in a batch, %v one at a time", got, want)
			}
			order := func(f *Frontier) []string {
				var urls []string
				for {
					r, err := f.Next()
					if err != nil {
						t.Fatal(err)
					}
					if r == nil {
						return urls
					}
					urls = append(urls, r.URL)
				}
			}
			if a, b := order(batch), order(one); !slices.Equal(a, b) {
				t.Fatalf("order after a batch %v, one at a time %v", a, b)
			}
		})
	}
}
