package host

import (
	"context"
	"fmt"
	"sync"

	"github.com/frontier-go/frontier/framework"
	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
	"github.com/frontier-go/frontier/plugins/wire"
)

// queue is a plugin queue or priority queue seen from the host. It buffers
// pushes and acknowledgements and prefetches pops in batches, so that a
// round trip moves many requests, while keeping the semantics of a local
// queue:
//
//   - Len is exact: the plugin's pending count from its last reply, plus the
//     buffered pushes, plus the prefetched requests.
//   - Peek returns what Pop returns next. Prefetched requests are the head of
//     the queue; they stay valid across pushes for a FIFO queue (pushes come
//     after them) and a LIFO queue (pushes come before them, and are fetched
//     first); for any other order (priority queues) a push makes the next
//     Pop or Peek release the prefetch back to the plugin and fetch again.
//   - Pushes are sent when a batch is full, and are in the plugin no later
//     than the next Pop or Peek that needs them, Flush or Close. A request is
//     never handed out from the push buffer: it is pushed and popped in the
//     same round trip, so whatever is handed out is in flight in the plugin
//     and comes back after a crash.
//   - Round trips overlap with the caller: a full push batch, and for a FIFO
//     or LIFO queue the next pop batch once the prefetch is down to one
//     batch, are sent in the background, at most one at a time per queue,
//     and waited for (joined) before any call that depends on them. An error of a background
//     round trip is returned by the next call that joins it.
//   - A prefetched request that was not handed out is in flight in the
//     plugin. Close releases it (back to its place, not marked redelivered);
//     if the host dies instead, the plugin redelivers it on reopen, so
//     nothing is lost either way.
//   - Acknowledgements are sent with the next round trip, or at Flush and
//     Close; until then a crash redelivers the request (at-least-once).
//
// Its methods are safe for concurrent use, though the scheduler calls them
// from one goroutine.
// initialFetch is the first prefetch of a FIFO or LIFO queue.
const initialFetch = 16

// rpcReply is the reply of a background round trip.
type rpcReply struct {
	state      *pluginpb.QueueState
	deliveries []delivery
	err        error
}

type queue struct {
	p      *process
	cl     pluginpb.QueueServiceClient
	name   string
	key    string
	handle uint64
	order  pluginpb.Order
	pq     bool
	spider *framework.Spider

	batch    int
	maxBytes int

	mu        sync.Mutex
	pending   int    // the plugin's pending count, from its last reply
	pushRecs  []byte // buffered pushes: a batch of records (wire.AppendRecord)
	pushN     int    // how many
	pushPrio  []int64
	pushSlot  []string
	pushStart []bool
	scratch   []byte // encoding buffer
	// The buffers of the last writes sent, reused for the next ones: a
	// Writes message is not referenced once its round trip is over, and a
	// round trip is always over before the next writes are taken.
	spareRecs  []byte
	spareAcks  []uint64
	sparePrio  []int64
	spareSlot  []string
	spareStart []bool
	acks       []uint64
	prefetch   []delivery          // head first; in flight in the plugin
	head       *framework.Request  // prefetch[0] decoded, for Peek
	handed     map[uint64]struct{} // handed out, not yet acknowledged
	fetch      int                 // size of the next prefetch (slow start, see initialFetch)
	since      int                 // entries pushed to the plugin after the prefetch was taken

	// The background round trip, if any: its reply arrives on out.
	out      chan rpcReply
	outPush  int   // pushes it carries (pending, not yet counted in q.pending)
	outPop   bool  // it pops (for the prefetch)
	pipeline bool  // background round trips allowed
	dirty    bool  // writes reached the plugin since the last Flush
	err      error // sticky: the plugin failed
	closed   bool
}

var (
	_ framework.Queue         = (*queue)(nil)
	_ framework.PriorityQueue = (*queue)(nil)
	_ framework.Peeker        = (*queue)(nil)
	_ framework.Batcher       = (*queue)(nil)
	_ framework.Acker         = (*queue)(nil)
	_ framework.Flusher       = (*queue)(nil)
)

// openQueue starts the plugin if needed and opens name under key; pqc is
// set for priority queues (its Downstream and Start factories are not used:
// the plugin keeps its own buckets; Start != nil becomes separate_start).
func openQueue(ctx context.Context, p *process, c *framework.Crawler, name, key string, pqc *framework.PriorityQueueConfig) (*queue, error) {
	clients, err := p.ensure(ctx, c.Logger)
	if err != nil {
		return nil, err
	}
	req := &pluginpb.OpenQueueRequest{Name: name, Key: key}
	if pqc != nil {
		req.Priority = &pluginpb.PriorityQueueOptions{Persistent: pqc.Job != nil, SeparateStart: pqc.Start != nil}
	}
	resp, err := call(p, "Open "+name, clients.Queue.Open, req)
	if err != nil {
		return nil, err
	}
	q := &queue{
		p:        p,
		cl:       clients.Queue,
		name:     name,
		key:      key,
		handle:   resp.GetHandle(),
		order:    resp.GetOrder(),
		pq:       pqc != nil,
		spider:   c.Spider,
		batch:    p.decl.BatchSize,
		maxBytes: DefaultBatchBytes,
		pending:  int(resp.GetState().GetPending()),
		handed:   map[uint64]struct{}{},
		pipeline: true,
	}
	if q.pq {
		q.order = pluginpb.Order_ORDER_UNSPECIFIED
	}
	// Prefetching starts small and doubles with each batch up to batch_size,
	// so that a queue popped now and then (one of thousands of buckets) holds
	// few requests in the host's memory, and a queue drained in a row moves
	// full batches.
	q.fetch = min(q.batch, initialFetch)
	if q.order == pluginpb.Order_ORDER_UNSPECIFIED {
		q.fetch = 1
	}
	p.track(q)
	return q, nil
}

func (q *queue) op(method string) string { return method + " " + q.name }

// usable reports the error a call must return before doing anything.
func (q *queue) usable() error {
	if q.err != nil {
		return q.err
	}
	if q.closed {
		return fmt.Errorf("plugin queue %s: %w", q.name, framework.ErrClosed)
	}
	return nil
}

// delivery is one popped entry: its record is a slice of the reply's batch.
type delivery struct {
	id          uint64
	rec         []byte
	redelivered bool
}

// parseDeliveries checks and splits a PopBatch reply of at most max entries.
func (q *queue) parseDeliveries(resp *pluginpb.PopBatchResponse, max int) ([]delivery, error) {
	ids, red := resp.GetIds(), resp.GetRedelivered()
	fail := func(format string, args ...any) error {
		return &PluginError{Plugin: q.p.decl.Name, Op: q.op("PopBatch"), Err: fmt.Errorf("%w: "+format, append([]any{ErrCall}, args...)...)}
	}
	if len(ids) > max {
		return nil, fail("asked for %d entries, got %d", max, len(ids))
	}
	if len(red) != 0 && len(red) != len(ids) {
		return nil, fail("%d ids but %d redelivered flags", len(ids), len(red))
	}
	ds := make([]delivery, len(ids))
	batch := resp.GetRecords()
	for i := range ds {
		rec, rest, err := wire.NextRecord(batch)
		if err != nil {
			return nil, fail("record %d: %v", i, err)
		}
		ds[i], batch = delivery{id: ids[i], rec: rec, redelivered: len(red) > 0 && red[i]}, rest
	}
	if len(batch) > 0 {
		return nil, fail("%v: more than %d records", wire.ErrBadBatch, len(ids))
	}
	return ds, nil
}

// encode writes r's record into q.scratch. A request that cannot be
// encoded is an error wrapping framework.ErrUnserializable.
func (q *queue) encode(r *framework.Request) ([]byte, error) {
	rec, err := framework.AppendRequest(q.scratch[:0], r, q.spider)
	if err != nil {
		return nil, err
	}
	q.scratch = rec
	return rec, nil
}

// add buffers an encoded request.
func (q *queue) add(r *framework.Request, rec []byte) {
	q.pushRecs = wire.AppendRecord(q.pushRecs, rec)
	q.pushN++
	if q.pq {
		q.pushPrio = append(q.pushPrio, int64(r.Priority))
		q.pushSlot = append(q.pushSlot, r.Slot())
		q.pushStart = append(q.pushStart, r.IsStart())
	}
}

// full reports whether the push buffer should be sent.
func (q *queue) full() bool { return q.pushN >= q.batch || len(q.pushRecs) >= q.maxBytes }

// Push buffers r; a full batch is sent to the plugin. An unserializable
// request is refused (ErrUnserializable) and the queue is unchanged.
func (q *queue) Push(r *framework.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.usable(); err != nil {
		return err
	}
	rec, err := q.encode(r)
	if err != nil {
		return err
	}
	q.add(r, rec)
	if q.full() {
		return q.sendWrites()
	}
	return nil
}

// PushBatch buffers rs; if one of them cannot be encoded none is pushed.
func (q *queue) PushBatch(rs []*framework.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.usable(); err != nil {
		return err
	}
	recs := make([][]byte, len(rs))
	for i, r := range rs {
		rec, err := framework.EncodeRequest(r, q.spider)
		if err != nil {
			return err
		}
		recs[i] = rec
	}
	for i, r := range rs {
		q.add(r, recs[i])
		if q.full() {
			if err := q.sendWrites(); err != nil {
				return err
			}
		}
	}
	return nil
}

// takeWrites moves the buffered writes into a Writes message.
func (q *queue) takeWrites(release []uint64) *pluginpb.Writes {
	w := &pluginpb.Writes{Ack: q.acks, Release: release, Push: q.pushRecs,
		PushPriority: q.pushPrio, PushSlot: q.pushSlot, PushStart: q.pushStart}
	n := q.pushN
	clear(q.spareSlot) // drop the strings of the writes before last
	q.acks, q.spareAcks = q.spareAcks[:0], q.acks
	q.pushRecs, q.spareRecs = q.spareRecs[:0], q.pushRecs
	q.pushPrio, q.sparePrio = q.sparePrio[:0], q.pushPrio
	q.pushSlot, q.spareSlot = q.spareSlot[:0], q.pushSlot
	q.pushStart, q.spareStart = q.spareStart[:0], q.pushStart
	q.pushN = 0
	if len(q.prefetch) > 0 {
		q.since += n
	}
	if len(w.Ack)+len(w.Release)+n > 0 {
		q.dirty = true
	}
	return w
}

// fail makes err sticky: after a failed call the plugin's state is unknown.
func (q *queue) fail(err error) error {
	q.err = err
	return err
}

// sendWrites sends the buffered writes, in the background when allowed.
func (q *queue) sendWrites() error {
	if err := q.join(); err != nil {
		return err
	}
	n := q.pushN
	req := &pluginpb.PushBatchRequest{Handle: q.handle, Writes: q.takeWrites(nil)}
	if q.pipeline {
		q.start(n, false, func() rpcReply {
			st, err := call(q.p, q.op("PushBatch"), q.cl.PushBatch, req)
			return rpcReply{state: st, err: err}
		})
		return nil
	}
	st, err := call(q.p, q.op("PushBatch"), q.cl.PushBatch, req)
	if err != nil {
		return q.fail(err)
	}
	q.pending = int(st.GetPending())
	return nil
}

// start runs fn as the background round trip; q.out must be nil.
func (q *queue) start(pushes int, pops bool, fn func() rpcReply) {
	ch := make(chan rpcReply, 1)
	q.out, q.outPush, q.outPop = ch, pushes, pops
	go func() { ch <- fn() }()
}

// join waits for the background round trip and applies its reply.
func (q *queue) join() error {
	if q.out == nil {
		return nil
	}
	r := <-q.out
	pops := q.outPop
	q.out, q.outPush, q.outPop = nil, 0, false
	if r.err != nil {
		return q.fail(r.err)
	}
	q.pending = int(r.state.GetPending())
	if pops {
		q.addPrefetch(r.deliveries)
	}
	return nil
}

// prefetchAhead starts fetching the next pop batch in the background as
// soon as the prefetch holds no more than that batch's size, so that the
// caller has a whole batch to work through while the plugin answers; for
// FIFO and LIFO queues only (for which entries popped later come after the
// prefetch as long as nothing newer is pushed to a LIFO queue, which
// ensureHead handles).
func (q *queue) prefetchAhead() {
	if !q.pipeline || q.out != nil || q.err != nil || q.closed || len(q.prefetch) > q.fetch || q.pending == 0 {
		return
	}
	var w *pluginpb.Writes
	pushes := 0
	switch q.order {
	case pluginpb.Order_ORDER_FIFO:
		pushes = q.pushN
		w = q.takeWrites(nil) // pushes go behind the prefetch anyway
	case pluginpb.Order_ORDER_LIFO:
		if q.pushN > 0 || q.since > 0 {
			return
		}
		w = &pluginpb.Writes{Ack: q.acks}
		q.acks, q.spareAcks = q.spareAcks[:0], q.acks
	default:
		return
	}
	max := q.grow()
	req := &pluginpb.PopBatchRequest{Handle: q.handle, Writes: w, Max: uint32(max), MaxBytes: uint64(q.maxBytes)}
	q.start(pushes, true, func() rpcReply {
		resp, err := call(q.p, q.op("PopBatch"), q.cl.PopBatch, req)
		if err != nil {
			return rpcReply{err: err}
		}
		ds, err := q.parseDeliveries(resp, max)
		return rpcReply{state: resp.GetState(), deliveries: ds, err: err}
	})
}

// popRPC sends the buffered writes plus release, and pops up to max.
func (q *queue) popRPC(release []uint64, max int) ([]delivery, error) {
	if err := q.join(); err != nil {
		return nil, err
	}
	resp, err := call(q.p, q.op("PopBatch"), q.cl.PopBatch, &pluginpb.PopBatchRequest{
		Handle:   q.handle,
		Writes:   q.takeWrites(release),
		Max:      uint32(max),
		MaxBytes: uint64(q.maxBytes),
	})
	if err != nil {
		return nil, q.fail(err)
	}
	ds, err := q.parseDeliveries(resp, max)
	if err != nil {
		return nil, q.fail(err)
	}
	q.pending = int(resp.GetState().GetPending())
	return ds, nil
}

// ensureHead makes prefetch[0] the head of the queue, or leaves prefetch
// empty when the queue is empty. q.since counts the entries that reached the
// plugin after the prefetch was taken (a full push buffer, a Flush): for a
// LIFO queue they come before the prefetch, for an unordered one they may.
func (q *queue) ensureHead() error {
	if q.out != nil && (len(q.prefetch) == 0 || q.order != pluginpb.Order_ORDER_FIFO) {
		// The background round trip may bring the head (or, for LIFO,
		// carry entries that come before the prefetch): wait for it.
		if err := q.join(); err != nil {
			return err
		}
	}
	switch q.order {
	case pluginpb.Order_ORDER_FIFO:
		// Whatever is pushed later comes after the prefetch.
		if len(q.prefetch) > 0 || q.pending+q.pushN == 0 {
			return nil
		}
		return q.refill(nil, q.grow())
	case pluginpb.Order_ORDER_LIFO:
		if len(q.prefetch) == 0 {
			if q.pending+q.pushN == 0 {
				return nil
			}
			return q.refill(nil, q.grow())
		}
		newer := q.since + q.pushN
		if newer == 0 {
			return nil
		}
		// The newer entries are the plugin's top once the buffer is pushed:
		// pop exactly those, in front of the prefetch.
		ds, err := q.popRPC(nil, newer)
		if err != nil {
			return err
		}
		q.head = nil
		q.prefetch = append(ds, q.prefetch...)
		q.since = 0
		return nil
	default:
		if len(q.prefetch) > 0 && q.since+q.pushN > 0 {
			// A push may come before the prefetch: give it back and fetch
			// again, fetching less next time.
			release := deliveryIDs(q.prefetch)
			q.prefetch, q.head = nil, nil
			q.fetch = max(1, q.fetch/2)
			return q.refill(release, q.fetch)
		}
		if len(q.prefetch) > 0 || q.pending+q.pushN == 0 {
			return nil
		}
		if err := q.refill(nil, q.fetch); err != nil {
			return err
		}
		q.fetch = min(q.batch, q.fetch*2)
		return nil
	}
}

// grow returns the prefetch size to use now and doubles the next one.
func (q *queue) grow() int {
	n := q.fetch
	q.fetch = min(q.batch, q.fetch*2)
	return n
}

// refill replaces an empty (or released) prefetch with up to max entries.
func (q *queue) refill(release []uint64, max int) error {
	ds, err := q.popRPC(release, max)
	if err != nil {
		return err
	}
	q.addPrefetch(ds)
	q.since = 0
	return nil
}

// addPrefetch appends ds to the prefetch (taking ds itself when the
// prefetch is empty, the usual case, rather than copying it).
func (q *queue) addPrefetch(ds []delivery) {
	if len(q.prefetch) == 0 {
		q.prefetch, q.head = ds, nil
		return
	}
	q.prefetch = append(q.prefetch, ds...)
}

func deliveryIDs(ds []delivery) []uint64 {
	ids := make([]uint64, len(ds))
	for i, d := range ds {
		ids[i] = d.id
	}
	return ids
}

// decodeHead decodes prefetch[0] into q.head.
func (q *queue) decodeHead() error {
	if q.head != nil {
		return nil
	}
	d := q.prefetch[0]
	r, err := framework.DecodeRequest(d.rec, q.spider)
	if err != nil {
		// The entry stays in flight in the plugin (it comes back on
		// reopen, for inspection); it is not handed out.
		q.prefetch = q.prefetch[1:]
		return &PluginError{Plugin: q.p.decl.Name, Op: q.op("PopBatch"), Err: fmt.Errorf("entry %d: %w", d.id, err)}
	}
	r.Delivery = d.id
	r.Redelivered = d.redelivered
	q.head = r
	return nil
}

// Pop hands out the head of the queue, in flight until Ack, or (nil, nil)
// when the queue is empty.
func (q *queue) Pop() (*framework.Request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pop()
}

func (q *queue) pop() (*framework.Request, error) {
	if err := q.usable(); err != nil {
		return nil, err
	}
	if err := q.ensureHead(); err != nil {
		return nil, err
	}
	if len(q.prefetch) == 0 {
		return nil, nil
	}
	if err := q.decodeHead(); err != nil {
		return nil, err
	}
	r := q.head
	q.head = nil
	q.prefetch[0] = delivery{}
	q.prefetch = q.prefetch[1:]
	q.handed[r.Delivery] = struct{}{}
	q.prefetchAhead()
	return r, nil
}

// PopBatch pops up to max requests.
func (q *queue) PopBatch(max int) ([]*framework.Request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*framework.Request
	for len(out) < max {
		r, err := q.pop()
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
func (q *queue) Peek() (*framework.Request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.usable(); err != nil {
		return nil, err
	}
	if err := q.ensureHead(); err != nil {
		return nil, err
	}
	if len(q.prefetch) == 0 {
		return nil, nil
	}
	if err := q.decodeHead(); err != nil {
		return nil, err
	}
	return q.head, nil
}

// Len returns the number of pending requests (not those in flight).
func (q *queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.pending + q.outPush + q.pushN + len(q.prefetch)
}

// Ack reports r finished; the plugin forgets it with the next round trip.
func (q *queue) Ack(r *framework.Request) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.usable(); err != nil {
		return err
	}
	if _, ok := q.handed[r.Delivery]; !ok {
		return fmt.Errorf("plugin queue %s: %w: %s", q.name, framework.ErrNotInFlight, r)
	}
	delete(q.handed, r.Delivery)
	q.acks = append(q.acks, r.Delivery)
	if len(q.acks) >= q.batch {
		return q.sendWrites()
	}
	return nil
}

// InFlight returns the number of requests handed out and not acknowledged.
func (q *queue) InFlight() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.handed)
}

// Flush sends buffered pushes and acknowledgements and has the plugin make
// them durable.
func (q *queue) Flush() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.usable(); err != nil {
		return err
	}
	if err := q.join(); err != nil {
		return err
	}
	if !q.dirty && q.pushN == 0 && len(q.acks) == 0 {
		return nil
	}
	st, err := call(q.p, q.op("Flush"), q.cl.Flush, &pluginpb.FlushRequest{Handle: q.handle, Writes: q.takeWrites(nil)})
	if err != nil {
		return q.fail(err)
	}
	q.pending = int(st.GetPending())
	q.dirty = false
	return nil
}

// Close sends buffered pushes and acknowledgements, releases the prefetched
// requests and closes the plugin's handle. Requests handed out and not
// acknowledged stay in flight: a persistent plugin queue hands them out again
// when the key is reopened.
func (q *queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.close()
}

func (q *queue) close() error {
	if q.closed {
		return nil
	}
	q.closed = true
	defer q.p.untrack(q)
	q.join() // sets q.err on failure
	if q.err != nil {
		return q.err
	}
	release := deliveryIDs(q.prefetch)
	q.prefetch, q.head = nil, nil
	_, err := call(q.p, q.op("Close"), q.cl.Close, &pluginpb.CloseQueueRequest{Handle: q.handle, Writes: q.takeWrites(release)})
	if err != nil {
		return q.fail(err)
	}
	return nil
}

// closeForShutdown closes the queue when the Manager shuts down before the
// scheduler closed it.
func (q *queue) closeForShutdown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.close(); err != nil && q.p.sink != nil {
		q.p.sink.log.Warn().Err(err).Str("component", q.name).Str("key", q.key).Msg("closing plugin queue at shutdown")
	}
}
