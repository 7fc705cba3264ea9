package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/plugins/sdk"
)

func entries(from, to int) []sdk.Entry {
	var out []sdk.Entry
	for i := from; i < to; i++ {
		out = append(out, sdk.Entry{Record: []byte(fmt.Sprintf("r%d", i))})
	}
	return out
}

func names(ds []sdk.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Record))
	}
	return out
}

func ids(ds []sdk.Delivery) []uint64 {
	var out []uint64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func mustPop(t *testing.T, q sdk.Queue, n int) []sdk.Delivery {
	t.Helper()
	ds, err := q.Pop(n)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestPriorityQueueStore(t *testing.T) {
	key := filepath.Join(t.TempDir(), "pq")
	q, err := openQueue(key, kindPriorityStart, "normal")
	if err != nil {
		t.Fatal(err)
	}
	push := []sdk.Entry{
		{Record: []byte("start0"), Priority: 0, Start: true},
		{Record: []byte("reg0"), Priority: 0},
		{Record: []byte("reg3"), Priority: 3},
		{Record: []byte("start3"), Priority: 3, Start: true},
		{Record: []byte("reg0b"), Priority: 0},
		{Record: []byte("neg"), Priority: -1},
	}
	if err := q.Push(push); err != nil {
		t.Fatal(err)
	}
	ds := mustPop(t, q, 2)
	if got := names(ds); !reflect.DeepEqual(got, []string{"reg3", "start3"}) {
		t.Fatalf("popped %v", got)
	}
	if err := q.Ack(ids(ds[:1])); err != nil {
		t.Fatal(err)
	}
	q.Close()
	q, err = openQueue(key, kindPriorityStart, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ds = mustPop(t, q, 10)
	if got := names(ds); !reflect.DeepEqual(got, []string{"start3", "reg0", "reg0b", "start0", "neg"}) {
		t.Fatalf("after reopen popped %v", got)
	}
	if !ds[0].Redelivered || ds[1].Redelivered {
		t.Fatal("redelivered flags wrong")
	}
}

func TestMemoryPriorityQueue(t *testing.T) {
	q, err := openMemoryQueue(kindPriority)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Push([]sdk.Entry{{Record: []byte("a"), Priority: 1}, {Record: []byte("b"), Priority: 2}}); err != nil {
		t.Fatal(err)
	}
	ds := mustPop(t, q, 1)
	if err := q.Release(ids(ds)); err != nil {
		t.Fatal(err)
	}
	if got := names(mustPop(t, q, 5)); !reflect.DeepEqual(got, []string{"b", "a"}) {
		t.Fatalf("popped %v", got)
	}
}

func TestDupeFilter(t *testing.T) {
	dir := t.TempDir()
	d, err := openDupeFilter(dir, "normal")
	if err != nil {
		t.Fatal(err)
	}
	seen := func(d *dupeFilter, fp string) bool {
		t.Helper()
		ok, err := d.Seen(sdk.SeenRequest{Fingerprint: []byte(fp)})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if seen(d, "a") || !seen(d, "a") || seen(d, "b") {
		t.Fatal("wrong answers in one run")
	}
	if err := d.Close("finished"); err != nil {
		t.Fatal(err)
	}
	d, err = openDupeFilter(dir, "normal")
	if err != nil {
		t.Fatal(err)
	}
	if !seen(d, "a") || !seen(d, "b") || seen(d, "c") {
		t.Fatal("fingerprints not kept across a clean close")
	}
	// No close (a crash): "c" is forgotten, never the others.
	d.db.Close()
	d, err = openDupeFilter(dir, "normal")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close("finished")
	if !seen(d, "a") || seen(d, "c") {
		t.Fatal("after a crash: want a seen, c forgotten")
	}
	// Without JOBDIR it works in memory.
	m, err := openDupeFilter("", "normal")
	if err != nil {
		t.Fatal(err)
	}
	if seen(m, "x") || !seen(m, "x") {
		t.Fatal("memory filter")
	}
	m.Close("finished")
}

func TestConfigure(t *testing.T) {
	for _, tc := range []struct {
		config string
		want   string
		err    bool
	}{
		{`{}`, "normal", false},
		{`{"synchronous": "FULL"}`, "full", false},
		{`{"synchronous": "sometimes"}`, "", true},
		{`{"synchronus": "full"}`, "", true},
	} {
		s := &settings{}
		err := s.configure(json.RawMessage(tc.config), zerolog.Nop())
		if (err != nil) != tc.err {
			t.Fatalf("%s: error %v", tc.config, err)
		}
		if err != nil {
			if !errors.Is(err, sdk.ErrBadConfig) {
				t.Fatalf("%s: error %v does not wrap ErrBadConfig", tc.config, err)
			}
			continue
		}
		if s.synchronous() != tc.want {
			t.Fatalf("%s: synchronous = %s", tc.config, s.synchronous())
		}
	}
}
