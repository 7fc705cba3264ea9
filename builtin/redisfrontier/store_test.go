package redisfrontier_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/internal/redistest"
)

// TestLargePopAndAck leases and acknowledges more requests in one call
// than the scripts write in one command: every lease is written, each
// request comes out once, and the counts return to zero.
func TestLargePopAndAck(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	st, err := redisfrontier.OpenStore(ctx, client(t, srv), redisfrontier.StoreConfig{
		QueueKey: "{big}:requests", DupeKey: "{big}:dupefilter", Capacity: 10000}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	const n = 9000
	items := make([]redisfrontier.Item, n)
	for i := range items {
		items[i] = redisfrontier.Item{FP: []byte(fmt.Sprintf("%020d", i)), Host: fmt.Sprintf("h%d", i%3), Priority: i % 2, Record: []byte(fmt.Sprint(i))}
	}
	if _, err := st.Push(ctx, items); err != nil {
		t.Fatal(err)
	}
	ls, err := st.Pop(ctx, "w", n, redisfrontier.PopOptions{Lease: time.Minute, PerHost: n})
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != n {
		t.Fatalf("popped %d, want %d", len(ls), n)
	}
	seen := map[string]bool{}
	ids := make([]string, n)
	for i, l := range ls {
		if seen[string(l.Record)] {
			t.Fatalf("record %s popped twice", l.Record)
		}
		seen[string(l.Record)] = true
		ids[i] = l.ID
	}
	rep, err := st.Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Leases) != n || rep.Leased != n || rep.Pending != 0 {
		t.Fatalf("%d leases, leased %d, pending %d; want %d, %d, 0", len(rep.Leases), rep.Leased, rep.Pending, n, n)
	}
	acked, err := st.Ack(ctx, append(ids, ids[:10]...))
	if err != nil || acked != n {
		t.Fatalf("acked %d (%v), want %d", acked, err, n)
	}
	c, err := st.Counts(ctx)
	if err != nil || c.Leased != 0 || c.Pending != 0 {
		t.Fatalf("counts %+v (%v) after acknowledging every lease", c, err)
	}
	if n, _ := client(t, srv).HLen(ctx, "{big}:requests:hc").Result(); n != 0 {
		t.Fatalf("%d hosts still count leases", n)
	}
}
