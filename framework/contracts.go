package framework

import (
	"context"
	"time"

	"github.com/frontier-go/frontier/registry"
)

// Queue is a downstream request queue: one per priority, per download slot and
// per start/regular bucket, built by a [QueueFactory] with its own key.
//
// Pop returns (nil, nil) when the queue is empty. A Push that fails with an
// error wrapping [ErrUnserializable] leaves the queue unchanged. Queues are not
// safe for concurrent use; their owner serialises calls.
type Queue interface {
	Push(r *Request) error
	Pop() (*Request, error)
	Len() int
	Close() error
}

// Peeker is implemented by queues that can return what Pop would return next
// without removing it. Peek returns (nil, nil) when the queue is empty.
type Peeker interface {
	Peek() (*Request, error)
}

// PendingWalker is implemented by persistent priority queues that can read
// the records of their pending requests without taking them (the job
// directory's queue store). After an unclean stop the scheduler walks them
// to give the dupefilter back the fingerprints a killed process had not
// written. A queue that cannot (buckets kept as files) returns
// errors.ErrUnsupported.
type PendingWalker interface {
	WalkPending(fn func(record []byte) error) error
}

// Batcher is implemented by queues that move many requests in one call, which
// matters when each call is a round trip (plugins, Redis). PopBatch returns at
// most max requests, fewer when the queue holds fewer, in Pop order.
type Batcher interface {
	PushBatch(rs []*Request) error
	PopBatch(max int) ([]*Request, error)
}

// Acker is implemented by queues and priority queues whose Pop hands a request
// out in flight: it stays owned by the queue until Ack, and a queue that
// persists its contents hands it out again after a crash. A queue that is not an
// Acker forgets a request once popped; its owner does the bookkeeping.
type Acker interface {
	// Ack reports that r, returned by Pop, is finished and must never be
	// handed out again.
	Ack(r *Request) error
	// InFlight returns the number of requests popped and not yet acknowledged.
	InFlight() int
}

// InFlightTracker is implemented by priority queues that are an [Acker]
// for some requests only (those of downstream queues that are Ackers).
// Tracks reports whether r, just returned by Pop, stays in flight in the
// queue until Ack; the scheduler keeps the in-flight state of the other
// requests itself (durably, with a job directory).
type InFlightTracker interface {
	Tracks(r *Request) bool
}

// Flusher is implemented by components that buffer writes. Flush hands
// everything buffered to the operating system (and syncs it when the fsync
// policy says so): once it returns, what was written before survives the
// death of the process.
type Flusher interface {
	Flush() error
}

// PriorityQueue orders requests by priority (higher first) over downstream
// queues. It has the shape of a [Queue]; Peek, batching and acknowledgement are
// the same optional interfaces.
type PriorityQueue interface {
	Queue
}

// QueueConfig is what a downstream queue is built from.
type QueueConfig struct {
	// Key is the queue's key, its own within its priority queue: a name in
	// memory, a path under the job directory on disk (Key + "/" + bucket of
	// the priority queue).
	Key string
	// Job is the crawl's job directory for a queue a persistent priority
	// queue builds; nil for memory.
	Job *JobConfig
	// Store is where the persistent priority queue keeps its buckets; the
	// built-in disk queues are buckets of it. nil in memory. A queue that
	// keeps its data elsewhere (a plugin's) ignores it.
	Store QueueStore
}

// QueueStore keeps the buckets of one persistent priority queue: the
// built-in disk queue factories return its buckets. Bucket returns the
// queue of the bucket with key, first in first out or (lifo) last in first
// out; the store owns what the buckets share (files, buffers, delivery
// identifiers) and outlives them.
type QueueStore interface {
	Bucket(key string, lifo bool) (Queue, error)
}

// PriorityQueueConfig is what a priority queue is built from.
type PriorityQueueConfig struct {
	// Downstream builds the queue of one bucket. Required.
	Downstream QueueFactory
	// Start builds the queue of a start-request bucket; nil means start
	// requests share the regular buckets (Scrapy's SCHEDULER_START_*_QUEUE = None).
	Start QueueFactory
	// Key is the priority queue's key: "" for memory, the directory
	// JOBDIR/requests.queue for disk. Downstream keys are Key + "/" + bucket.
	Key string
	// Job is the crawl's job directory for a persistent priority queue (the
	// scheduler's disk one), nil for memory: a persistent queue must find its
	// buckets from what is stored under Key, never from state kept only at
	// close.
	Job *JobConfig
}

// DupeFilter decides whether a request was seen before.
//
// RequestSeen records r's fingerprint and reports whether it was already
// recorded. Calls come from the scheduler's goroutine.
type DupeFilter interface {
	Open(ctx context.Context) error
	RequestSeen(r *Request) (bool, error)
	// Log is called for every request RequestSeen reported as seen.
	Log(r *Request)
	Close(reason string) error
}

// BatchDupeFilter is implemented by dupefilters that fingerprint many
// requests at once, ahead of deciding in order whether each was seen: a
// scheduler's batch enqueue uses it to fingerprint in parallel.
type BatchDupeFilter interface {
	// Fingerprints computes rs[i]'s fingerprint into fps[i], or the error
	// RequestSeen would return for it into errs[i] (fps and errs have
	// len(rs) elements). It records nothing and may use several goroutines.
	//
	// Unless use is nil, it calls use(i) for each i in order, on the
	// caller's goroutine, as soon as fps[i] and errs[i] are ready, while
	// later fingerprints may still be computed on another goroutine; it
	// stops at use's first error and returns it. Once it returns, nothing
	// writes to fps or errs any more. use may read fps[j] and errs[j] for
	// j <= i only, and must not change rs[j] for j > i.
	Fingerprints(rs []*Request, fps []Fingerprint, errs []error, use func(i int) error) error
	// FingerprintSeen is RequestSeen for r, whose fingerprint Fingerprints
	// computed as fp.
	FingerprintSeen(r *Request, fp *Fingerprint) (bool, error)
}

// Fingerprinter computes a request's fingerprint.
type Fingerprinter interface {
	Fingerprint(r *Request) (Fingerprint, error)
}

// Scheduler is the crawl's frontier: the engine enqueues requests and asks for
// the next one to download. Only these three methods are required, as Scrapy's
// duck-typed BaseScheduler; opening, closing, length and acknowledgement are
// optional interfaces ([Opener], [Closer], [Lener], [Finisher], [Flusher]).
//
// Accepted is not durable. A scheduler that keeps its requests outside the
// process (a job directory, a shared store) may buffer them: it is then a
// [Flusher], and a request it accepted survives the death of the process
// only once flushed, by Flush, by Close, or when the scheduler flushes on its
// own, which it documents. The default scheduler flushes on its own only
// within a call (the first one after JOBDIR_FLUSH_INTERVAL), never between
// calls: its caller must Flush or Close before it stops. Package crawl
// flushes in the background every JOBDIR_FLUSH_INTERVAL.
type Scheduler interface {
	// Enqueue adds r and reports whether it was accepted (false: a
	// duplicate). An accepted request is not yet durable (see above).
	Enqueue(r *Request) (bool, error)
	// Next returns the next request, or (nil, nil) when none is pending.
	Next() (*Request, error)
	HasPending() bool
}

// BatchEnqueuer is implemented by schedulers that take many requests in one
// call, such as a callback's whole output. EnqueueBatch has the outcome of
// calling Enqueue on each request in order and stopping at the first error:
// the same requests accepted, in the same order, with the same signals and
// stats. When accepted is not nil (it then has len(rs) elements),
// accepted[i] reports whether rs[i] was accepted. The scheduler may do part
// of the work for every request at once, in parallel (fingerprinting).
type BatchEnqueuer interface {
	EnqueueBatch(rs []*Request, accepted []bool) error
}

// Opener is implemented by schedulers with work to do before the crawl.
type Opener interface {
	Open(ctx context.Context) error
}

// Closer is implemented by schedulers with work to do after the crawl.
type Closer interface {
	Close(reason string) error
}

// Lener is implemented by schedulers that know how many requests are pending.
type Lener interface {
	Len() int
}

// Finisher is implemented by schedulers that track requests in flight: a
// request returned by Next stays in flight until Finish reports it done,
// whether it succeeded (outcome nil) or failed.
type Finisher interface {
	Finish(r *Request, outcome error) error
	InFlight() int
}

// Poller is implemented by schedulers whose pending requests change without
// their caller, such as a frontier shared by several processes: Next may
// return nil while HasPending is true, and the caller asks again every
// PollInterval.
type Poller interface {
	PollInterval() time.Duration
}

// SlotPauser is implemented by schedulers that can hold back a download
// slot's requests until a time (a 429 or 503 with Retry-After), for every
// process sharing the frontier.
type SlotPauser interface {
	PauseSlot(slot string, until time.Time) error
}

// Factories, one type per registry kind. A setting names a factory, never an
// instance: queue factories are called once per bucket, each with its key.
type (
	QueueFactory         func(ctx context.Context, c *Crawler, cfg QueueConfig) (Queue, error)
	PriorityQueueFactory func(ctx context.Context, c *Crawler, cfg PriorityQueueConfig) (PriorityQueue, error)
	DupeFilterFactory    func(ctx context.Context, c *Crawler) (DupeFilter, error)
	SchedulerFactory     func(ctx context.Context, c *Crawler) (Scheduler, error)
	FingerprinterFactory func(ctx context.Context, c *Crawler) (Fingerprinter, error)
)

// The factory types name their registry kind, so that an entry's kind is its
// factory's type ([registry.Factory]).
func (QueueFactory) Kind() registry.Kind         { return registry.KindQueue }
func (PriorityQueueFactory) Kind() registry.Kind { return registry.KindPriorityQueue }
func (DupeFilterFactory) Kind() registry.Kind    { return registry.KindDupeFilter }
func (SchedulerFactory) Kind() registry.Kind     { return registry.KindScheduler }
func (FingerprinterFactory) Kind() registry.Kind { return registry.KindFingerprinter }

// SlotActivity is the engine's view of its downloader: how many downloads are
// active per download slot. The downloader-aware priority queue uses it to
// pick the least busy slot. Crawler.Downloader is nil until an engine provides
// one; components then count their own deliveries (see [Crawler]).
type SlotActivity interface {
	Active(slot string) int
}
