package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
	"github.com/frontier-go/frontier/plugins/wire"
)

// Log lines have the shape go-plugin's host parses: @level, @message and an
// @timestamp in hclog's layout, with the other fields kept.
func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, zerolog.DebugLevel)
	log.Debug().Msg("d")
	log.Info().Str("k", "v").Int("n", 3).Msg("hello")
	log.Warn().Msg("w")
	log.Error().Err(errors.New("boom")).Msg("e")
	log.Trace().Msg("hidden")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	want := []struct{ level, msg string }{{"debug", "d"}, {"info", "hello"}, {"warn", "w"}, {"error", "e"}}
	for i, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["@level"] != want[i].level || m["@message"] != want[i].msg {
			t.Fatalf("line %s: want level %s message %s", line, want[i].level, want[i].msg)
		}
		ts, _ := m["@timestamp"].(string)
		if _, err := time.Parse(hclogTimeFormat, ts); err != nil {
			t.Fatalf("@timestamp %q: %v", ts, err)
		}
		if _, ok := m["level"]; ok {
			t.Fatalf("zerolog's level field left in %s", line)
		}
	}
	if !strings.Contains(lines[1], `"k":"v"`) || !strings.Contains(lines[1], `"n":3`) || !strings.Contains(lines[3], `"error":"boom"`) {
		t.Fatalf("fields lost: %s", buf.String())
	}
}

func TestWatchParent(t *testing.T) {
	ppid := 42
	calls := 0
	done := make(chan struct{})
	go watchParent(42, func() int {
		calls++
		if calls > 3 {
			return 1 // re-parented to init
		}
		return ppid
	}, time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("orphaned not called after the parent changed")
	}
}

func nopQueue() QueueFactory {
	return QueueFactory{Order: FIFO, New: func(QueueOptions) (Queue, error) { return newMemQueue(), nil }}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Plugin
		ok   bool
	}{
		{"ok", Plugin{Queues: map[string]QueueFactory{"a.Q": nopQueue()}}, true},
		{"nothing", Plugin{}, false},
		{"space", Plugin{Queues: map[string]QueueFactory{"a Q": nopQueue()}}, false},
		{"no New", Plugin{Queues: map[string]QueueFactory{"a.Q": {}}}, false},
		{"twice", Plugin{Queues: map[string]QueueFactory{"a.Q": nopQueue()}, PriorityQueues: map[string]QueueFactory{"a.Q": nopQueue()}}, false},
		{"store", Plugin{Stores: map[string]StoreFactory{"a.S": {Order: FIFO, New: func(StoreOptions) (Store, error) { return nil, nil }}}}, true},
		{"unordered store", Plugin{Stores: map[string]StoreFactory{"a.S": {New: func(StoreOptions) (Store, error) { return nil, nil }}}}, false},
		{"store named as a queue", Plugin{Queues: map[string]QueueFactory{"a.Q": nopQueue()}, Stores: map[string]StoreFactory{"a.Q": {Order: FIFO, New: func(StoreOptions) (Store, error) { return nil, nil }}}}, false},
		{"unknown protocol version", Plugin{Queues: map[string]QueueFactory{"a.Q": nopQueue()}, ProtocolVersions: []int{3}}, false},
	} {
		err := tc.p.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalidPlugin)) {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
}

func TestDecodeConfig(t *testing.T) {
	var c struct {
		A int `json:"a"`
	}
	if err := DecodeConfig(json.RawMessage(`{"a": 2}`), &c); err != nil || c.A != 2 {
		t.Fatalf("%v %v", c, err)
	}
	if err := DecodeConfig(json.RawMessage(`{"b": 2}`), &c); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := DecodeConfig(nil, &c); err != nil {
		t.Fatal(err)
	}
}

// memQueue is a FIFO in memory for the server tests.
type memQueue struct {
	next     uint64
	pending  []Delivery
	inflight map[uint64]Delivery
	closed   bool
}

func newMemQueue() *memQueue { return &memQueue{inflight: map[uint64]Delivery{}} }

func (q *memQueue) Push(es []Entry) error {
	for _, e := range es {
		q.next++
		q.pending = append(q.pending, Delivery{ID: q.next, Record: e.Record})
	}
	return nil
}

func (q *memQueue) Pop(max int) ([]Delivery, error) {
	n := min(max, len(q.pending))
	out := append([]Delivery(nil), q.pending[:n]...)
	q.pending = q.pending[n:]
	for _, d := range out {
		q.inflight[d.ID] = d
	}
	return out, nil
}

func (q *memQueue) Ack(ids []uint64) error {
	for _, id := range ids {
		delete(q.inflight, id)
	}
	return nil
}

func (q *memQueue) Release(ids []uint64) error {
	var back []Delivery
	for _, id := range ids {
		if d, ok := q.inflight[id]; ok {
			delete(q.inflight, id)
			back = append(back, d)
		}
	}
	q.pending = append(back, q.pending...)
	return nil
}

func (q *memQueue) Len() State   { return State{Pending: len(q.pending), InFlight: len(q.inflight)} }
func (q *memQueue) Close() error { q.closed = true; return nil }

// connect serves p in process and returns the host's stubs.
func connect(t *testing.T, p Plugin) (*wire.Clients, *server) {
	t.Helper()
	s := newServer(p, zerolog.Nop())
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{wire.PluginName: &wire.GRPCPlugin{Servers: s.servers()}})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(wire.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*wire.Clients), s
}

func TestServer(t *testing.T) {
	var configured json.RawMessage
	var opened []*memQueue
	p := Plugin{
		Name: "t",
		Queues: map[string]QueueFactory{"t.Q": {Order: LIFO, Doc: "doc", New: func(o QueueOptions) (Queue, error) {
			if o.Key == "bad" {
				return nil, errors.New("cannot open")
			}
			q := newMemQueue()
			opened = append(opened, q)
			return q, nil
		}}},
		Configure: func(c json.RawMessage, _ zerolog.Logger) error { configured = c; return nil },
	}
	cl, s := connect(t, p)
	ctx := context.Background()
	d, err := cl.Plugin.Describe(ctx, &pluginpb.DescribeRequest{})
	if err != nil || d.GetPlugin() != "t" || len(d.GetComponents()) != 1 || d.GetComponents()[0].GetOrder() != pluginpb.Order_ORDER_LIFO {
		t.Fatalf("Describe = %v, %v", d, err)
	}
	if _, err := cl.Plugin.Configure(ctx, &pluginpb.ConfigureRequest{ConfigJson: []byte(`{"x":1}`), LogLevel: "debug"}); err != nil || string(configured) != `{"x":1}` {
		t.Fatalf("Configure: %v %s", err, configured)
	}
	code := func(err error) codes.Code { return status.Code(err) }
	if _, err := cl.Queue.Open(ctx, &pluginpb.OpenQueueRequest{Name: "t.Nope"}); code(err) != codes.NotFound {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := cl.Queue.Open(ctx, &pluginpb.OpenQueueRequest{Name: "t.Q", Key: "bad"}); code(err) != codes.Internal || !strings.Contains(err.Error(), "cannot open") {
		t.Fatalf("failing New: %v", err)
	}
	o, err := cl.Queue.Open(ctx, &pluginpb.OpenQueueRequest{Name: "t.Q", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Queue.Open(ctx, &pluginpb.OpenQueueRequest{Name: "t.Q", Key: "k"}); code(err) != codes.FailedPrecondition {
		t.Fatalf("second open of a key: %v", err)
	}
	h := o.GetHandle()
	push := &pluginpb.Writes{}
	for _, r := range []string{"aaaa", "bbbb", "cccc"} {
		push.Push = wire.AppendRecord(push.Push, []byte(r))
	}
	st, err := cl.Queue.PushBatch(ctx, &pluginpb.PushBatchRequest{Handle: h, Writes: push})
	if err != nil || st.GetPending() != 3 {
		t.Fatalf("PushBatch = %v, %v", st, err)
	}
	// max_bytes keeps one (the first is always returned) and releases the rest.
	pr, err := cl.Queue.PopBatch(ctx, &pluginpb.PopBatchRequest{Handle: h, Max: 3, MaxBytes: 10})
	if err != nil || len(pr.GetIds()) != 1 || pr.GetState().GetPending() != 2 || pr.GetState().GetInFlight() != 1 {
		t.Fatalf("PopBatch with max_bytes = %v, %v", pr, err)
	}
	if recs, err := wire.SplitRecords(pr.GetRecords(), 1); err != nil || string(recs[0]) != "aaaa" {
		t.Fatalf("records %q: %v", pr.GetRecords(), err)
	}
	first := pr.GetIds()[0]
	pr, err = cl.Queue.PopBatch(ctx, &pluginpb.PopBatchRequest{Handle: h, Max: 10, Writes: &pluginpb.Writes{Ack: []uint64{first}}})
	if err != nil || len(pr.GetIds()) != 2 || len(pr.GetRedelivered()) != 2 || pr.GetState().GetInFlight() != 2 {
		t.Fatalf("PopBatch with an ack = %v, %v", pr, err)
	}
	// A malformed batch, and arrays that do not match it, are refused.
	if _, err := cl.Queue.PushBatch(ctx, &pluginpb.PushBatchRequest{Handle: h, Writes: &pluginpb.Writes{Push: []byte{9, 'x'}}}); code(err) != codes.InvalidArgument {
		t.Fatalf("truncated batch: %v", err)
	}
	if _, err := cl.Queue.PushBatch(ctx, &pluginpb.PushBatchRequest{Handle: h, Writes: &pluginpb.Writes{Push: wire.AppendRecord(nil, []byte("x")), PushPriority: []int64{1, 2}}}); code(err) != codes.InvalidArgument {
		t.Fatalf("priorities that do not match: %v", err)
	}
	if _, err := cl.Queue.Close(ctx, &pluginpb.CloseQueueRequest{Handle: h}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Queue.Len(ctx, &pluginpb.LenRequest{Handle: h}); code(err) != codes.NotFound {
		t.Fatalf("Len on a closed handle: %v", err)
	}
	// The key can be opened again once closed.
	o2, err := cl.Queue.Open(ctx, &pluginpb.OpenQueueRequest{Name: "t.Q", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// Shutting down closes what is open.
	if err := s.closeAll("shutdown"); err != nil {
		t.Fatal(err)
	}
	if !opened[len(opened)-1].closed {
		t.Fatal("closeAll left a queue open")
	}
	if _, err := cl.Queue.Len(ctx, &pluginpb.LenRequest{Handle: o2.GetHandle()}); code(err) != codes.NotFound {
		t.Fatalf("Len after closeAll: %v", err)
	}
	if _, err := cl.Queue.Open(ctx, &pluginpb.OpenQueueRequest{Name: "t.Q", Key: "k2"}); code(err) != codes.Unavailable {
		t.Fatalf("Open after closeAll: %v", err)
	}
}
