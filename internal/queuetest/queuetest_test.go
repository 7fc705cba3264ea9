package queuetest_test

import (
	"testing"

	"github.com/frontier-go/frontier/builtin/queues"
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
