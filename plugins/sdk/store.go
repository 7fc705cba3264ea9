package sdk

import (
	"fmt"

	"github.com/rs/zerolog"
)

// Store keeps all the buckets of one job for one queue component: protocol
// version 2's keyed buckets. The host opens one store per job (its key is
// the job directory) and addresses each bucket (one per priority and, under
// the downloader-aware priority queue, per download slot) by a key such as
// "requests.queue/example.com/0", so that a plugin keeps one database per
// job and a round trip carries the writes of many buckets. Methods are
// called from one goroutine at a time.
//
// Each bucket is a queue in the store's order (FIFO or LIFO, as the
// StoreFactory declares). A popped entry is in flight until acknowledged or
// released, as in [Queue]; a store that is closed or killed with entries in
// flight hands them out again, marked Redelivered, when it is opened next.
type Store interface {
	// Buckets returns the state of every bucket holding entries, pending or
	// in flight.
	Buckets() map[string]State
	// Write applies the writes of many buckets as one atomic unit (one
	// transaction): for each BucketWrite in order, acknowledgements, then
	// releases, then pushes. Unknown IDs are ignored. Once Write returns,
	// what it wrote must survive a killed process.
	Write(ws []BucketWrite) error
	// Pop hands out up to max entries of bucket in the store's order,
	// marking them in flight; fewer (or none) when fewer are pending.
	Pop(bucket string, max int) ([]Delivery, error)
	// Len returns a bucket's counts.
	Len(bucket string) State
	// Flush makes everything written so far durable (a power cut, for a
	// store that promises it).
	Flush() error
	// Close releases the store's resources; what is in flight stays in
	// flight.
	Close() error
}

// BatchPopper is implemented by stores that pop from many buckets at once
// (one transaction); a Sync that pops from several buckets calls PopMany
// instead of Pop for each.
type BatchPopper interface {
	// PopMany returns one slice of deliveries per request, in order.
	PopMany(reqs []PopRequest) ([][]Delivery, error)
}

// Syncer is implemented by stores that apply a round trip's writes and
// pops in one transaction: a Sync that carries both calls Sync instead of
// Write then PopMany (or Pop), sparing a commit per round trip.
type Syncer interface {
	// Sync applies ws as Write does, then pops what reqs ask for as
	// PopMany does, as one atomic unit, and returns one slice of
	// deliveries per request, in order. reqs may be empty.
	Sync(ws []BucketWrite, reqs []PopRequest) ([][]Delivery, error)
}

// PopRequest asks for up to Max entries of Bucket.
type PopRequest struct {
	Bucket string
	Max    int
}

// BucketWrite is what one Write does to one bucket.
type BucketWrite struct {
	Bucket string
	// Ack removes in-flight entries for good.
	Ack []uint64
	// Release returns in-flight entries to the place they were popped from,
	// not marked redelivered.
	Release []uint64
	// Push adds entries in order; their Priority, Slot and Start are unset.
	Push []Entry
}

// StoreOptions are what a store is opened with.
type StoreOptions struct {
	// Name is the component name the host opened.
	Name string
	// Key is the directory the store lives in: the crawl's job directory
	// (one store per job and component). A host speaking protocol version 1
	// opens a store once per bucket, with the bucket's directory as the key.
	Key string
	// Logger is the plugin's logger with the component name.
	Logger zerolog.Logger
}

// StoreFactory opens stores of one queue component. A store component is a
// queue (kind "queue", SCHEDULER_DISK_QUEUE) to settings; the SDK serves it
// over protocol version 2 as a store, and to a host speaking only version 1
// as one queue per key (a store holding the single bucket "").
type StoreFactory struct {
	// Order is the pop order of every bucket: FIFO or LIFO.
	Order Order
	// Doc is a one-line description shown by `frontier list`.
	Doc string
	// New opens the store under o.Key.
	New func(o StoreOptions) (Store, error)
}

// bucketQueue serves the bucket "" of a store as a protocol version 1 queue.
type bucketQueue struct {
	st Store
}

var (
	_ Queue       = bucketQueue{}
	_ BatchWriter = bucketQueue{}
	_ Flusher     = bucketQueue{}
)

func (q bucketQueue) Push(es []Entry) error           { return q.Write(nil, nil, es) }
func (q bucketQueue) Pop(max int) ([]Delivery, error) { return q.st.Pop("", max) }
func (q bucketQueue) Ack(ids []uint64) error          { return q.Write(ids, nil, nil) }
func (q bucketQueue) Release(ids []uint64) error      { return q.Write(nil, ids, nil) }
func (q bucketQueue) Len() State                      { return q.st.Len("") }
func (q bucketQueue) Flush() error                    { return q.st.Flush() }
func (q bucketQueue) Close() error                    { return q.st.Close() }

func (q bucketQueue) Write(ack, release []uint64, push []Entry) error {
	return q.st.Write([]BucketWrite{{Ack: ack, Release: release, Push: push}})
}

// storeQueueFactory adapts a store component to a protocol version 1 queue
// factory.
func storeQueueFactory(f StoreFactory) QueueFactory {
	return QueueFactory{Order: f.Order, Doc: f.Doc, New: func(o QueueOptions) (Queue, error) {
		st, err := f.New(StoreOptions{Name: o.Name, Key: o.Key, Logger: o.Logger})
		if err != nil {
			return nil, err
		}
		if st == nil {
			return nil, fmt.Errorf("sdk: %s: New returned a nil store", o.Name)
		}
		return bucketQueue{st: st}, nil
	}}
}
