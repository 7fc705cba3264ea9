package redisfrontier_test

import (
	"errors"
	"strings"

	"context"
	"fmt"
	"github.com/redis/go-redis/v9"
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

// TestPartOfABatchAcknowledged acknowledges some requests of one pop: the
// others stay leased, inspect lists exactly them, an expired batch returns
// only them (in the order they were popped), and the hosts' counts of
// leased requests return to zero.
func TestPartOfABatchAcknowledged(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := client(t, srv)
	st, err := redisfrontier.OpenStore(ctx, c, redisfrontier.StoreConfig{
		QueueKey: "{part}:requests", DupeKey: "{part}:dupefilter", Capacity: 100}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	items := make([]redisfrontier.Item, 6)
	for i := range items {
		items[i] = redisfrontier.Item{FP: []byte(fmt.Sprintf("%020d", i)), Host: fmt.Sprintf("h%d", i), Record: []byte(fmt.Sprint(i))}
	}
	if _, err := st.Push(ctx, items); err != nil {
		t.Fatal(err)
	}
	ls, err := st.Pop(ctx, "w", 6, redisfrontier.PopOptions{Lease: time.Minute, PerHost: 2})
	if err != nil || len(ls) != 6 {
		t.Fatalf("popped %d (%v), want 6", len(ls), err)
	}
	if n, err := st.Ack(ctx, []string{ls[1].ID, ls[4].ID, ls[1].ID, "nonsense", "1.99"}); err != nil || n != 2 {
		t.Fatalf("acked %d (%v), want 2", n, err)
	}
	rep, err := st.Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, l := range rep.Leases {
		left = append(left, l.ID)
	}
	want := []string{ls[0].ID, ls[2].ID, ls[3].ID, ls[5].ID}
	if fmt.Sprint(left) != fmt.Sprint(want) || rep.Leased != 4 {
		t.Fatalf("leases %v (leased %d), want %v", left, rep.Leased, want)
	}
	lost, err := st.Extend(ctx, "w", -time.Hour, []string{ls[0].ID, ls[1].ID})
	if err != nil || fmt.Sprint(lost) != fmt.Sprint([]string{ls[1].ID}) {
		t.Fatalf("extend lost %v (%v), want only the acknowledged %s", lost, err, ls[1].ID)
	}
	if n, err := st.Recover(ctx, 10); err != nil || n != 4 {
		t.Fatalf("recovered %d (%v), want 4", n, err)
	}
	again, err := st.Pop(ctx, "w2", 10, redisfrontier.PopOptions{Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var recs []string
	for _, l := range again {
		if !l.Redelivered {
			t.Errorf("%s not flagged redelivered", l.Record)
		}
		recs = append(recs, string(l.Record))
	}
	if fmt.Sprint(recs) != fmt.Sprint([]string{string(ls[0].Record), string(ls[2].Record), string(ls[3].Record), string(ls[5].Record)}) {
		t.Fatalf("redelivered %v", recs)
	}
	if n, _ := c.HLen(ctx, "{part}:requests:hc").Result(); n != 0 {
		t.Fatalf("%d hosts still count leases after the expired batch returned", n)
	}
	if n, _ := c.HLen(ctx, "{part}:requests:lh").Result(); n != 0 {
		t.Fatalf("%d lease hosts left after the expired batch returned", n)
	}
}

// TestForeignLeaseBatch: a value under the lease batches that this code did
// not write is an error naming the key, for inspect and for recovery.
func TestForeignLeaseBatch(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := client(t, srv)
	st, err := redisfrontier.OpenStore(ctx, c, redisfrontier.StoreConfig{
		QueueKey: "{alien}:requests", DupeKey: "{alien}:dupefilter", Capacity: 100}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c.ZAdd(ctx, "{alien}:requests:leases", redis.Z{Score: 1, Member: "7"})
	c.HSet(ctx, "{alien}:requests:la", "7", "-0")
	c.HSet(ctx, "{alien}:requests:lb", "7", "pickled bytes")
	if _, err := st.Inspect(ctx); !errors.Is(err, redisfrontier.ErrBadValue) || !strings.Contains(err.Error(), "{alien}:requests:lb") {
		t.Fatalf("inspect: %v, want ErrBadValue naming the key", err)
	}
	if _, err := st.Recover(ctx, 10); err == nil || !strings.Contains(err.Error(), "{alien}:requests:lb") {
		t.Fatalf("recover: %v, want an error naming the key", err)
	}
}

// TestPopPastDrainedHosts: hosts whose last request was popped stay ready
// until a pop finds them empty; a pop pages past any number of them to a
// host that holds a request, and leaves them out of the ready hosts.
func TestPopPastDrainedHosts(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	c := client(t, srv)
	st, err := redisfrontier.OpenStore(ctx, c, redisfrontier.StoreConfig{
		QueueKey: "{drained}:requests", DupeKey: "{drained}:dupefilter", Capacity: 1000}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	const hosts = 300
	items := make([]redisfrontier.Item, hosts)
	for i := range items {
		items[i] = redisfrontier.Item{FP: []byte(fmt.Sprintf("%020d", i)), Host: fmt.Sprintf("h%03d", i), Priority: i % 3, Record: []byte(fmt.Sprint(i))}
	}
	if _, err := st.Push(ctx, items); err != nil {
		t.Fatal(err)
	}
	for got := 0; got < hosts; {
		ls, err := st.Pop(ctx, "w", 50, redisfrontier.PopOptions{Lease: time.Minute})
		if err != nil || len(ls) == 0 {
			t.Fatalf("pop after %d: %d (%v)", got, len(ls), err)
		}
		got += len(ls)
	}
	time.Sleep(5 * time.Millisecond) // the last host queues after every drained one
	if _, err := st.Push(ctx, []redisfrontier.Item{{FP: []byte("last-request-fp-0000"), Host: "zz", Record: []byte("last")}}); err != nil {
		t.Fatal(err)
	}
	ls, err := st.Pop(ctx, "w", 1, redisfrontier.PopOptions{Lease: time.Minute})
	if err != nil || len(ls) != 1 || string(ls[0].Record) != "last" {
		t.Fatalf("pop past %d drained hosts: %v (%v), want the last request", hosts, ls, err)
	}
	if n, _ := c.ZCard(ctx, "{drained}:requests:ready").Result(); n != 1 {
		t.Fatalf("%d hosts still ready after a pop visited every drained one, want 1 (zz, which may hold more)", n)
	}
	if ls, err := st.Pop(ctx, "w", 1, redisfrontier.PopOptions{Lease: time.Minute}); err != nil || len(ls) != 0 {
		t.Fatalf("pop of an empty frontier: %v (%v)", ls, err)
	}
	if n, _ := c.ZCard(ctx, "{drained}:requests:ready").Result(); n != 0 {
		t.Fatalf("%d hosts ready in an empty frontier", n)
	}
}

// TestPushGroupsKeepOrder: requests of one push that share a host and
// priority are queued together, each queue still first in, first out.
func TestPushGroupsKeepOrder(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	st, err := redisfrontier.OpenStore(ctx, client(t, srv), redisfrontier.StoreConfig{
		QueueKey: "{groups}:requests", DupeKey: "{groups}:dupefilter", Capacity: 100}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	push := []struct {
		host string
		prio int
		rec  string
	}{{"a", 0, "1"}, {"a", 1, "2"}, {"a", 0, "3"}, {"b", 0, "4"}, {"a", 1, "5"}, {"a", 1, "2"}}
	var items []redisfrontier.Item
	for _, p := range push {
		items = append(items, redisfrontier.Item{FP: []byte("fp-of-" + p.rec), Host: p.host, Priority: p.prio, Record: []byte(p.rec)})
	}
	acc, err := st.Push(ctx, items)
	if err != nil || fmt.Sprint(acc) != "[true true true true true false]" {
		t.Fatalf("accepted %v (%v)", acc, err)
	}
	ls, err := st.Pop(ctx, "w", 10, redisfrontier.PopOptions{Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, string(l.Record))
	}
	// One request per host per pass, the host's highest priority first.
	if fmt.Sprint(got) != "[2 4 5 1 3]" {
		t.Fatalf("popped %v, want [2 4 5 1 3]", got)
	}
}
