package host

import (
	"context"
	"fmt"
	"sync"

	"github.com/frontier-go/frontier/framework"
	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
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
//   - Pushes are durable in the plugin no later than the next Pop or Peek
//     that needs them, Flush, Close, or a full batch. A request is never
//     handed out from the push buffer: it is pushed and popped in the same
//     round trip, so whatever is handed out is in flight in the plugin and
//     comes back after a crash.
//   - A prefetched request that was not handed out is in flight in the
//     plugin. Close releases it (back to its place, not marked redelivered);
//     if the host dies instead, the plugin redelivers it on reopen, so
//     nothing is lost either way.
//   - Acknowledgements are sent with the next round trip, or at Flush and
//     Close; until then a crash redelivers the request (at-least-once).
//
// Its methods are safe for concurrent use, though the scheduler calls them
// from one goroutine.
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
	pending   int // the plugin's pending count, from its last reply
	pushBuf   []*pluginpb.Entry
	pushBytes int
	acks      []uint64
	prefetch  []*pluginpb.Delivery // head first; in flight in the plugin
	head      *framework.Request   // prefetch[0] decoded, for Peek
	handed    map[uint64]struct{}  // handed out, not yet acknowledged
	fetch     int                  // prefetch size for unordered queues
	since     int                  // entries pushed to the plugin after the prefetch was taken
	dirty     bool                 // writes reached the plugin since the last Flush
	err       error                // sticky: the plugin failed
	closed    bool
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
		req.Priority = &pluginpb.PriorityQueueOptions{Persistent: pqc.Persistent, SeparateStart: pqc.Start != nil}
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
	}
	if q.pq {
		q.order = pluginpb.Order_ORDER_UNSPECIFIED
	}
	q.fetch = q.batch
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

func (q *queue) entry(r *framework.Request) (*pluginpb.Entry, error) {
	rec, err := framework.EncodeRequest(r, q.spider)
	if err != nil {
		return nil, err
	}
	e := &pluginpb.Entry{Record: rec}
	if q.pq {
		e.Priority = int64(r.Priority)
		e.Slot = r.Slot()
		e.Start = r.IsStart()
	}
	return e, nil
}

// Push buffers r; a full batch is sent to the plugin. An unserializable
// request is refused (ErrUnserializable) and the queue is unchanged.
func (q *queue) Push(r *framework.Request) error {
	e, err := q.entry(r)
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.usable(); err != nil {
		return err
	}
	if err != nil {
		return err
	}
	return q.buffer(e)
}

// PushBatch buffers rs; if one of them cannot be encoded none is pushed.
func (q *queue) PushBatch(rs []*framework.Request) error {
	es := make([]*pluginpb.Entry, len(rs))
	for i, r := range rs {
		e, err := q.entry(r)
		if err != nil {
			return err
		}
		es[i] = e
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.usable(); err != nil {
		return err
	}
	for _, e := range es {
		if err := q.buffer(e); err != nil {
			return err
		}
	}
	return nil
}

func (q *queue) buffer(e *pluginpb.Entry) error {
	q.pushBuf = append(q.pushBuf, e)
	q.pushBytes += len(e.Record)
	if len(q.pushBuf) >= q.batch || q.pushBytes >= q.maxBytes {
		return q.sendWrites()
	}
	return nil
}

// takeWrites moves the buffered writes into a Writes message.
func (q *queue) takeWrites(release []uint64) *pluginpb.Writes {
	w := &pluginpb.Writes{Ack: q.acks, Release: release, Push: q.pushBuf}
	q.acks, q.pushBuf, q.pushBytes = nil, nil, 0
	if len(q.prefetch) > 0 {
		q.since += len(w.Push)
	}
	if len(w.Ack)+len(w.Release)+len(w.Push) > 0 {
		q.dirty = true
	}
	return w
}

// fail makes err sticky: after a failed call the plugin's state is unknown.
func (q *queue) fail(err error) error {
	q.err = err
	return err
}

func (q *queue) sendWrites() error {
	st, err := call(q.p, q.op("PushBatch"), q.cl.PushBatch, &pluginpb.PushBatchRequest{Handle: q.handle, Writes: q.takeWrites(nil)})
	if err != nil {
		return q.fail(err)
	}
	q.pending = int(st.GetPending())
	return nil
}

// popRPC sends the buffered writes plus release, and pops up to max.
func (q *queue) popRPC(release []uint64, max int) ([]*pluginpb.Delivery, error) {
	resp, err := call(q.p, q.op("PopBatch"), q.cl.PopBatch, &pluginpb.PopBatchRequest{
		Handle:   q.handle,
		Writes:   q.takeWrites(release),
		Max:      uint32(max),
		MaxBytes: uint64(q.maxBytes),
	})
	if err != nil {
		return nil, q.fail(err)
	}
	ds := resp.GetDeliveries()
	if len(ds) > max {
		return nil, q.fail(&PluginError{Plugin: q.p.decl.Name, Op: q.op("PopBatch"), Err: fmt.Errorf("%w: asked for %d entries, got %d", ErrCall, max, len(ds))})
	}
	q.pending = int(resp.GetState().GetPending())
	return ds, nil
}

// ensureHead makes prefetch[0] the head of the queue, or leaves prefetch
// empty when the queue is empty. q.since counts the entries that reached the
// plugin after the prefetch was taken (a full push buffer, a Flush): for a
// LIFO queue they come before the prefetch, for an unordered one they may.
func (q *queue) ensureHead() error {
	switch q.order {
	case pluginpb.Order_ORDER_FIFO:
		// Whatever is pushed later comes after the prefetch.
		if len(q.prefetch) > 0 || q.pending+len(q.pushBuf) == 0 {
			return nil
		}
		return q.refill(nil, q.batch)
	case pluginpb.Order_ORDER_LIFO:
		if len(q.prefetch) == 0 {
			if q.pending+len(q.pushBuf) == 0 {
				return nil
			}
			return q.refill(nil, q.batch)
		}
		newer := q.since + len(q.pushBuf)
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
		if len(q.prefetch) > 0 && q.since+len(q.pushBuf) > 0 {
			// A push may come before the prefetch: give it back and fetch
			// again, fetching less next time.
			release := deliveryIDs(q.prefetch)
			q.prefetch, q.head = nil, nil
			q.fetch = max(1, q.fetch/2)
			return q.refill(release, q.fetch)
		}
		if len(q.prefetch) > 0 || q.pending+len(q.pushBuf) == 0 {
			return nil
		}
		if err := q.refill(nil, q.fetch); err != nil {
			return err
		}
		q.fetch = min(q.batch, q.fetch*2)
		return nil
	}
}

// refill replaces an empty (or released) prefetch with up to max entries.
func (q *queue) refill(release []uint64, max int) error {
	ds, err := q.popRPC(release, max)
	if err != nil {
		return err
	}
	q.prefetch, q.head, q.since = ds, nil, 0
	return nil
}

func deliveryIDs(ds []*pluginpb.Delivery) []uint64 {
	ids := make([]uint64, len(ds))
	for i, d := range ds {
		ids[i] = d.GetId()
	}
	return ids
}

// decodeHead decodes prefetch[0] into q.head.
func (q *queue) decodeHead() error {
	if q.head != nil {
		return nil
	}
	d := q.prefetch[0]
	r, err := framework.DecodeRequest(d.GetRecord(), q.spider)
	if err != nil {
		// The entry stays in flight in the plugin (it comes back on
		// reopen, for inspection); it is not handed out.
		q.prefetch = q.prefetch[1:]
		return &PluginError{Plugin: q.p.decl.Name, Op: q.op("PopBatch"), Err: fmt.Errorf("entry %d: %w", d.GetId(), err)}
	}
	r.Delivery = d.GetId()
	r.Redelivered = d.GetRedelivered()
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
	q.prefetch[0] = nil
	q.prefetch = q.prefetch[1:]
	q.handed[r.Delivery] = struct{}{}
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
	return q.pending + len(q.pushBuf) + len(q.prefetch)
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
	if !q.dirty && len(q.pushBuf) == 0 && len(q.acks) == 0 {
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
