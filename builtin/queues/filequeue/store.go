package filequeue

import (
	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
)

var _ framework.QueueStore = (*Store)(nil)

// Store is the per-file layout of a job directory's disk priority queue
// (JOBDIR_QUEUE_LAYOUT=files, and every job written in format 1): a
// [framework.QueueStore] whose buckets are queues with files of their own at
// their keys. Its queues share one validated configuration and one [Pool]:
// the bound on open descriptors and buffered bytes, and the delivery
// identifiers, which no two of them repeat.
//
// A Store is safe for concurrent use. It holds no file itself: each queue it
// returns is flushed and closed by its owner, and a Store needs no Close.
type Store struct {
	cfg  *disk.Config
	pool *Pool
}

// NewStore returns a store whose queues follow cfg and share pool; a nil
// pool means a new one with the default limits. It does no I/O.
func NewStore(cfg disk.Config, pool *Pool) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if pool == nil {
		pool = NewPool(PoolConfig{})
	}
	return &Store{cfg: &cfg, pool: pool}, nil
}

// Pool returns the pool the store's queues share.
func (s *Store) Pool() *Pool { return s.pool }

// LastID returns the largest delivery identifier the store's queues have
// handed out (or found on disk): every record pushed after the call gets a
// larger one, in this process and in later ones.
func (s *Store) LastID() uint64 { return s.pool.ids.Last() }

// Queue returns the queue kept at path (a directory for FIFO, a file for
// LIFO), built without I/O like [NewFifo]'s, in the store's pool.
func (s *Store) Queue(path string, lifo bool) (*Queue, error) {
	return newQueue(path, lifo, s.cfg, s.pool)
}

// Bucket is [Store.Queue] for the disk queue factories
// ([framework.QueueStore]).
func (s *Store) Bucket(key string, lifo bool) (framework.Queue, error) {
	q, err := s.Queue(key, lifo)
	if err != nil {
		return nil, err
	}
	return q, nil
}
