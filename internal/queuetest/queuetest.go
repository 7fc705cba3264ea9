package queuetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// Option describes the queue under test.
type Option func(*options)

type options struct {
	lifo       bool
	persistent bool
	serializes bool
	ops        int
	many       int
}

// FIFO says the queue pops the oldest request first (the default).
func FIFO(o *options) { o.lifo = false }

// LIFO says the queue pops the newest request first.
func LIFO(o *options) { o.lifo = true }

// Persistent says the queue keeps its contents when closed and reopened with
// the same key. It implies Serializes.
func Persistent(o *options) { o.persistent, o.serializes = true, true }

// Serializes says the queue writes requests as records, so that it refuses
// an unserializable request (ErrUnserializable) and leaves itself unchanged.
func Serializes(o *options) { o.serializes = true }

// Ops sets the number of operations of the random model test (default 3000).
func Ops(n int) Option { return func(o *options) { o.ops = n } }

// Many sets the number of requests pushed and popped by the Many test
// (default 5000).
func Many(n int) Option { return func(o *options) { o.many = n } }

// New opens the queue stored under key. Run passes a fresh directory path as
// key for each subtest, and the same key again to reopen a persistent queue
// after closing it. New fails the test itself when the queue cannot be
// opened.
type New func(t *testing.T, key string) framework.Queue

// Run runs the conformance suite against the queues newQueue opens.
func Run(t *testing.T, newQueue New, opts ...Option) {
	o := options{ops: 3000, many: 5000}
	for _, f := range opts {
		f(&o)
	}
	s := &suite{o: o, newQueue: newQueue}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Empty", s.empty},
		{"Order", s.order},
		{"Interleaved", s.interleaved},
		{"Peek", s.peek},
		{"Fidelity", s.fidelity},
		{"Unserializable", s.unserializable},
		{"Batch", s.batch},
		{"Flush", s.flush},
		{"Ack", s.ack},
		{"Reopen", s.reopen},
		{"ReopenInFlight", s.reopenInFlight},
		{"Many", s.many},
		{"Model", s.model},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	o        options
	newQueue New
}

// open opens a queue under a fresh key and closes it at the end of the test
// unless the test closed it.
func (s *suite) open(t *testing.T) (framework.Queue, string) {
	t.Helper()
	key := filepath.Join(t.TempDir(), "q")
	return s.reopen1(t, key), key
}

func (s *suite) reopen1(t *testing.T, key string) framework.Queue {
	t.Helper()
	q := s.newQueue(t, key)
	if q == nil {
		t.Fatal("newQueue returned nil")
	}
	return q
}

func req(i int) *framework.Request {
	r := framework.MustRequest("https://example.com/" + strconv.Itoa(i))
	r.Meta = map[string]any{"i": strconv.Itoa(i)}
	return r
}

// id returns the number a request was built from.
func id(t *testing.T, r *framework.Request) int {
	t.Helper()
	if r == nil {
		t.Fatal("got nil request")
	}
	n, err := strconv.Atoi(r.URL[len("https://example.com/"):])
	if err != nil {
		t.Fatalf("unexpected request %s", r)
	}
	return n
}

func push(t *testing.T, q framework.Queue, ids ...int) {
	t.Helper()
	for _, i := range ids {
		if err := q.Push(req(i)); err != nil {
			t.Fatalf("Push(%d): %v", i, err)
		}
	}
}

func pop(t *testing.T, q framework.Queue) *framework.Request {
	t.Helper()
	r, err := q.Pop()
	if err != nil {
		t.Fatalf("Pop: %v", err)
	}
	return r
}

// popIDs pops n requests, acknowledging them when the queue is an Acker.
func popIDs(t *testing.T, q framework.Queue, n int) []int {
	t.Helper()
	var out []int
	for range n {
		r := pop(t, q)
		if r == nil {
			t.Fatalf("Pop returned nil after %d of %d", len(out), n)
		}
		out = append(out, id(t, r))
		ack(t, q, r)
	}
	return out
}

func ack(t *testing.T, q framework.Queue, r *framework.Request) {
	t.Helper()
	if a, ok := q.(framework.Acker); ok {
		if err := a.Ack(r); err != nil {
			t.Fatalf("Ack(%s): %v", r, err)
		}
	}
}

func closeQ(t *testing.T, q framework.Queue) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func wantLen(t *testing.T, q framework.Queue, n int) {
	t.Helper()
	if got := q.Len(); got != n {
		t.Fatalf("Len() = %d, want %d", got, n)
	}
}

// expected returns the pop order of ids pushed in order.
func (s *suite) expected(ids []int) []int {
	out := append([]int(nil), ids...)
	if s.o.lifo {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func (s *suite) empty(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	wantLen(t, q, 0)
	if r := pop(t, q); r != nil {
		t.Fatalf("Pop on an empty queue = %s, want nil", r)
	}
	if p, ok := q.(framework.Peeker); ok {
		r, err := p.Peek()
		if err != nil || r != nil {
			t.Fatalf("Peek on an empty queue = %v, %v; want nil, nil", r, err)
		}
	}
	wantLen(t, q, 0)
}

func (s *suite) order(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	ids := seq(0, 20)
	push(t, q, ids...)
	wantLen(t, q, 20)
	want := s.expected(ids)
	for i, w := range want {
		r := pop(t, q)
		if got := id(t, r); got != w {
			t.Fatalf("pop %d = %d, want %d (order %v)", i, got, w, want)
		}
		ack(t, q, r)
		wantLen(t, q, 20-i-1)
	}
	if r := pop(t, q); r != nil {
		t.Fatalf("Pop after draining = %s, want nil", r)
	}
}

func (s *suite) interleaved(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	m := &model{lifo: s.o.lifo}
	step := func(pushes, pops int) {
		for range pushes {
			i := m.next
			m.push()
			push(t, q, i)
		}
		for range pops {
			w, ok := m.pop()
			r := pop(t, q)
			if !ok {
				if r != nil {
					t.Fatalf("Pop = %s, want nil", r)
				}
				continue
			}
			if got := id(t, r); got != w {
				t.Fatalf("Pop = %d, want %d", got, w)
			}
			ack(t, q, r)
		}
		wantLen(t, q, len(m.items))
	}
	step(3, 1)
	step(2, 2)
	step(0, 1)
	step(5, 0)
	step(1, 7)
	step(0, 1)
	step(4, 2)
	step(0, 2)
}

func (s *suite) peek(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	p, ok := q.(framework.Peeker)
	if !ok {
		t.Skip("not a Peeker")
	}
	m := &model{lifo: s.o.lifo}
	check := func() {
		t.Helper()
		r, err := p.Peek()
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		w, ok := m.peek()
		if !ok {
			if r != nil {
				t.Fatalf("Peek = %s, want nil", r)
			}
			return
		}
		if got := id(t, r); got != w {
			t.Fatalf("Peek = %d, want %d", got, w)
		}
		wantLen(t, q, len(m.items))
		// Peek again: the same, and Len unchanged.
		r2, err := p.Peek()
		if err != nil || id(t, r2) != w {
			t.Fatalf("second Peek = %v, %v; want %d", r2, err, w)
		}
		wantLen(t, q, len(m.items))
	}
	check()
	for i := range 3 {
		m.push()
		push(t, q, i)
		check()
	}
	// Pop returns what Peek returned.
	for range 2 {
		r, _ := p.Peek()
		want := id(t, r)
		got := pop(t, q)
		if id(t, got) != want {
			t.Fatalf("Pop = %d after Peek = %d", id(t, got), want)
		}
		m.pop()
		ack(t, q, got)
		check()
	}
	m.push()
	push(t, q, 3)
	check()
	for len(m.items) > 0 {
		m.pop()
		ack(t, q, pop(t, q))
		check()
	}
}

func (s *suite) fidelity(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	r := framework.MustRequest("https://example.com/path?q=1&b=%20")
	r.Method = http.MethodPost
	r.Headers = http.Header{"Content-Type": {"application/json"}, "X-Many": {"a", "b"}}
	r.Body = []byte(`{"a": 1}`)
	r.Cookies = []framework.Cookie{{Name: "c", Value: "v", Domain: "example.com", Path: "/"}}
	r.Meta = map[string]any{"s": "text", "b": true, "f": 1.5, "n": nil, "l": []any{"x", "y"}, "m": map[string]any{"k": "v"}, "raw": []byte{0, 1, 2}}
	r.CbKwargs = map[string]any{"page": "2"}
	r.Flags = []string{"cached"}
	r.Priority = -7
	r.DontFilter = true
	r.Encoding = "latin-1"
	if err := q.Push(r); err != nil {
		t.Fatal(err)
	}
	got := pop(t, q)
	if got == nil {
		t.Fatal("Pop returned nil")
	}
	ack(t, q, got)
	c := *got
	c.Delivery, c.Redelivered = 0, false
	framework.TakeRecord(&c) // the decoder's bookkeeping, not the request's data
	want := *r
	if !reflect.DeepEqual(&c, &want) {
		t.Fatalf("request changed on the way:\n got %#v\nwant %#v", c, want)
	}
}

// unserializable holds a value the record codec cannot write.
func unserializable() *framework.Request {
	r := framework.MustRequest("https://example.com/bad")
	r.Meta = map[string]any{"fn": func() {}}
	return r
}

func (s *suite) unserializable(t *testing.T) {
	if !s.o.serializes {
		t.Skip("keeps requests as they are")
	}
	q, _ := s.open(t)
	defer closeQ(t, q)
	push(t, q, 1)
	err := q.Push(unserializable())
	if !errors.Is(err, framework.ErrUnserializable) {
		t.Fatalf("Push(unserializable) = %v, want an error wrapping ErrUnserializable", err)
	}
	wantLen(t, q, 1)
	if b, ok := q.(framework.Batcher); ok {
		err := b.PushBatch([]*framework.Request{req(2), unserializable(), req(3)})
		if !errors.Is(err, framework.ErrUnserializable) {
			t.Fatalf("PushBatch with an unserializable request = %v, want ErrUnserializable", err)
		}
		wantLen(t, q, 1)
	}
	if got := popIDs(t, q, 1); got[0] != 1 {
		t.Fatalf("Pop = %d, want 1", got[0])
	}
	wantLen(t, q, 0)
}

func (s *suite) batch(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	b, ok := q.(framework.Batcher)
	if !ok {
		t.Skip("not a Batcher")
	}
	var rs []*framework.Request
	for i := range 100 {
		rs = append(rs, req(i))
	}
	if err := b.PushBatch(rs); err != nil {
		t.Fatal(err)
	}
	wantLen(t, q, 100)
	want := s.expected(seq(0, 100))
	var got []int
	for _, n := range []int{30, 1, 1000} {
		out, err := b.PopBatch(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != min(n, 100-len(got)) {
			t.Fatalf("PopBatch(%d) returned %d with %d left", n, len(out), 100-len(got))
		}
		for _, r := range out {
			got = append(got, id(t, r))
			ack(t, q, r)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PopBatch order = %v, want %v", got, want)
	}
	out, err := b.PopBatch(10)
	if err != nil || len(out) != 0 {
		t.Fatalf("PopBatch on empty = %v, %v", out, err)
	}
	wantLen(t, q, 0)
}

func (s *suite) flush(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	f, ok := q.(framework.Flusher)
	if !ok {
		t.Skip("not a Flusher")
	}
	push(t, q, 0, 1, 2)
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	wantLen(t, q, 3)
	popIDs(t, q, 1)
	push(t, q, 3)
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Flush(); err != nil {
		t.Fatal(err)
	}
	wantLen(t, q, 3)
	got := popIDs(t, q, 3)
	// FIFO popped 0 and has 1 2 3; LIFO popped 2, then 3 went on top of 1 0.
	want := []int{1, 2, 3}
	if s.o.lifo {
		want = []int{3, 1, 0}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after flushes popped %v, want %v", got, want)
	}
}

func (s *suite) ack(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	a, ok := q.(framework.Acker)
	if !ok {
		t.Skip("not an Acker")
	}
	push(t, q, 0, 1, 2, 3)
	r1, r2, r3 := pop(t, q), pop(t, q), pop(t, q)
	if a.InFlight() != 3 {
		t.Fatalf("InFlight = %d, want 3", a.InFlight())
	}
	wantLen(t, q, 1)
	if err := a.Ack(r2); err != nil {
		t.Fatal(err)
	}
	if a.InFlight() != 2 {
		t.Fatalf("InFlight after one Ack = %d, want 2", a.InFlight())
	}
	if err := a.Ack(r2); !errors.Is(err, framework.ErrNotInFlight) {
		t.Fatalf("second Ack of the same request = %v, want ErrNotInFlight", err)
	}
	if err := a.Ack(r1); err != nil {
		t.Fatal(err)
	}
	if err := a.Ack(r3); err != nil {
		t.Fatal(err)
	}
	if a.InFlight() != 0 {
		t.Fatalf("InFlight after all Acks = %d, want 0", a.InFlight())
	}
	wantLen(t, q, 1)
}

func (s *suite) reopen(t *testing.T) {
	if !s.o.persistent {
		t.Skip("not persistent")
	}
	q, key := s.open(t)
	push(t, q, seq(0, 50)...)
	first := popIDs(t, q, 10)
	if !reflect.DeepEqual(first, s.expected(seq(0, 50))[:10]) {
		t.Fatalf("first pops = %v", first)
	}
	closeQ(t, q)

	q = s.reopen1(t, key)
	wantLen(t, q, 40)
	push(t, q, seq(50, 60)...)
	wantLen(t, q, 50)
	closeQ(t, q)

	q = s.reopen1(t, key)
	defer closeQ(t, q)
	wantLen(t, q, 50)
	// The model: 0..49 pushed, 10 popped in order, then 50..59 pushed.
	m := &model{lifo: s.o.lifo}
	for range 50 {
		m.push()
	}
	for range 10 {
		m.pop()
	}
	for range 10 {
		m.push()
	}
	got := popIDs(t, q, 50)
	if !reflect.DeepEqual(got, m.items2order()) {
		t.Fatalf("after reopen popped %v, want %v", got, m.items2order())
	}
	wantLen(t, q, 0)
}

func (s *suite) reopenInFlight(t *testing.T) {
	if !s.o.persistent {
		t.Skip("not persistent")
	}
	q, key := s.open(t)
	a, ok := q.(framework.Acker)
	if !ok {
		closeQ(t, q)
		t.Skip("not an Acker")
	}
	push(t, q, seq(0, 10)...)
	var held []*framework.Request
	for range 4 {
		held = append(held, pop(t, q))
	}
	if err := a.Ack(held[1]); err != nil {
		t.Fatal(err)
	}
	closeQ(t, q)

	q = s.reopen1(t, key)
	defer closeQ(t, q)
	// 6 never popped, plus 3 popped and not acknowledged.
	wantLen(t, q, 9)
	want := map[int]bool{}
	for i := range 10 {
		want[i] = true
	}
	delete(want, id(t, held[1]))
	redelivered := map[int]bool{}
	for _, i := range []int{0, 2, 3} {
		redelivered[id(t, held[i])] = true
	}
	for range 9 {
		r := pop(t, q)
		if r == nil {
			t.Fatal("Pop returned nil too early")
		}
		n := id(t, r)
		if !want[n] {
			t.Fatalf("popped %d, which was acknowledged or already popped", n)
		}
		delete(want, n)
		if r.Redelivered != redelivered[n] {
			t.Fatalf("request %d: Redelivered = %v, want %v", n, r.Redelivered, redelivered[n])
		}
		ack(t, q, r)
	}
	if r := pop(t, q); r != nil {
		t.Fatalf("extra request %s", r)
	}
}

func (s *suite) many(t *testing.T) {
	q, _ := s.open(t)
	defer closeQ(t, q)
	n := s.o.many
	push(t, q, seq(0, n)...)
	wantLen(t, q, n)
	got := popIDs(t, q, n)
	if !reflect.DeepEqual(got, s.expected(seq(0, n))) {
		t.Fatalf("order broken over %d requests", n)
	}
	wantLen(t, q, 0)
}

// model is the reference queue: items in push order.
type model struct {
	lifo  bool
	items []int
	next  int
}

func (m *model) push() { m.items = append(m.items, m.next); m.next++ }

func (m *model) peek() (int, bool) {
	if len(m.items) == 0 {
		return 0, false
	}
	if m.lifo {
		return m.items[len(m.items)-1], true
	}
	return m.items[0], true
}

func (m *model) pop() (int, bool) {
	v, ok := m.peek()
	if !ok {
		return 0, false
	}
	if m.lifo {
		m.items = m.items[:len(m.items)-1]
	} else {
		m.items = m.items[1:]
	}
	return v, true
}

// items2order returns the pop order of what the model holds.
func (m *model) items2order() []int {
	c := &model{lifo: m.lifo, items: append([]int(nil), m.items...)}
	var out []int
	for {
		v, ok := c.pop()
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func (s *suite) model(t *testing.T) {
	q, key := s.open(t)
	defer func() { closeQ(t, q) }()
	m := &model{lifo: s.o.lifo}
	rng := rand.New(rand.NewPCG(1, 2))
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		tail := log
		if len(tail) > 20 {
			tail = tail[len(tail)-20:]
		}
		t.Fatalf("%s (last operations: %v)", fmt.Sprintf(format, args...), tail)
	}
	var held []*framework.Request // popped, not yet acknowledged
	for range s.o.ops {
		switch op := rng.IntN(100); {
		case op < 40:
			k := 1 + rng.IntN(5)
			for range k {
				i := m.next
				m.push()
				if err := q.Push(req(i)); err != nil {
					fail("Push(%d): %v", i, err)
				}
			}
			log = append(log, fmt.Sprintf("push×%d", k))
		case op < 75:
			w, ok := m.pop()
			r, err := q.Pop()
			log = append(log, "pop")
			if err != nil {
				fail("Pop: %v", err)
			}
			if !ok {
				if r != nil {
					fail("Pop = %s, want nil", r)
				}
				continue
			}
			if r == nil {
				fail("Pop = nil, want %d", w)
			}
			if got := id(t, r); got != w {
				fail("Pop = %d, want %d", got, w)
			}
			held = append(held, r)
		case op < 85:
			p, ok := q.(framework.Peeker)
			if !ok {
				continue
			}
			log = append(log, "peek")
			r, err := p.Peek()
			if err != nil {
				fail("Peek: %v", err)
			}
			w, ok := m.peek()
			if ok != (r != nil) || (ok && id(t, r) != w) {
				fail("Peek = %v, want %d (%v)", r, w, ok)
			}
		case op < 92:
			log = append(log, "ack")
			for _, r := range held {
				ack(t, q, r)
			}
			held = held[:0]
		case op < 96:
			if f, ok := q.(framework.Flusher); ok {
				log = append(log, "flush")
				if err := f.Flush(); err != nil {
					fail("Flush: %v", err)
				}
			}
		default:
			if !s.o.persistent {
				continue
			}
			log = append(log, "reopen")
			for _, r := range held {
				ack(t, q, r)
			}
			held = held[:0]
			closeQ(t, q)
			q = s.reopen1(t, key)
		}
		if got := q.Len(); got != len(m.items) {
			fail("Len = %d, want %d", got, len(m.items))
		}
		if a, ok := q.(framework.Acker); ok && a.InFlight() != len(held) {
			fail("InFlight = %d, want %d", a.InFlight(), len(held))
		}
	}
	for _, r := range held {
		ack(t, q, r)
	}
}
