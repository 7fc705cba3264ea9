package redisfrontier

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/redisbloom"
)

// Report is what a crawl's keys hold, for `frontier redis inspect`.
type Report struct {
	QueueKey    string        `json:"queue_key"`
	DupeKey     string        `json:"dupefilter_key"`
	Pending     int64         `json:"pending"`
	Leased      int64         `json:"leased"`
	Redelivered int64         `json:"redelivered"`
	Queues      []QueueReport `json:"queues,omitempty"`
	Leases      []LeaseReport `json:"leases,omitempty"`
	Workers     []WorkerSeen  `json:"workers,omitempty"`
	Paused      []PausedHost  `json:"paused,omitempty"`
	// Fingerprints is the exact set's count; Bloom is set when the crawl
	// has a Redis Bloom filter.
	Fingerprints int64        `json:"fingerprints"`
	Bloom        *BloomReport `json:"bloom,omitempty"`
	// Keys and MemoryBytes are the crawl's keys and their MEMORY USAGE sum.
	Keys        int   `json:"keys"`
	MemoryBytes int64 `json:"memory_bytes"`
}

// QueueReport is the pending requests of one host and priority.
type QueueReport struct {
	Host     string `json:"host"`
	Priority int    `json:"priority"`
	Pending  int64  `json:"pending"`
}

// LeaseReport is one request handed out and not acknowledged.
type LeaseReport struct {
	ID       string    `json:"id"`
	Owner    string    `json:"owner"`
	Host     string    `json:"host"`
	Priority int       `json:"priority"`
	Expires  time.Time `json:"expires"`
}

// WorkerSeen is a worker and when it last popped or renewed its leases.
type WorkerSeen struct {
	Owner    string    `json:"owner"`
	LastSeen time.Time `json:"last_seen"`
}

// PausedHost is a host not served before Until (a delay or a Retry-After).
type PausedHost struct {
	Host  string    `json:"host"`
	Until time.Time `json:"until"`
}

// BloomReport describes the crawl's Redis Bloom filter.
type BloomReport struct {
	Key       string  `json:"key"`
	Capacity  uint64  `json:"capacity"`
	ErrorRate float64 `json:"error_rate"`
	Bits      uint64  `json:"bits"`
	Hashes    int     `json:"hashes"`
	Bytes     int64   `json:"bytes"`
	Estimate  float64 `json:"estimated_fingerprints"`
}

// queueKeys returns the crawl's request lists: host -> priority -> key.
func (s *Store) queueKeys(ctx context.Context) ([]QueueReport, []string, error) {
	prefix := s.cfg.QueueKey + ":q:"
	var qs []QueueReport
	var keys []string
	it := s.client.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
	for it.Next(ctx) {
		k := it.Val()
		p, h, ok := strings.Cut(strings.TrimPrefix(k, prefix), ":")
		prio, err := strconv.Atoi(p)
		if !ok || err != nil {
			return nil, nil, fmt.Errorf("%w: key %s is not a frontier queue (want %s<priority>:<host>)", ErrBadValue, k, prefix)
		}
		qs = append(qs, QueueReport{Host: h, Priority: prio})
		keys = append(keys, k)
	}
	if err := it.Err(); err != nil {
		return nil, nil, s.keyErr(prefix, err)
	}
	idx := make([]int, len(qs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		qa, qb := qs[idx[a]], qs[idx[b]]
		if qa.Host != qb.Host {
			return qa.Host < qb.Host
		}
		return qa.Priority > qb.Priority
	})
	sq, sk := make([]QueueReport, len(qs)), make([]string, len(qs))
	for i, j := range idx {
		sq[i], sk[i] = qs[j], keys[j]
	}
	return sq, sk, nil
}

// Inspect reads what the crawl's keys hold, without changing them; on a
// running crawl the figures are a snapshot taken over several calls.
func (s *Store) Inspect(ctx context.Context) (*Report, error) {
	c, err := s.Counts(ctx)
	if err != nil {
		return nil, err
	}
	r := &Report{QueueKey: s.cfg.QueueKey, DupeKey: s.cfg.DupeKey, Pending: c.Pending, Leased: c.Leased, Redelivered: c.Redelivered}
	qs, keys, err := s.queueKeys(ctx)
	if err != nil {
		return nil, err
	}
	pipe := s.client.Pipeline()
	lens := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		lens[i] = pipe.LLen(ctx, k)
	}
	workers := pipe.ZRangeWithScores(ctx, s.cfg.QueueKey+":workers", 0, -1)
	next := pipe.HGetAll(ctx, s.cfg.QueueKey+":next")
	now := pipe.Time(ctx)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, s.keyErr(s.cfg.QueueKey, err)
	}
	for i := range qs {
		qs[i].Pending = lens[i].Val()
	}
	r.Queues = qs
	leased, err := s.leased(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range leased {
		r.Leases = append(r.Leases, l.LeaseReport)
	}
	for _, z := range workers.Val() {
		r.Workers = append(r.Workers, WorkerSeen{Owner: fmt.Sprint(z.Member), LastSeen: time.UnixMilli(int64(z.Score)).UTC()})
	}
	for h, v := range next.Val() {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:next field %s = %q, want milliseconds", ErrBadValue, s.cfg.QueueKey, h, trunc(v))
		}
		if until := time.UnixMilli(ms); until.After(now.Val()) {
			r.Paused = append(r.Paused, PausedHost{Host: h, Until: until.UTC()})
		}
	}
	sort.Slice(r.Paused, func(a, b int) bool { return r.Paused[a].Host < r.Paused[b].Host })
	if r.Fingerprints, err = s.FingerprintCount(ctx); err != nil {
		return nil, err
	}
	if r.Bloom, err = s.bloomReport(ctx); err != nil {
		return nil, err
	}
	r.Keys, r.MemoryBytes, err = s.Memory(ctx)
	return r, err
}

// FingerprintCount is the number of fingerprints in the exact set.
func (s *Store) FingerprintCount(ctx context.Context) (int64, error) {
	pipe := s.client.Pipeline()
	cmds := make([]*redis.IntCmd, s.shards)
	for i := range cmds {
		cmds[i] = pipe.HLen(ctx, s.cfg.DupeKey+":"+strconv.Itoa(i))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, s.keyErr(s.cfg.DupeKey, err)
	}
	var n int64
	for _, c := range cmds {
		n += c.Val()
	}
	return n, nil
}

// bloomReport opens the crawl's Bloom filter with its stored parameters,
// or returns nil when there is none.
func (s *Store) bloomReport(ctx context.Context) (*BloomReport, error) {
	key := BloomKey(s.cfg.DupeKey)
	h, err := s.client.Get(ctx, key).Result()
	if err == redis.Nil {
		return nil, nil
	}
	if err != nil {
		return nil, s.keyErr(key, err)
	}
	var capacity uint64
	var rate float64
	for _, f := range strings.Fields(h) {
		name, val, _ := strings.Cut(f, "=")
		switch name {
		case "capacity":
			capacity, _ = strconv.ParseUint(val, 10, 64)
		case "error_rate":
			rate, _ = strconv.ParseFloat(val, 64)
		}
	}
	f, err := redisbloom.New(s.client, key, capacity, rate)
	if err != nil {
		return nil, err
	}
	st, err := f.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return &BloomReport{Key: key, Capacity: capacity, ErrorRate: rate, Bits: st.Bits, Hashes: st.Hashes, Bytes: st.Bytes, Estimate: st.Count}, nil
}

// Memory sums MEMORY USAGE over the crawl's queue and dupefilter keys.
func (s *Store) Memory(ctx context.Context) (keys int, bytes int64, err error) {
	for _, p := range []string{s.cfg.QueueKey, s.cfg.DupeKey} {
		var names []string
		it := s.client.Scan(ctx, 0, globEscape(p)+":*", 1000).Iterator()
		for it.Next(ctx) {
			names = append(names, it.Val())
		}
		if err := it.Err(); err != nil {
			return 0, 0, s.keyErr(p, err)
		}
		pipe := s.client.Pipeline()
		cmds := make([]*redis.IntCmd, len(names))
		for i, k := range names {
			cmds[i] = pipe.MemoryUsage(ctx, k, 0)
		}
		if len(names) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
				return 0, 0, s.keyErr(p, err)
			}
		}
		for _, c := range cmds {
			bytes += c.Val()
		}
		keys += len(names)
	}
	return keys, bytes, nil
}

// Pending is one request of the crawl as Export hands it over: its state
// ("pending", or "leased" with its lease), host and record.
type Pending struct {
	State       string
	Host        string
	Priority    int
	Redelivered bool
	Lease       *LeaseReport
	Request     *framework.Request
}

// Export calls fn for every leased request, then every pending one, host
// by host, priority by priority (highest first), each queue in the order
// it pops (FIFO; LIFO queues pop from the end). An entry that is not a
// frontier record is an error naming its key.
func (s *Store) Export(ctx context.Context, fn func(Pending) error) error {
	rep, err := s.Inspect(ctx)
	if err != nil {
		return err
	}
	leased, err := s.leased(ctx)
	if err != nil {
		return err
	}
	for i := range leased {
		l := leased[i]
		r, err := decodeEntry(s.cfg.QueueKey+":lb field "+l.batch, l.entry)
		if err != nil {
			return err
		}
		if err := fn(Pending{State: "leased", Host: l.Host, Priority: l.Priority, Redelivered: l.entry[0] == 'r', Lease: &l.LeaseReport, Request: r}); err != nil {
			return err
		}
	}
	for _, q := range rep.Queues {
		key := s.cfg.QueueKey + ":q:" + strconv.Itoa(q.Priority) + ":" + q.Host
		const chunk = 1000
		for lo := int64(0); ; lo += chunk {
			es, err := s.client.LRange(ctx, key, lo, lo+chunk-1).Result()
			if err != nil {
				return s.keyErr(key, err)
			}
			if s.cfg.LIFO {
				// Export pops' order: LIFO queues pop the list's end. A
				// chunked reverse read would need the length first; a
				// LIFO queue is read whole.
				if es, err = s.client.LRange(ctx, key, 0, -1).Result(); err != nil {
					return s.keyErr(key, err)
				}
				for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
					es[i], es[j] = es[j], es[i]
				}
			}
			for i, e := range es {
				r, err := decodeEntry(fmt.Sprintf("%s index %d", key, lo+int64(i)), e)
				if err != nil {
					return err
				}
				if err := fn(Pending{State: "pending", Host: q.Host, Priority: q.Priority, Redelivered: e[0] == 'r', Request: r}); err != nil {
					return err
				}
			}
			if s.cfg.LIFO || len(es) < chunk {
				break
			}
		}
	}
	return nil
}

// leasedRequest is a request of a lease batch, not acknowledged.
type leasedRequest struct {
	LeaseReport
	batch, entry string
}

// leased reads the lease batches and returns their requests not
// acknowledged, batch by batch in expiry order, each batch in the order it
// was popped.
func (s *Store) leased(ctx context.Context) ([]leasedRequest, error) {
	q := s.cfg.QueueKey
	pipe := s.client.Pipeline()
	batches := pipe.ZRangeWithScores(ctx, q+":leases", 0, -1)
	owners := pipe.HGetAll(ctx, q+":lo")
	states := pipe.HGetAll(ctx, q+":la")
	blobs := pipe.HGetAll(ctx, q+":lb")
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, s.keyErr(q, err)
	}
	var out []leasedRequest
	for _, z := range batches.Val() {
		b := fmt.Sprint(z.Member)
		st, blob := states.Val()[b], blobs.Val()[b]
		if st == "" {
			continue // acknowledged between two reads
		}
		es, err := batchEntries(blob)
		if err != nil {
			return nil, fmt.Errorf("%w: %s:lb field %s: %w", ErrBadValue, q, b, err)
		}
		if len(st) != len(es)+1 {
			return nil, fmt.Errorf("%w: %s:la field %s = %q does not match the %d requests of the batch", ErrBadValue, q, b, trunc(st), len(es))
		}
		for k, e := range es {
			if st[k+1] != '0' {
				continue
			}
			prio, err := strconv.Atoi(e.priority)
			if err != nil {
				return nil, fmt.Errorf("%w: %s:lb field %s: priority %q", ErrBadValue, q, b, trunc(e.priority))
			}
			out = append(out, leasedRequest{
				LeaseReport: LeaseReport{ID: b + "." + strconv.Itoa(k+1), Owner: owners.Val()[b], Host: e.host,
					Priority: prio, Expires: time.UnixMilli(int64(z.Score)).UTC()},
				batch: b, entry: e.entry,
			})
		}
	}
	return out, nil
}

type batchEntry struct{ priority, host, entry string }

// batchEntries parses a lease batch: a MessagePack array (as Redis's
// cmsgpack writes it) of, per request, its priority, host and entry.
func batchEntries(blob string) ([]batchEntry, error) {
	fields, err := msgpackStrings(blob)
	if err != nil {
		return nil, fmt.Errorf("not a lease batch: %w (was the key written by another program?)", err)
	}
	if len(fields)%3 != 0 {
		return nil, fmt.Errorf("not a lease batch: %d fields, not triples (was the key written by another program?)", len(fields))
	}
	es := make([]batchEntry, 0, len(fields)/3)
	for i := 0; i < len(fields); i += 3 {
		es = append(es, batchEntry{fields[i], fields[i+1], fields[i+2]})
	}
	return es, nil
}

// msgpackStrings decodes a MessagePack array of strings (fixstr, str 8, 16
// and 32, or bin 8, 16 and 32), the whole of b.
func msgpackStrings(b string) ([]string, error) {
	if b == "" {
		return nil, fmt.Errorf("empty")
	}
	n, i := 0, 1
	switch t := b[0]; {
	case t >= 0x90 && t <= 0x9f:
		n = int(t & 0x0f)
	case t == 0xdc && len(b) >= 3:
		n, i = int(b[1])<<8|int(b[2]), 3
	case t == 0xdd && len(b) >= 5:
		n, i = int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4]), 5
	default:
		return nil, fmt.Errorf("byte 0 is %#x, not an array", t)
	}
	out := make([]string, 0, min(n, len(b)))
	for range n {
		if i >= len(b) {
			return nil, fmt.Errorf("cut short at byte %d", i)
		}
		t, size, head := b[i], 0, 1
		switch {
		case t >= 0xa0 && t <= 0xbf:
			size = int(t & 0x1f)
		case (t == 0xd9 || t == 0xc4) && i+2 <= len(b):
			size, head = int(b[i+1]), 2
		case (t == 0xda || t == 0xc5) && i+3 <= len(b):
			size, head = int(b[i+1])<<8|int(b[i+2]), 3
		case (t == 0xdb || t == 0xc6) && i+5 <= len(b):
			size, head = int(b[i+1])<<24|int(b[i+2])<<16|int(b[i+3])<<8|int(b[i+4]), 5
		default:
			return nil, fmt.Errorf("byte %d is %#x, not a string", i, t)
		}
		if size > len(b)-i-head {
			return nil, fmt.Errorf("string at byte %d overruns the value", i)
		}
		out = append(out, b[i+head:i+head+size])
		i += head + size
	}
	if i != len(b) {
		return nil, fmt.Errorf("%d bytes after the array", len(b)-i)
	}
	return out, nil
}

func decodeEntry(where, e string) (*framework.Request, error) {
	if len(e) == 0 || (e[0] != 'n' && e[0] != 'r') {
		return nil, fmt.Errorf("%w: %s holds %q, not a frontier entry: was the key written by another program?", ErrBadValue, where, trunc(e))
	}
	r, err := framework.DecodeRequest([]byte(e[1:]), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadValue, where, err)
	}
	return r, nil
}

// ServerCPU returns the CPU time (user and system) the Redis server's
// process has used, from INFO cpu: the difference over some work is what
// it cost the shared server, whichever machines the clients run on.
func ServerCPU(ctx context.Context, client redis.UniversalClient) (time.Duration, error) {
	info, err := client.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var sec float64
	found := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_user" && k != "used_cpu_sys") {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("redisfrontier: INFO cpu: %q: %w", line, err)
		}
		sec += x
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("redisfrontier: INFO cpu has no used_cpu_user and used_cpu_sys")
	}
	return time.Duration(sec * float64(time.Second)), nil
}
