package redisfrontier

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/frontier-go/frontier/framework"
)

// ListQueue is a downstream queue in one Redis list (scrapy-redis's
// FifoQueue and LifoQueue as plain queues): records pushed at the tail,
// popped at the head (FIFO) or the tail (LIFO). It persists: reopening the
// same key finds its requests. Calls come from one goroutine; each is one
// round trip.
type ListQueue struct {
	client redis.UniversalClient
	key    string
	lifo   bool
	sp     *framework.Spider
	ctx    context.Context
}

var (
	_ framework.Queue   = (*ListQueue)(nil)
	_ framework.Batcher = (*ListQueue)(nil)
)

// NewListQueue returns the queue in the list key.
func NewListQueue(ctx context.Context, client redis.UniversalClient, key string, lifo bool, sp *framework.Spider) *ListQueue {
	return &ListQueue{client: client, key: key, lifo: lifo, sp: sp, ctx: context.WithoutCancel(ctx)}
}

func listQueueFactory(lifo bool) framework.QueueFactory {
	return func(ctx context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
		o, err := ClientOptionsFrom(c.Settings)
		if err != nil {
			return nil, err
		}
		client, err := NewClient(o)
		if err != nil {
			return nil, err
		}
		tmpl, err := c.Settings.GetString("SCHEDULER_QUEUE_KEY")
		if err != nil {
			return nil, err
		}
		return NewListQueue(ctx, client, KeyFor(tmpl, c.Spider.Name)+":list:"+cfg.Key, lifo, c.Spider), nil
	}
}

// Push appends r.
func (q *ListQueue) Push(r *framework.Request) error { return q.PushBatch([]*framework.Request{r}) }

// PushBatch appends rs in one command; when one is unserializable none is
// pushed.
func (q *ListQueue) PushBatch(rs []*framework.Request) error {
	if len(rs) == 0 {
		return nil
	}
	recs := make([]any, len(rs))
	for i, r := range rs {
		b, err := framework.EncodeRequest(r, q.sp)
		if err != nil {
			return err
		}
		recs[i] = b
	}
	return q.wrap(q.client.RPush(q.ctx, q.key, recs...).Err())
}

// Pop removes and returns the next request, or nil when empty.
func (q *ListQueue) Pop() (*framework.Request, error) {
	rs, err := q.PopBatch(1)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	return rs[0], nil
}

// PopBatch removes and returns at most max requests in Pop order.
func (q *ListQueue) PopBatch(max int) ([]*framework.Request, error) {
	if max <= 0 {
		return nil, nil
	}
	var vals []string
	var err error
	if q.lifo {
		vals, err = q.client.RPopCount(q.ctx, q.key, max).Result()
	} else {
		vals, err = q.client.LPopCount(q.ctx, q.key, max).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, q.wrap(err)
	}
	out := make([]*framework.Request, 0, len(vals))
	for _, v := range vals {
		r, err := framework.DecodeRequest([]byte(v), q.sp)
		if err != nil {
			return out, fmt.Errorf("%w: list %s: %w", ErrBadValue, q.key, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Len returns the list's length (0 when Redis cannot say).
func (q *ListQueue) Len() int {
	n, err := q.client.LLen(q.ctx, q.key).Result()
	if err != nil {
		return 0
	}
	return int(n)
}

// Close closes the connection; the list stays.
func (q *ListQueue) Close() error { return q.client.Close() }

func (q *ListQueue) wrap(err error) error {
	if err == nil {
		return nil
	}
	if isReply(err) {
		return fmt.Errorf("%w: under %s: %w", ErrBadValue, q.key, err)
	}
	return fmt.Errorf("redisfrontier: list %s: %w", q.key, err)
}
