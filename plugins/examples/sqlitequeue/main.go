// Command sqlitequeue is frontier's example plugin: crash-safe disk queues
// and a duplicate filter stored in SQLite (modernc.org/sqlite, pure Go, WAL
// journal), the counterpart of queuelib's SQLite queues, served over
// frontier's plugin protocol with plugins/sdk.
//
// It provides:
//
//	sqlitequeue.FifoDiskQueue   queue, first in first out
//	sqlitequeue.LifoDiskQueue   queue, last in first out
//	sqlitequeue.PriorityQueue   priority queue (higher first; FIFO within a
//	                            priority; regular before start requests at
//	                            equal priority when start requests are separate)
//	sqlitequeue.DupeFilter      duplicate filter (fingerprints durable at close)
//
// The FIFO and LIFO queues are stores of keyed buckets (protocol version 2):
// every bucket of a job lives in one SQLite file in the job directory,
// sqlitequeue-fifo.sqlite3 or sqlitequeue-lifo.sqlite3, one row per request
// in push order (each bucket's rows listed in memory), and one transaction
// per round trip (its writes and pops) whatever the number of buckets it
// touches (jobstore.go). A host
// that speaks only protocol version 1 opens one such file per queue key.
// The priority queue lives in one SQLite file, queue.sqlite3, in the
// directory its key names, one row per request; popped rows move to an
// in-flight table in the same transaction (store.go). Every call is one
// transaction: a process killed at any moment loses nothing it
// acknowledged, and opening the file again hands out whatever was in flight,
// marked redelivered; with synchronous: full, nothing acknowledged is lost
// to a power cut either.
//
// Its PLUGINS config:
//
//	config:
//	  synchronous: normal   # normal (default): survives a killed process;
//	                        # full: also survives a power cut (fsync per call)
//
// Build it with go build, declare it in settings.yaml with the sha256 of the
// binary, and select a queue by name:
//
//	PLUGINS:
//	  - name: sqlitequeue
//	    command: ["./sqlitequeue"]
//	    sha256: "…"
//	    provides:
//	      - {name: sqlitequeue.FifoDiskQueue, kind: queue}
//	SCHEDULER_DISK_QUEUE: sqlitequeue.FifoDiskQueue
package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/plugins/sdk"
)

// Names of the components this plugin provides.
const (
	FifoName       = "sqlitequeue.FifoDiskQueue"
	LifoName       = "sqlitequeue.LifoDiskQueue"
	PriorityName   = "sqlitequeue.PriorityQueue"
	DupeFilterName = "sqlitequeue.DupeFilter"
)

// config is the plugin's PLUGINS config.
type config struct {
	Synchronous string `json:"synchronous"`
}

// settings holds the configured values; Configure runs before any Open.
type settings struct {
	mu   sync.Mutex
	sync string
}

func (s *settings) configure(raw json.RawMessage, _ zerolog.Logger) error {
	c := config{Synchronous: "normal"}
	if err := sdk.DecodeConfig(raw, &c); err != nil {
		return err
	}
	v := strings.ToLower(strings.TrimSpace(c.Synchronous))
	switch v {
	case "normal", "full", "extra":
	default:
		return fmt.Errorf("%w: synchronous: want normal, full or extra, got %q", sdk.ErrBadConfig, c.Synchronous)
	}
	s.mu.Lock()
	s.sync = v
	s.mu.Unlock()
	return nil
}

func (s *settings) synchronous() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sync == "" {
		return "normal"
	}
	return s.sync
}

// newPlugin returns the plugin this binary serves.
func newPlugin() sdk.Plugin {
	st := &settings{}
	return sdk.Plugin{
		Name:    "sqlitequeue",
		Version: "1.0.0",
		Stores: map[string]sdk.StoreFactory{
			FifoName: {Order: sdk.FIFO, Doc: "SQLite disk queue, FIFO, one database per job, durable in-flight tracking", New: func(o sdk.StoreOptions) (sdk.Store, error) {
				return openJobStore(o.Key, false, st.synchronous())
			}},
			LifoName: {Order: sdk.LIFO, Doc: "SQLite disk queue, LIFO, one database per job, durable in-flight tracking", New: func(o sdk.StoreOptions) (sdk.Store, error) {
				return openJobStore(o.Key, true, st.synchronous())
			}},
		},
		PriorityQueues: map[string]sdk.QueueFactory{
			PriorityName: {Doc: "SQLite priority queue: higher priority first, FIFO within a priority", New: func(o sdk.QueueOptions) (sdk.Queue, error) {
				k := kindPriority
				if o.SeparateStart {
					k = kindPriorityStart
				}
				if !o.Persistent || o.Key == "" {
					return openMemoryQueue(k)
				}
				return openQueue(o.Key, k, st.synchronous())
			}},
		},
		DupeFilters: map[string]sdk.DupeFilterFactory{
			DupeFilterName: {Doc: "SQLite duplicate filter in JOBDIR; fingerprints become durable at close", New: func(o sdk.DupeFilterOptions) (sdk.DupeFilter, error) {
				return openDupeFilter(o.JobDir, st.synchronous())
			}},
		},
		Configure: st.configure,
	}
}

func main() {
	sdk.Serve(newPlugin())
}
