package queuetest_test

import (
	"testing"

	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/queuetest"
)

// The suite checks itself against the built-in memory queues.
func TestMemoryQueues(t *testing.T) {
	t.Run("FifoMemoryQueue", func(t *testing.T) {
		queuetest.Run(t, func(*testing.T, string) framework.Queue { return queues.NewFifoMemoryQueue() }, queuetest.FIFO)
	})
	t.Run("LifoMemoryQueue", func(t *testing.T) {
		queuetest.Run(t, func(*testing.T, string) framework.Queue { return queues.NewLifoMemoryQueue() }, queuetest.LIFO)
	})
}

// And against the built-in disk queues, which persist.
func TestDiskQueues(t *testing.T) {
	open := func(lifo bool) queuetest.New {
		return func(t *testing.T, key string) framework.Queue {
			newQ := filequeue.NewFifo
			if lifo {
				newQ = filequeue.NewLifo
			}
			q, err := newQ(key, disk.Config{})
			if err != nil {
				t.Fatal(err)
			}
			return q
		}
	}
	t.Run("FifoDiskQueue", func(t *testing.T) { queuetest.Run(t, open(false), queuetest.FIFO, queuetest.Persistent) })
	t.Run("LifoDiskQueue", func(t *testing.T) { queuetest.Run(t, open(true), queuetest.LIFO, queuetest.Persistent) })
}
