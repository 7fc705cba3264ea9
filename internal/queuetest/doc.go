// Package queuetest is the conformance suite every frontier queue passes:
// built-in memory and disk queues and plugin queues alike. A queue package's
// test calls [Run] with a constructor and the queue's properties:
//
//	func TestFifoDiskQueueConformance(t *testing.T) {
//		queuetest.Run(t, func(t *testing.T, key string) framework.Queue {
//			q, err := filequeue.NewFifo(key, disk.Config{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return q
//		}, queuetest.FIFO, queuetest.Persistent)
//	}
//
// The suite covers push, pop, peek and len, the pop order (FIFO or LIFO),
// requests surviving the trip field by field, unserializable requests,
// batches (for Batchers), flushes (for Flushers), acknowledgement and
// redelivery (for Ackers), close and reopen (for persistent queues), and a
// seeded random mix of all of them checked against a model.
package queuetest
