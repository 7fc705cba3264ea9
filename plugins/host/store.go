package host

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/frontier-go/frontier/framework"
	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
	storepb "github.com/frontier-go/frontier/plugins/proto/v2"
	"github.com/frontier-go/frontier/plugins/wire"
)

// store is the host's side of a protocol version 2 store: all the buckets
// of one job for one queue component of one plugin, served over batched
// Sync calls that name each bucket. It keeps the guarantees of the version 1
// queue (queue.go) bucket by bucket, and shares the round trips among the
// buckets:
//
//   - Pushes and acknowledgements are buffered per bucket; once batch_size
//     of them are buffered across the store, one Sync sends them all.
//   - A bucket's pops are prefetched (16, doubling up to batch_size, as in
//     version 1); the Sync that fetches them also carries every buffered
//     write of the store, and prefetches for up to prefetchPeers other
//     buckets whose prefetch is empty (16 entries each), so that draining thousands of
//     buckets takes a fraction as many round trips.
//   - Flush of any bucket makes the whole store durable in one Sync; the
//     buckets flushed after it have nothing left to send. Close of a bucket
//     makes its own writes durable (one Sync when it has any); the prefetch
//     it releases travels with the next Sync, or with the store's Close
//     when the last bucket closes. Until then it is in flight in the
//     plugin, which hands it out again if the host dies.
//   - A request is never handed out from a push buffer, and Len is exact:
//     the plugin's pending count from its last reply, plus the buffered
//     pushes, plus the prefetch.
//
// One mutex guards the store and its buckets: the scheduler calls them from
// one goroutine.
type store struct {
	p        *process
	cl       storepb.StoreServiceClient
	name     string
	key      string // the job directory
	id       string // name + "\x00" + key, in process.stores
	handle   uint64
	order    pluginpb.Order
	spider   *framework.Spider
	batch    int
	maxBytes int
	peers    int // prefetchPeers; tests lower it

	mu        sync.Mutex
	buckets   map[string]*bucket // open buckets
	counts    map[string]int     // pending counts of buckets not open
	dirty     []*bucket          // buckets (open or closed) with buffered writes
	buffered  int                // buffered pushes and acknowledgements
	undurable bool               // writes reached the plugin since the last durable Sync
	err       error              // sticky: the plugin failed
	closed    bool

	// The background Sync, if any (a full batch of writes): its reply
	// arrives on out; outSent counts the pushes it carries per bucket.
	out       chan syncReply
	outOps    []*storepb.BucketOps
	outSent   []sent
	outWrites int
}

// prefetchPeers is how many other buckets a pop's Sync prefetches for. The
// downloader-aware queue takes buckets in turn, so a refill that serves
// more of them saves round trips: 256 instead of 64 took 13-14% off the
// example plugin's drain of 100k and of 1M requests over the bench's 1,000
// buckets, and 512 instead of 256 another 10% at 100k and 3% at 1M. The
// host holds at most 16 entries of each peer, in flight in the plugin.
const prefetchPeers = 512

// bucket is one bucket of a store: a framework queue.
type bucket struct {
	s        *store
	key      string
	pending  int    // the plugin's pending count, from its last reply
	pushRecs []byte // buffered pushes (wire.AppendRecord)
	pushN    int
	outPush  int // pushes in the background Sync, not yet in pending
	acks     []uint64
	release  []uint64
	dirty    bool // in s.dirty
	prefetch []delivery
	head     *framework.Request
	handed   map[uint64]struct{}
	fetch    int // size of the next prefetch
	since    int // entries pushed to the plugin after the prefetch was taken
	scratch  []byte
	closed   bool
}

var (
	_ framework.Queue   = (*bucket)(nil)
	_ framework.Peeker  = (*bucket)(nil)
	_ framework.Batcher = (*bucket)(nil)
	_ framework.Acker   = (*bucket)(nil)
	_ framework.Flusher = (*bucket)(nil)
)

// storeBucket reports where the queue with key lives when name can be a
// bucket of a version 2 store: the store's key (the job directory) and the
// bucket's key relative to it. ok is false when the version 1 path applies:
// the plugin speaks version 1 or does not serve name as a store, there is
// no job directory, or key is outside it.
func storeBucket(clients *wire.Clients, desc *pluginpb.DescribeResponse, name string, cfg framework.QueueConfig) (storeKey, bucketKey string, ok bool) {
	if clients.Version < wire.ProtocolV2 || clients.Store == nil || cfg.Job == nil || cfg.Job.Dir == "" {
		return "", "", false
	}
	keyed := false
	for _, c := range desc.GetComponents() {
		if c.GetName() == name && c.GetKind() == pluginpb.Kind_KIND_QUEUE && c.GetKeyedBuckets() {
			keyed = true
		}
	}
	if !keyed {
		return "", "", false
	}
	rel, err := filepath.Rel(cfg.Job.Dir, cfg.Key)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", "", false
	}
	return cfg.Job.Dir, filepath.ToSlash(rel), true
}

// openQueueOrBucket opens the queue name under cfg.Key: a bucket of the
// job's store when the plugin speaks protocol version 2 and serves name as
// a store, a version 1 queue otherwise.
func openQueueOrBucket(ctx context.Context, p *process, c *framework.Crawler, name string, cfg framework.QueueConfig) (framework.Queue, error) {
	clients, err := p.ensure(ctx, c.Logger)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	desc := p.desc
	p.mu.Unlock()
	storeKey, bucketKey, ok := storeBucket(clients, desc, name, cfg)
	if !ok {
		return openQueue(ctx, p, c, name, cfg.Key, nil)
	}
	s, err := p.store(clients, desc, c, name, storeKey)
	if err != nil {
		return nil, err
	}
	return s.open(bucketKey)
}

// store returns the open store of name under key, opening it if needed.
func (p *process) store(clients *wire.Clients, desc *pluginpb.DescribeResponse, c *framework.Crawler, name, key string) (*store, error) {
	id := name + "\x00" + key
	p.mu.Lock()
	if s := p.stores[id]; s != nil {
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()
	resp, err := call(p, "Open store "+name, clients.Store.Open, &storepb.OpenStoreRequest{Name: name, Key: key})
	if err != nil {
		return nil, err
	}
	order := pluginpb.Order_ORDER_FIFO
	for _, comp := range desc.GetComponents() {
		if comp.GetName() == name {
			order = comp.GetOrder()
		}
	}
	s := &store{
		p: p, cl: clients.Store, name: name, key: key, id: id,
		handle: resp.GetHandle(), order: order, spider: c.Spider,
		batch: p.decl.BatchSize, maxBytes: DefaultBatchBytes,
		buckets: map[string]*bucket{}, counts: map[string]int{}, peers: prefetchPeers,
	}
	for _, b := range resp.GetBuckets() {
		s.counts[b.GetBucket()] = int(b.GetPending())
	}
	p.mu.Lock()
	if p.stores == nil {
		p.stores = map[string]*store{}
	}
	p.stores[id] = s
	p.mu.Unlock()
	p.track(s)
	c.Logger.Debug().Str("plugin", p.decl.Name).Str("component", name).Str("key", key).
		Int("buckets", len(resp.GetBuckets())).Msg("plugin store opened")
	return s, nil
}

func (s *store) op(method string) string { return method + " " + s.name }

// usable reports the error a call must return before doing anything.
func (s *store) usable(b *bucket) error {
	if s.err != nil {
		return s.err
	}
	if s.closed || (b != nil && b.closed) {
		return fmt.Errorf("plugin queue %s: %w", s.name, framework.ErrClosed)
	}
	return nil
}

// open opens the bucket with key.
func (s *store) open(key string) (*bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(nil); err != nil {
		return nil, err
	}
	if err := s.join(); err != nil {
		return nil, err
	}
	if _, dup := s.buckets[key]; dup {
		return nil, &PluginError{Plugin: s.p.decl.Name, Op: s.op("Open"), Err: fmt.Errorf("%w: bucket %q of %s is already open", ErrCall, key, s.key)}
	}
	for _, d := range s.dirty {
		if d.key == key {
			// A closed bucket of that key still has writes to send: send
			// them, so that the count below is the plugin's.
			if err := s.sync(nil, false); err != nil {
				return nil, err
			}
			break
		}
	}
	b := &bucket{s: s, key: key, pending: s.counts[key], handed: map[uint64]struct{}{}, fetch: min(s.batch, initialFetch)}
	delete(s.counts, key)
	s.buckets[key] = b
	return b, nil
}

// fail makes err sticky: after a failed call the plugin's state is unknown.
func (s *store) fail(err error) error {
	s.err = err
	return err
}

// markDirty lists b among the buckets with buffered writes.
func (s *store) markDirty(b *bucket) {
	if !b.dirty {
		b.dirty = true
		s.dirty = append(s.dirty, b)
	}
}

// takeOps moves b's buffered writes into a BucketOps.
func (b *bucket) takeOps() *storepb.BucketOps {
	op := &storepb.BucketOps{Bucket: b.key, Ack: b.acks, Release: b.release, Push: b.pushRecs}
	if len(b.prefetch) > 0 {
		b.since += b.pushN
	}
	b.acks, b.release, b.pushRecs, b.pushN = nil, nil, nil, 0
	b.dirty = false
	return op
}

// popReq asks a Sync for up to max entries of b.
type popReq struct {
	b   *bucket
	max int
}

// sent is one BucketOps of a Sync: its bucket and the pushes it carries.
type sent struct {
	b *bucket
	n int
}

// syncReply is the reply of a background Sync.
type syncReply struct {
	resp *storepb.SyncResponse
	err  error
}

// sync sends every buffered write of the store and the pops asked for by
// pops, in one round trip, and applies the reply; durable makes everything
// durable. The first pop request is the bucket that needs its head; peers
// are prefetched alongside when it is a refill (see prefetchPeers).
func (s *store) sync(pops []popReq, durable bool) error {
	return s.send(pops, durable, false)
}

// send is sync; with background, a Sync that only writes runs while the
// caller goes on, and the next call that needs the plugin joins it first.
func (s *store) send(pops []popReq, durable, background bool) error {
	if err := s.join(); err != nil {
		return err
	}
	ops := make([]*storepb.BucketOps, 0, len(s.dirty)+len(pops))
	bs := make([]sent, 0, len(s.dirty)+len(pops))
	byBucket := make(map[*bucket]*storepb.BucketOps, len(s.dirty))
	writes := 0
	for _, b := range s.dirty {
		n := b.pushN
		op := b.takeOps()
		writes += len(op.Ack) + len(op.Release) + n
		ops = append(ops, op)
		bs = append(bs, sent{b: b, n: n})
		byBucket[b] = op
	}
	s.dirty, s.buffered = s.dirty[:0], 0
	popOps := make([]*storepb.BucketOps, len(pops))
	for i, pr := range pops {
		op := byBucket[pr.b]
		if op == nil {
			op = &storepb.BucketOps{Bucket: pr.b.key}
			ops = append(ops, op)
			bs = append(bs, sent{b: pr.b})
			byBucket[pr.b] = op
		}
		op.Pop, op.PopMaxBytes = uint32(pr.max), uint64(s.maxBytes)
		popOps[i] = op
	}
	if len(ops) == 0 && (!durable || !s.undurable) {
		return nil
	}
	req := &storepb.SyncRequest{Handle: s.handle, Ops: ops, Durable: durable}
	if background && len(pops) == 0 && !durable {
		for _, x := range bs {
			x.b.outPush += x.n
		}
		ch := make(chan syncReply, 1)
		go func() {
			resp, err := call(s.p, s.op("Sync"), s.cl.Sync, req)
			ch <- syncReply{resp: resp, err: err}
		}()
		s.out, s.outOps, s.outSent, s.outWrites = ch, ops, bs, writes
		return nil
	}
	resp, err := call(s.p, s.op("Sync"), s.cl.Sync, req)
	return s.apply(ops, pops, popOps, resp, err, durable, writes)
}

// join waits for the background Sync, if any, and applies its reply.
func (s *store) join() error {
	if s.out == nil {
		return nil
	}
	r := <-s.out
	ops, bs, writes := s.outOps, s.outSent, s.outWrites
	s.out, s.outOps, s.outSent, s.outWrites = nil, nil, nil, 0
	for _, x := range bs {
		x.b.outPush -= x.n
	}
	return s.apply(ops, nil, nil, r.resp, r.err, false, writes)
}

// apply applies the reply of a Sync of ops: the buckets' counts, the pops.
func (s *store) apply(ops []*storepb.BucketOps, pops []popReq, popOps []*storepb.BucketOps, resp *storepb.SyncResponse, err error, durable bool, writes int) error {
	if err != nil {
		return s.fail(err)
	}
	if len(resp.GetBuckets()) != len(ops) {
		return s.fail(s.replyErr("Sync", fmt.Errorf("%d bucket operations, %d replies", len(ops), len(resp.GetBuckets()))))
	}
	replies := make(map[*storepb.BucketOps]*storepb.BucketReply, len(ops))
	for i, op := range ops {
		r := resp.GetBuckets()[i]
		if r.GetBucket() != op.GetBucket() {
			return s.fail(s.replyErr("Sync", fmt.Errorf("reply %d is for bucket %q, not %q", i, r.GetBucket(), op.GetBucket())))
		}
		replies[op] = r
		if b := s.buckets[op.GetBucket()]; b != nil {
			b.pending = int(r.GetPending())
		} else {
			s.counts[op.GetBucket()] = int(r.GetPending())
		}
	}
	for i, pr := range pops {
		r := replies[popOps[i]]
		ds, err := parseBucketReply(r, pr.max)
		if err != nil {
			return s.fail(s.replyErr("Sync", fmt.Errorf("bucket %q: %w", pr.b.key, err)))
		}
		pr.b.addPrefetch(ds)
	}
	if durable {
		s.undurable = false
	} else if writes > 0 {
		s.undurable = true
	}
	return nil
}

func (s *store) replyErr(method string, err error) error {
	return &PluginError{Plugin: s.p.decl.Name, Op: s.op(method), Err: fmt.Errorf("%w: %w", ErrCall, err)}
}

// parseBucketReply checks and splits the pops of a reply of at most max
// entries.
func parseBucketReply(r *storepb.BucketReply, max int) ([]delivery, error) {
	ids, red := r.GetIds(), r.GetRedelivered()
	if len(ids) > max {
		return nil, fmt.Errorf("asked for %d entries, got %d", max, len(ids))
	}
	if len(red) != 0 && len(red) != len(ids) {
		return nil, fmt.Errorf("%d ids but %d redelivered flags", len(ids), len(red))
	}
	ds := make([]delivery, len(ids))
	batch := r.GetRecords()
	for i := range ds {
		rec, rest, err := wire.NextRecord(batch)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		ds[i], batch = delivery{id: ids[i], rec: rec, redelivered: len(red) > 0 && red[i]}, rest
	}
	if len(batch) > 0 {
		return nil, fmt.Errorf("%w: more than %d records", wire.ErrBadBatch, len(ids))
	}
	return ds, nil
}

// addPrefetch appends ds to b's prefetch.
func (b *bucket) addPrefetch(ds []delivery) {
	if len(b.prefetch) == 0 {
		b.prefetch, b.head, b.since = ds, nil, 0
		return
	}
	b.prefetch = append(b.prefetch, ds...)
}

// grow returns the prefetch size to use now and doubles the next one.
func (b *bucket) grow() int {
	n := b.fetch
	b.fetch = min(b.s.batch, b.fetch*2)
	return n
}

// refill fetches b's prefetch, and prefetches for peers: open buckets with
// pending entries and an empty prefetch, as many as prefetchPeers.
func (s *store) refill(b *bucket) error {
	pops := []popReq{{b: b, max: b.grow()}}
	for _, o := range s.buckets {
		if len(pops) > s.peers {
			break
		}
		if o != b && len(o.prefetch) == 0 && o.pending > 0 && (s.order == pluginpb.Order_ORDER_FIFO || o.pushN == 0) {
			// A peer may not be popped soon: a small prefetch, which
			// keeps the host's memory bounded (prefetchPeers x 16).
			pops = append(pops, popReq{b: o, max: min(o.fetch, initialFetch)})
		}
	}
	return s.sync(pops, false)
}

// ensureHead makes b.prefetch[0] the head of the bucket, or leaves the
// prefetch empty when the bucket is empty.
func (b *bucket) ensureHead() error {
	s := b.s
	if len(b.prefetch) == 0 {
		if b.pending+b.pushN+b.outPush == 0 {
			return nil
		}
		return s.refill(b)
	}
	if s.order != pluginpb.Order_ORDER_LIFO {
		return nil // pushed later, popped after the prefetch
	}
	newer := b.since + b.pushN
	if newer == 0 {
		return nil
	}
	// The newer entries are the bucket's top once its buffer is pushed: pop
	// exactly those, in front of the prefetch.
	rest := b.prefetch
	b.prefetch, b.head = nil, nil
	if err := s.sync([]popReq{{b: b, max: newer}}, false); err != nil {
		return err
	}
	b.prefetch = append(b.prefetch, rest...)
	b.since = 0
	return nil
}

// decodeHead decodes prefetch[0] into b.head.
func (b *bucket) decodeHead() error {
	if b.head != nil {
		return nil
	}
	d := b.prefetch[0]
	r, err := framework.DecodeRequest(d.rec, b.s.spider)
	if err != nil {
		// The entry stays in flight in the plugin (it comes back on reopen,
		// for inspection); it is not handed out.
		b.prefetch = b.prefetch[1:]
		return &PluginError{Plugin: b.s.p.decl.Name, Op: b.s.op("Sync"), Err: fmt.Errorf("bucket %q entry %d: %w", b.key, d.id, err)}
	}
	r.Delivery = d.id
	r.Redelivered = d.redelivered
	b.head = r
	return nil
}

// Push buffers r; a store holding batch_size buffered writes sends them
// all. An unserializable request is refused (ErrUnserializable) and the
// bucket is unchanged.
func (b *bucket) Push(r *framework.Request) error {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(b); err != nil {
		return err
	}
	rec, err := framework.AppendRequest(b.scratch[:0], r, s.spider)
	if err != nil {
		return err
	}
	b.scratch = rec
	b.add(rec)
	return s.maybeSend()
}

func (b *bucket) add(rec []byte) {
	b.pushRecs = wire.AppendRecord(b.pushRecs, rec)
	b.pushN++
	b.s.buffered++
	b.s.markDirty(b)
}

// maybeSend sends the buffered writes once there are batch_size of them.
func (s *store) maybeSend() error {
	if s.buffered >= s.batch {
		return s.send(nil, false, true)
	}
	return nil
}

// PushBatch buffers rs; if one of them cannot be encoded none is pushed.
func (b *bucket) PushBatch(rs []*framework.Request) error {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(b); err != nil {
		return err
	}
	recs := make([][]byte, len(rs))
	for i, r := range rs {
		rec, err := framework.EncodeRequest(r, s.spider)
		if err != nil {
			return err
		}
		recs[i] = rec
	}
	for _, rec := range recs {
		b.add(rec)
	}
	return s.maybeSend()
}

// Pop hands out the head of the bucket, in flight until Ack, or (nil, nil)
// when it is empty.
func (b *bucket) Pop() (*framework.Request, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.pop()
}

func (b *bucket) pop() (*framework.Request, error) {
	if err := b.s.usable(b); err != nil {
		return nil, err
	}
	if err := b.ensureHead(); err != nil {
		return nil, err
	}
	if len(b.prefetch) == 0 {
		return nil, nil
	}
	if err := b.decodeHead(); err != nil {
		return nil, err
	}
	r := b.head
	b.head = nil
	b.prefetch[0] = delivery{}
	b.prefetch = b.prefetch[1:]
	b.handed[r.Delivery] = struct{}{}
	return r, nil
}

// PopBatch pops up to max requests.
func (b *bucket) PopBatch(max int) ([]*framework.Request, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	var out []*framework.Request
	for len(out) < max {
		r, err := b.pop()
		if err != nil {
			return out, err
		}
		if r == nil {
			break
		}
		out = append(out, r)
	}
	return out, nil
}

// Peek returns what Pop would return next, without handing it out.
func (b *bucket) Peek() (*framework.Request, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if err := b.s.usable(b); err != nil {
		return nil, err
	}
	if err := b.ensureHead(); err != nil {
		return nil, err
	}
	if len(b.prefetch) == 0 {
		return nil, nil
	}
	if err := b.decodeHead(); err != nil {
		return nil, err
	}
	return b.head, nil
}

// Len returns the number of pending requests (not those in flight).
func (b *bucket) Len() int {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.pending + b.outPush + b.pushN + len(b.prefetch)
}

// Ack reports r finished; the plugin forgets it with the next Sync.
func (b *bucket) Ack(r *framework.Request) error {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(b); err != nil {
		return err
	}
	if _, ok := b.handed[r.Delivery]; !ok {
		return fmt.Errorf("plugin queue %s bucket %s: %w: %s", s.name, b.key, framework.ErrNotInFlight, r)
	}
	delete(b.handed, r.Delivery)
	b.acks = append(b.acks, r.Delivery)
	s.buffered++
	s.markDirty(b)
	return s.maybeSend()
}

// InFlight returns the number of requests handed out and not acknowledged.
func (b *bucket) InFlight() int {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return len(b.handed)
}

// Flush makes every write of the store durable in one Sync (nothing when
// an earlier bucket's Flush already did).
func (b *bucket) Flush() error {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(b); err != nil {
		return err
	}
	if len(s.dirty) == 0 && !s.undurable && s.out == nil {
		return nil
	}
	return s.sync(nil, true)
}

// Close makes the bucket's writes durable and closes it; its prefetch is
// released with the store's next Sync (or its Close, after the last
// bucket). Requests handed out and not acknowledged stay in flight: they
// are handed out again when the job's store is opened next.
func (b *bucket) Close() error {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.closed {
		return nil
	}
	s.join() // sets s.err on failure
	if s.err != nil {
		b.closed = true
		return s.err
	}
	writes := b.pushN+len(b.acks) > 0
	b.closed = true
	delete(s.buckets, b.key)
	if n := len(b.prefetch); n > 0 {
		b.release = append(b.release, deliveryIDs(b.prefetch)...)
		b.prefetch, b.head = nil, nil
		s.markDirty(b)
	}
	s.counts[b.key] = b.pending + len(b.release) + b.pushN
	var err error
	if writes || s.undurable {
		err = s.sync(nil, true)
	}
	if len(s.buckets) == 0 {
		err = s.close()
	}
	return err
}

// close sends what is left and closes the plugin's store; s.mu is held.
func (s *store) close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.p.untrack(s)
	s.p.mu.Lock()
	if s.p.stores[s.id] == s {
		delete(s.p.stores, s.id)
	}
	s.p.mu.Unlock()
	s.join() // sets s.err on failure
	if s.err != nil {
		return s.err
	}
	var ops []*storepb.BucketOps
	for _, b := range s.buckets {
		if len(b.prefetch) > 0 {
			b.release = append(b.release, deliveryIDs(b.prefetch)...)
			b.prefetch, b.head = nil, nil
			s.markDirty(b)
		}
		b.closed = true
	}
	for _, b := range s.dirty {
		ops = append(ops, b.takeOps())
	}
	s.dirty = nil
	if _, err := call(s.p, s.op("Close"), s.cl.Close, &storepb.CloseStoreRequest{Handle: s.handle, Ops: ops}); err != nil {
		return s.fail(err)
	}
	return nil
}

// closeForShutdown closes the store and its buckets when the Manager shuts
// down before the scheduler closed them.
func (s *store) closeForShutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.close(); err != nil && s.p.sink != nil {
		s.p.sink.log.Warn().Err(err).Str("component", s.name).Str("key", s.key).Msg("closing plugin store at shutdown")
	}
}
