package sdk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
	"github.com/frontier-go/frontier/plugins/wire"
)

// server implements the three services over a Plugin.
type server struct {
	pluginpb.UnimplementedPluginServiceServer
	pluginpb.UnimplementedQueueServiceServer

	p Plugin

	mu     sync.Mutex
	log    zerolog.Logger
	next   uint64
	queues map[uint64]*queueHandle
	stores map[uint64]*storeHandle
	dupes  map[uint64]*dupeHandle
	keys   map[string]uint64 // name + "\x00" + key of open queues
	closed bool
}

type queueHandle struct {
	mu     sync.Mutex
	q      Queue
	id     string // name + "\x00" + key
	order  Order
	closed bool
}

type dupeHandle struct {
	mu     sync.Mutex
	f      DupeFilter
	closed bool
}

func newServer(p Plugin, log zerolog.Logger) *server {
	return &server{
		p:      p,
		log:    log,
		queues: map[uint64]*queueHandle{},
		stores: map[uint64]*storeHandle{},
		dupes:  map[uint64]*dupeHandle{},
		keys:   map[string]uint64{},
	}
}

func (s *server) servers() wire.Servers {
	return wire.Servers{Plugin: s, Queue: s, DupeFilter: dupeServer{s: s}, Store: storeServer{s: s}}
}

// statusErr turns an error into a gRPC status error, keeping statuses the
// plugin returned itself.
func statusErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrUnknownComponent), errors.Is(err, ErrUnknownHandle):
		code = codes.NotFound
	case errors.Is(err, ErrAlreadyOpen):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrBadConfig):
		code = codes.InvalidArgument
	}
	return status.Error(code, err.Error())
}

func (s *server) Describe(context.Context, *pluginpb.DescribeRequest) (*pluginpb.DescribeResponse, error) {
	resp := &pluginpb.DescribeResponse{Plugin: s.p.Name, Version: s.p.Version}
	for _, c := range s.p.Components() {
		pc := &pluginpb.Component{Name: c.Name, Doc: c.Doc, KeyedBuckets: c.KeyedBuckets}
		switch c.Kind {
		case "queue":
			pc.Kind = pluginpb.Kind_KIND_QUEUE
			pc.Order = orderToProto(c.Order)
		case "priority queue":
			pc.Kind = pluginpb.Kind_KIND_PRIORITY_QUEUE
		case "dupefilter":
			pc.Kind = pluginpb.Kind_KIND_DUPEFILTER
		}
		resp.Components = append(resp.Components, pc)
	}
	return resp, nil
}

func (s *server) Configure(_ context.Context, req *pluginpb.ConfigureRequest) (*pluginpb.ConfigureResponse, error) {
	s.mu.Lock()
	if req.GetLogLevel() != "" {
		if lvl, err := zerolog.ParseLevel(req.GetLogLevel()); err == nil {
			s.log = s.log.Level(lvl)
		}
	}
	log := s.log
	s.mu.Unlock()
	if s.p.Configure == nil {
		return &pluginpb.ConfigureResponse{}, nil
	}
	cfg := json.RawMessage(req.GetConfigJson())
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	if err := s.p.Configure(cfg, log); err != nil {
		if !errors.Is(err, ErrBadConfig) {
			err = fmt.Errorf("%w: %w", ErrBadConfig, err)
		}
		return nil, statusErr(err)
	}
	return &pluginpb.ConfigureResponse{}, nil
}

func orderToProto(o Order) pluginpb.Order {
	switch o {
	case FIFO:
		return pluginpb.Order_ORDER_FIFO
	case LIFO:
		return pluginpb.Order_ORDER_LIFO
	default:
		return pluginpb.Order_ORDER_UNSPECIFIED
	}
}

func stateToProto(st State) *pluginpb.QueueState {
	return &pluginpb.QueueState{Pending: uint64(max(st.Pending, 0)), InFlight: uint64(max(st.InFlight, 0))}
}

func (s *server) Open(_ context.Context, req *pluginpb.OpenQueueRequest) (*pluginpb.OpenQueueResponse, error) {
	name := req.GetName()
	f, ok := s.p.Queues[name]
	pq := false
	if sf, isStore := s.p.Stores[name]; isStore && !ok {
		f, ok = storeQueueFactory(sf), true
	}
	if !ok {
		f, ok = s.p.PriorityQueues[name]
		pq = ok
	}
	if !ok {
		return nil, statusErr(fmt.Errorf("%w: no queue or priority queue named %q", ErrUnknownComponent, name))
	}
	id := name + "\x00" + req.GetKey()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, status.Error(codes.Unavailable, "sdk: plugin is shutting down")
	}
	if _, dup := s.keys[id]; dup {
		s.mu.Unlock()
		return nil, statusErr(fmt.Errorf("%w: %s with key %q", ErrAlreadyOpen, name, req.GetKey()))
	}
	s.keys[id] = 0 // reserve while opening
	log := s.log
	s.mu.Unlock()

	o := QueueOptions{Name: name, Key: req.GetKey(), Logger: log.With().Str("component", name).Logger()}
	order := f.Order
	if pq {
		order = Unordered
		o.Persistent = req.GetPriority().GetPersistent()
		o.SeparateStart = req.GetPriority().GetSeparateStart()
	}
	q, err := f.New(o)
	if err == nil && q == nil {
		err = fmt.Errorf("sdk: %s: New returned a nil queue", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.keys, id)
		return nil, statusErr(fmt.Errorf("open %s with key %q: %w", name, req.GetKey(), err))
	}
	s.next++
	h := s.next
	s.keys[id] = h
	s.queues[h] = &queueHandle{q: q, id: id, order: order}
	return &pluginpb.OpenQueueResponse{Handle: h, Order: orderToProto(order), State: stateToProto(q.Len())}, nil
}

// queue finds an open handle and locks it; the caller unlocks.
func (s *server) queue(h uint64) (*queueHandle, error) {
	s.mu.Lock()
	qh := s.queues[h]
	s.mu.Unlock()
	if qh == nil {
		return nil, statusErr(fmt.Errorf("%w: queue %d", ErrUnknownHandle, h))
	}
	qh.mu.Lock()
	if qh.closed {
		qh.mu.Unlock()
		return nil, statusErr(fmt.Errorf("%w: queue %d is closed", ErrUnknownHandle, h))
	}
	return qh, nil
}

// entries parses the pushes of w.
func entries(w *pluginpb.Writes) ([]Entry, error) {
	if len(w.GetPush()) == 0 {
		if len(w.GetPushPriority())+len(w.GetPushSlot())+len(w.GetPushStart()) > 0 {
			return nil, status.Error(codes.InvalidArgument, "sdk: priorities, slots or start flags without records")
		}
		return nil, nil
	}
	recs, err := wire.SplitRecords(w.GetPush(), -1)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	prio, slot, start := w.GetPushPriority(), w.GetPushSlot(), w.GetPushStart()
	for _, n := range []int{len(prio), len(slot), len(start)} {
		if n != 0 && n != len(recs) {
			return nil, status.Errorf(codes.InvalidArgument, "sdk: %d records but %d priorities, %d slots and %d start flags", len(recs), len(prio), len(slot), len(start))
		}
	}
	out := make([]Entry, len(recs))
	for i, r := range recs {
		out[i].Record = r
		if len(prio) > 0 {
			out[i].Priority = prio[i]
		}
		if len(slot) > 0 {
			out[i].Slot = slot[i]
		}
		if len(start) > 0 {
			out[i].Start = start[i]
		}
	}
	return out, nil
}

func applyWrites(q Queue, w *pluginpb.Writes) error {
	push, err := entries(w)
	if err != nil {
		return err
	}
	ack, rel := w.GetAck(), w.GetRelease()
	kinds := 0
	for _, n := range []int{len(ack), len(rel), len(push)} {
		if n > 0 {
			kinds++
		}
	}
	if kinds == 0 {
		return nil
	}
	if bw, ok := q.(BatchWriter); ok && kinds > 1 {
		return bw.Write(ack, rel, push)
	}
	if len(ack) > 0 {
		if err := q.Ack(ack); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
	if len(rel) > 0 {
		if err := q.Release(rel); err != nil {
			return fmt.Errorf("release: %w", err)
		}
	}
	if len(push) > 0 {
		if err := q.Push(push); err != nil {
			return fmt.Errorf("push: %w", err)
		}
	}
	return nil
}

func (s *server) PushBatch(_ context.Context, req *pluginpb.PushBatchRequest) (*pluginpb.QueueState, error) {
	qh, err := s.queue(req.GetHandle())
	if err != nil {
		return nil, err
	}
	defer qh.mu.Unlock()
	if err := applyWrites(qh.q, req.GetWrites()); err != nil {
		return nil, statusErr(err)
	}
	return stateToProto(qh.q.Len()), nil
}

func (s *server) PopBatch(_ context.Context, req *pluginpb.PopBatchRequest) (*pluginpb.PopBatchResponse, error) {
	qh, err := s.queue(req.GetHandle())
	if err != nil {
		return nil, err
	}
	defer qh.mu.Unlock()
	if err := applyWrites(qh.q, req.GetWrites()); err != nil {
		return nil, statusErr(err)
	}
	resp := &pluginpb.PopBatchResponse{}
	if n := int(min(req.GetMax(), 1<<20)); n > 0 {
		ds, err := qh.q.Pop(n)
		if err != nil {
			return nil, statusErr(fmt.Errorf("pop: %w", err))
		}
		if len(ds) > n {
			return nil, status.Errorf(codes.Internal, "sdk: Pop(%d) returned %d entries", n, len(ds))
		}
		// Keep the reply under max_bytes (and the gRPC limit): release the
		// tail, which puts it back where it was popped from.
		limit := req.GetMaxBytes()
		if limit == 0 || limit > wire.MaxMessageBytes/2 {
			limit = wire.MaxMessageBytes / 2
		}
		var size uint64
		keep := len(ds)
		for i, d := range ds {
			size += uint64(len(d.Record)) + 16
			if i > 0 && size > limit {
				keep = i
				break
			}
		}
		if keep < len(ds) {
			ids := make([]uint64, 0, len(ds)-keep)
			for _, d := range ds[keep:] {
				ids = append(ids, d.ID)
			}
			if err := qh.q.Release(ids); err != nil {
				return nil, statusErr(fmt.Errorf("release: %w", err))
			}
			ds = ds[:keep]
		}
		total := 0
		for _, d := range ds {
			total += len(d.Record) + binary.MaxVarintLen32
		}
		resp.Records = make([]byte, 0, total)
		resp.Ids = make([]uint64, len(ds))
		resp.Redelivered = make([]bool, len(ds))
		for i, d := range ds {
			resp.Records = wire.AppendRecord(resp.Records, d.Record)
			resp.Ids[i] = d.ID
			resp.Redelivered[i] = d.Redelivered
		}
	}
	resp.State = stateToProto(qh.q.Len())
	return resp, nil
}

func (s *server) Len(_ context.Context, req *pluginpb.LenRequest) (*pluginpb.QueueState, error) {
	qh, err := s.queue(req.GetHandle())
	if err != nil {
		return nil, err
	}
	defer qh.mu.Unlock()
	return stateToProto(qh.q.Len()), nil
}

func (s *server) Flush(_ context.Context, req *pluginpb.FlushRequest) (*pluginpb.QueueState, error) {
	qh, err := s.queue(req.GetHandle())
	if err != nil {
		return nil, err
	}
	defer qh.mu.Unlock()
	if err := applyWrites(qh.q, req.GetWrites()); err != nil {
		return nil, statusErr(err)
	}
	if f, ok := qh.q.(Flusher); ok {
		if err := f.Flush(); err != nil {
			return nil, statusErr(fmt.Errorf("flush: %w", err))
		}
	}
	return stateToProto(qh.q.Len()), nil
}

func (s *server) Close(_ context.Context, req *pluginpb.CloseQueueRequest) (*pluginpb.CloseQueueResponse, error) {
	qh, err := s.queue(req.GetHandle())
	if err != nil {
		return nil, err
	}
	werr := applyWrites(qh.q, req.GetWrites())
	if werr == nil {
		if f, ok := qh.q.(Flusher); ok {
			werr = f.Flush()
		}
	}
	cerr := qh.q.Close()
	qh.closed = true
	qh.mu.Unlock()
	s.mu.Lock()
	delete(s.queues, req.GetHandle())
	delete(s.keys, qh.id)
	s.mu.Unlock()
	if err := errors.Join(werr, cerr); err != nil {
		return nil, statusErr(fmt.Errorf("close: %w", err))
	}
	return &pluginpb.CloseQueueResponse{}, nil
}

// DupeFilterService. Its Open and Close share names with QueueService's, so
// they live on a small adapter type.
type dupeServer struct {
	pluginpb.UnimplementedDupeFilterServiceServer
	s *server
}

func (d dupeServer) Open(_ context.Context, req *pluginpb.OpenDupeFilterRequest) (*pluginpb.OpenDupeFilterResponse, error) {
	s := d.s
	name := req.GetName()
	f, ok := s.p.DupeFilters[name]
	if !ok {
		return nil, statusErr(fmt.Errorf("%w: no dupefilter named %q", ErrUnknownComponent, name))
	}
	s.mu.Lock()
	closed, log := s.closed, s.log
	s.mu.Unlock()
	if closed {
		return nil, status.Error(codes.Unavailable, "sdk: plugin is shutting down")
	}
	df, err := f.New(DupeFilterOptions{Name: name, JobDir: req.GetJobDir(), Debug: req.GetDebug(), Logger: log.With().Str("component", name).Logger()})
	if err == nil && df == nil {
		err = fmt.Errorf("sdk: %s: New returned a nil dupefilter", name)
	}
	if err != nil {
		return nil, statusErr(fmt.Errorf("open %s: %w", name, err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	h := s.next
	s.dupes[h] = &dupeHandle{f: df}
	return &pluginpb.OpenDupeFilterResponse{Handle: h}, nil
}

func (d dupeServer) dupe(h uint64) (*dupeHandle, error) {
	d.s.mu.Lock()
	dh := d.s.dupes[h]
	d.s.mu.Unlock()
	if dh == nil {
		return nil, statusErr(fmt.Errorf("%w: dupefilter %d", ErrUnknownHandle, h))
	}
	dh.mu.Lock()
	if dh.closed {
		dh.mu.Unlock()
		return nil, statusErr(fmt.Errorf("%w: dupefilter %d is closed", ErrUnknownHandle, h))
	}
	return dh, nil
}

func (d dupeServer) Seen(_ context.Context, req *pluginpb.SeenRequest) (*pluginpb.SeenResponse, error) {
	dh, err := d.dupe(req.GetHandle())
	if err != nil {
		return nil, err
	}
	defer dh.mu.Unlock()
	seen, err := dh.f.Seen(SeenRequest{Fingerprint: req.GetFingerprint(), URL: req.GetUrl(), Method: req.GetMethod()})
	if err != nil {
		return nil, statusErr(fmt.Errorf("seen: %w", err))
	}
	return &pluginpb.SeenResponse{Seen: seen}, nil
}

func (d dupeServer) Close(_ context.Context, req *pluginpb.CloseDupeFilterRequest) (*pluginpb.CloseDupeFilterResponse, error) {
	dh, err := d.dupe(req.GetHandle())
	if err != nil {
		return nil, err
	}
	err = dh.f.Close(req.GetReason())
	dh.closed = true
	dh.mu.Unlock()
	d.s.mu.Lock()
	delete(d.s.dupes, req.GetHandle())
	d.s.mu.Unlock()
	if err != nil {
		return nil, statusErr(fmt.Errorf("close: %w", err))
	}
	return &pluginpb.CloseDupeFilterResponse{}, nil
}

// closeAll closes every open queue and dupefilter, for a plugin shutting
// down, and refuses new opens.
func (s *server) closeAll(reason string) error {
	s.mu.Lock()
	s.closed = true
	qs := s.queues
	ds := s.dupes
	ss := s.stores
	s.queues = map[uint64]*queueHandle{}
	s.dupes = map[uint64]*dupeHandle{}
	s.stores = map[uint64]*storeHandle{}
	s.mu.Unlock()
	var errs []error
	for _, sh := range ss {
		sh.mu.Lock()
		if !sh.closed {
			errs = append(errs, sh.st.Flush(), sh.st.Close())
			sh.closed = true
		}
		sh.mu.Unlock()
	}
	for _, qh := range qs {
		qh.mu.Lock()
		if !qh.closed {
			if f, ok := qh.q.(Flusher); ok {
				errs = append(errs, f.Flush())
			}
			errs = append(errs, qh.q.Close())
			qh.closed = true
		}
		qh.mu.Unlock()
	}
	for _, dh := range ds {
		dh.mu.Lock()
		if !dh.closed {
			errs = append(errs, dh.f.Close(reason))
			dh.closed = true
		}
		dh.mu.Unlock()
	}
	return errors.Join(errs...)
}
