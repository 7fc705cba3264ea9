package sdk

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	storepb "github.com/frontier-go/frontier/plugins/proto/v2"
	"github.com/frontier-go/frontier/plugins/wire"
)

// storeHandle is an open store.
type storeHandle struct {
	mu     sync.Mutex
	st     Store
	id     string // name + "\x00" + key
	closed bool
}

// storeServer serves protocol version 2's StoreService. Its Open and Close
// share names with QueueService's, so it is a type of its own.
type storeServer struct {
	storepb.UnimplementedStoreServiceServer
	s *server
}

func (d storeServer) Open(_ context.Context, req *storepb.OpenStoreRequest) (*storepb.OpenStoreResponse, error) {
	s := d.s
	name := req.GetName()
	f, ok := s.p.Stores[name]
	if !ok {
		return nil, statusErr(fmt.Errorf("%w: no store named %q", ErrUnknownComponent, name))
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

	st, err := f.New(StoreOptions{Name: name, Key: req.GetKey(), Logger: log.With().Str("component", name).Logger()})
	if err == nil && st == nil {
		err = fmt.Errorf("sdk: %s: New returned a nil store", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.keys, id)
		return nil, statusErr(fmt.Errorf("open store %s with key %q: %w", name, req.GetKey(), err))
	}
	s.next++
	h := s.next
	s.keys[id] = h
	s.stores[h] = &storeHandle{st: st, id: id}
	resp := &storepb.OpenStoreResponse{Handle: h}
	for b, state := range st.Buckets() {
		resp.Buckets = append(resp.Buckets, &storepb.BucketState{Bucket: b, Pending: uint64(max(state.Pending, 0)), InFlight: uint64(max(state.InFlight, 0))})
	}
	return resp, nil
}

// store finds an open store and locks it; the caller unlocks.
func (d storeServer) store(h uint64) (*storeHandle, error) {
	d.s.mu.Lock()
	sh := d.s.stores[h]
	d.s.mu.Unlock()
	if sh == nil {
		return nil, statusErr(fmt.Errorf("%w: store %d", ErrUnknownHandle, h))
	}
	sh.mu.Lock()
	if sh.closed {
		sh.mu.Unlock()
		return nil, statusErr(fmt.Errorf("%w: store %d is closed", ErrUnknownHandle, h))
	}
	return sh, nil
}

// writeOps applies the writes of ops in one Store.Write.
func writeOps(st Store, ops []*storepb.BucketOps) error {
	ws, err := bucketWrites(ops)
	if err != nil || len(ws) == 0 {
		return err
	}
	return st.Write(ws)
}

// bucketWrites decodes the writes of ops.
func bucketWrites(ops []*storepb.BucketOps) ([]BucketWrite, error) {
	var ws []BucketWrite
	for _, op := range ops {
		if len(op.GetAck())+len(op.GetRelease())+len(op.GetPush()) == 0 {
			continue
		}
		w := BucketWrite{Bucket: op.GetBucket(), Ack: op.GetAck(), Release: op.GetRelease()}
		if len(op.GetPush()) > 0 {
			recs, err := wire.SplitRecords(op.GetPush(), -1)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "sdk: bucket %q: %v", op.GetBucket(), err)
			}
			w.Push = make([]Entry, len(recs))
			for i, r := range recs {
				w.Push[i].Record = r
			}
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// popRequests lists what ops ask to pop, and the index of each op asking.
func popRequests(ops []*storepb.BucketOps) (reqs []PopRequest, at []int) {
	for i, op := range ops {
		if n := int(min(op.GetPop(), 1<<20)); n > 0 {
			reqs = append(reqs, PopRequest{Bucket: op.GetBucket(), Max: n})
			at = append(at, i)
		}
	}
	return reqs, at
}

// syncOps applies the writes of ops and pops what they ask for: in one
// Syncer.Sync when the store is a Syncer, else Write then popAll. The
// result has one entry per op (nil for no pop).
func syncOps(st Store, ops []*storepb.BucketOps) ([][]Delivery, error) {
	sy, ok := st.(Syncer)
	if !ok {
		if err := writeOps(st, ops); err != nil {
			return nil, fmt.Errorf("write: %w", err)
		}
		return popAll(st, ops)
	}
	ws, err := bucketWrites(ops)
	if err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	reqs, at := popRequests(ops)
	out := make([][]Delivery, len(ops))
	if len(ws) == 0 && len(reqs) == 0 {
		return out, nil
	}
	dss, err := sy.Sync(ws, reqs)
	if err != nil {
		return nil, fmt.Errorf("sync %d buckets: %w", len(ops), err)
	}
	if len(dss) != len(reqs) {
		return nil, status.Errorf(codes.Internal, "sdk: Sync popping %d buckets returned %d", len(reqs), len(dss))
	}
	for j, i := range at {
		out[i] = dss[j]
	}
	return out, nil
}

// popAll pops what every op asks for: with one PopMany when the store is a
// BatchPopper. The result has one entry per op (nil for no pop).
func popAll(st Store, ops []*storepb.BucketOps) ([][]Delivery, error) {
	out := make([][]Delivery, len(ops))
	reqs, at := popRequests(ops)
	if len(reqs) == 0 {
		return out, nil
	}
	if bp, ok := st.(BatchPopper); ok && len(reqs) > 1 {
		dss, err := bp.PopMany(reqs)
		if err != nil {
			return nil, fmt.Errorf("pop %d buckets: %w", len(reqs), err)
		}
		if len(dss) != len(reqs) {
			return nil, status.Errorf(codes.Internal, "sdk: PopMany of %d buckets returned %d", len(reqs), len(dss))
		}
		for j, i := range at {
			out[i] = dss[j]
		}
		return out, nil
	}
	for j, i := range at {
		ds, err := st.Pop(reqs[j].Bucket, reqs[j].Max)
		if err != nil {
			return nil, fmt.Errorf("pop bucket %q: %w", reqs[j].Bucket, err)
		}
		out[i] = ds
	}
	return out, nil
}

// popOp builds op's reply from ds, popped for it.
func popOp(st Store, op *storepb.BucketOps, ds []Delivery) (*storepb.BucketReply, error) {
	b := op.GetBucket()
	r := &storepb.BucketReply{Bucket: b}
	if n := int(min(op.GetPop(), 1<<20)); n > 0 {
		if len(ds) > n {
			return nil, status.Errorf(codes.Internal, "sdk: Pop(%q, %d) returned %d entries", b, n, len(ds))
		}
		keep := keepUnder(ds, op.GetPopMaxBytes())
		if keep < len(ds) {
			ids := make([]uint64, 0, len(ds)-keep)
			for _, d := range ds[keep:] {
				ids = append(ids, d.ID)
			}
			if err := st.Write([]BucketWrite{{Bucket: b, Release: ids}}); err != nil {
				return nil, fmt.Errorf("release bucket %q: %w", b, err)
			}
			ds = ds[:keep]
		}
		total := 0
		for _, d := range ds {
			total += len(d.Record) + binary.MaxVarintLen32
		}
		r.Records = make([]byte, 0, total)
		r.Ids = make([]uint64, len(ds))
		r.Redelivered = make([]bool, len(ds))
		for i, d := range ds {
			r.Records = wire.AppendRecord(r.Records, d.Record)
			r.Ids[i] = d.ID
			r.Redelivered[i] = d.Redelivered
		}
	}
	state := st.Len(b)
	r.Pending, r.InFlight = uint64(max(state.Pending, 0)), uint64(max(state.InFlight, 0))
	return r, nil
}

// keepUnder returns how many of ds fit in limit bytes (at least one; the
// gRPC message limit when limit is 0).
func keepUnder(ds []Delivery, limit uint64) int {
	if limit == 0 || limit > wire.MaxMessageBytes/2 {
		limit = wire.MaxMessageBytes / 2
	}
	var size uint64
	for i, d := range ds {
		size += uint64(len(d.Record)) + 16
		if i > 0 && size > limit {
			return i
		}
	}
	return len(ds)
}

func (d storeServer) Sync(_ context.Context, req *storepb.SyncRequest) (*storepb.SyncResponse, error) {
	sh, err := d.store(req.GetHandle())
	if err != nil {
		return nil, err
	}
	defer sh.mu.Unlock()
	popped, err := syncOps(sh.st, req.GetOps())
	if err != nil {
		return nil, statusErr(err)
	}
	resp := &storepb.SyncResponse{Buckets: make([]*storepb.BucketReply, len(req.GetOps()))}
	for i, op := range req.GetOps() {
		r, err := popOp(sh.st, op, popped[i])
		if err != nil {
			return nil, statusErr(err)
		}
		resp.Buckets[i] = r
	}
	if req.GetDurable() {
		if err := sh.st.Flush(); err != nil {
			return nil, statusErr(fmt.Errorf("flush: %w", err))
		}
	}
	return resp, nil
}

func (d storeServer) Close(_ context.Context, req *storepb.CloseStoreRequest) (*storepb.CloseStoreResponse, error) {
	sh, err := d.store(req.GetHandle())
	if err != nil {
		return nil, err
	}
	werr := writeOps(sh.st, req.GetOps())
	if werr == nil {
		werr = sh.st.Flush()
	}
	cerr := sh.st.Close()
	sh.closed = true
	sh.mu.Unlock()
	d.s.mu.Lock()
	delete(d.s.stores, req.GetHandle())
	delete(d.s.keys, sh.id)
	d.s.mu.Unlock()
	if err := errors.Join(werr, cerr); err != nil {
		return nil, statusErr(fmt.Errorf("close store: %w", err))
	}
	return &storepb.CloseStoreResponse{}, nil
}
