package queuestore

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
	"github.com/frontier-go/frontier/framework"
)

// Records are encoded straight into their bucket's write buffer, behind a
// length whose size is guessed from the record before: records whose
// lengths take 1, 2 and 3 bytes, in every succession, come back whole from
// the write buffer, from the log, and after a reopen; a batch holding a
// request that cannot be encoded leaves the bucket as it was; write buffers
// kept for reuse after a flush serve other buckets without mixing records.
func TestStoreRecordLengths(t *testing.T) {
	sizes := []int{0, 100, 123, 124, 125, 126, 127, 128, 200, 16300, 16400, 3, 40 << 10, 50, 130, 70 << 10, 1}
	for _, k := range disktest.Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := storeTestConfig(1 << 20)
			s := openTestStore(t, dir, cfg)
			names := []string{"a", "b", "c"}
			qs := map[string]*Queue{}
			models := map[string][]string{}
			reopen := func() {
				mustCloseStore(t, s)
				s = openTestStore(t, dir, cfg)
				for _, n := range names {
					qs[n] = bucketOf(t, s, n, k.LIFO)
				}
			}
			for _, n := range names {
				qs[n] = bucketOf(t, s, n, k.LIFO)
			}
			req := func(n string, i, size int) *framework.Request {
				r := disktest.Req(t, fmt.Sprintf("http://%s/%d", n, i))
				r.Method, r.Body = "POST", []byte(strings.Repeat(string(rune('a'+i%26)), size))
				return r
			}
			push := func(n string, i int, rs ...*framework.Request) {
				t.Helper()
				var err error
				if len(rs) == 1 {
					err = qs[n].Push(rs[0])
				} else {
					err = qs[n].PushBatch(rs)
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					models[n] = append(models[n], r.URL+" "+string(r.Body))
				}
			}
			pop := func(n string) {
				t.Helper()
				r, err := qs[n].Pop()
				if err != nil {
					t.Fatal(err)
				}
				m := models[n]
				want := m[0]
				if k.LIFO {
					want, models[n] = m[len(m)-1], m[:len(m)-1]
				} else {
					models[n] = m[1:]
				}
				if r == nil || r.URL+" "+string(r.Body) != want {
					t.Fatalf("%s: pop %.60v, want %.60s", n, r, want)
				}
			}
			i := 0
			for round := range 4 {
				for j, size := range sizes {
					n := names[(j+round)%len(names)]
					if j%3 == 2 {
						push(n, i, req(n, i, size), req(n, i+1, sizes[(j+1)%len(sizes)]))
						i += 2
					} else {
						push(n, i, req(n, i, size))
						i++
					}
				}
				// A batch that cannot be encoded whole changes nothing.
				bad := req("a", i, 10)
				bad.Method = "\xff"
				before := qs["a"].Len()
				err := qs["a"].PushBatch([]*framework.Request{req("a", i, 200), req("a", i+1, 20<<10), bad})
				if !errors.Is(err, framework.ErrUnserializable) {
					t.Fatalf("batch with an unencodable request: %v", err)
				}
				if qs["a"].Len() != before {
					t.Fatalf("refused batch: len %d, want %d", qs["a"].Len(), before)
				}
				push("a", i, req("a", i, 60))
				i++
				for _, n := range names {
					pop(n) // from the write buffer (LIFO) or the log
				}
				switch round {
				case 1:
					reopen()
				default:
					mustFlush(t, s)
				}
			}
			reopen()
			for _, n := range names {
				for len(models[n]) > 0 {
					pop(n)
				}
				if r, err := qs[n].Pop(); r != nil || err != nil {
					t.Fatalf("%s: pop after the last: %v, %v", n, r, err)
				}
			}
			mustCloseStore(t, s)
		})
	}
}
