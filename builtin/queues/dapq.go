package queues

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"

	"github.com/frontier-go/frontier/framework"
)

// DownloaderAwarePriorityQueue keeps one [ScrapyPriorityQueue] per download
// slot (meta["download_slot"], or the URL's host) and pops from the slot with
// the fewest active downloads, rotating round-robin by slot name among ties,
// as Scrapy 2.15 and later. Priority orders requests inside a slot, not across
// slots.
//
// Active downloads come from Crawler.Downloader when an engine provides it.
// Without one, the queue counts its own deliveries: a request is active from
// Pop until Ack.
type DownloaderAwarePriorityQueue struct {
	ctx   context.Context
	c     *framework.Crawler
	cfg   framework.PriorityQueueConfig
	view  framework.SlotActivity
	slots map[string]*ScrapyPriorityQueue
	n     int

	// Standalone counting (view == nil): active downloads per slot, the
	// slots with queued requests in name order, and how many of those sit at
	// each active count (levels[a]).
	counts   map[string]*slotCount
	order    []*slotCount
	levels   []int
	minLevel int
	lastIdx  int // index of last in order when it was chosen
	inflight map[*framework.Request]*slotCount

	// draining holds emptied slot queues that wait for acknowledgements.
	draining map[string]*ScrapyPriorityQueue

	last    string
	hasLast bool

	disk *dapqDisk // nil in memory
}

// slotCount is one slot's active downloads, as the queue counts them itself;
// it exists while the slot has queued requests or active downloads.
type slotCount struct {
	name   string
	active int
	queued bool
}

var (
	_ framework.PriorityQueue   = (*DownloaderAwarePriorityQueue)(nil)
	_ framework.Peeker          = (*DownloaderAwarePriorityQueue)(nil)
	_ framework.Acker           = (*DownloaderAwarePriorityQueue)(nil)
	_ framework.Flusher         = (*DownloaderAwarePriorityQueue)(nil)
	_ framework.InFlightTracker = (*DownloaderAwarePriorityQueue)(nil)
)

// NewDownloaderAwarePriorityQueue returns an empty queue. It refuses
// CONCURRENT_REQUESTS_PER_IP other than 0, as Scrapy does.
func NewDownloaderAwarePriorityQueue(ctx context.Context, c *framework.Crawler, cfg framework.PriorityQueueConfig) (*DownloaderAwarePriorityQueue, error) {
	if cfg.Downstream == nil {
		return nil, ErrNoDownstream
	}
	perIP, err := c.Settings.GetInt("CONCURRENT_REQUESTS_PER_IP")
	if err != nil {
		return nil, err
	}
	if perIP != 0 {
		return nil, ErrPerIP
	}
	q := &DownloaderAwarePriorityQueue{
		ctx:      ctx,
		c:        c,
		cfg:      cfg,
		view:     c.Downloader,
		slots:    map[string]*ScrapyPriorityQueue{},
		counts:   map[string]*slotCount{},
		inflight: map[*framework.Request]*slotCount{},
	}
	if cfg.Job != nil && cfg.Key != "" {
		if err := q.openJournal(); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// DownloaderAwarePriorityQueueFactory is the registry factory of [DownloaderAwarePriorityQueue].
func DownloaderAwarePriorityQueueFactory(ctx context.Context, c *framework.Crawler, cfg framework.PriorityQueueConfig) (framework.PriorityQueue, error) {
	return NewDownloaderAwarePriorityQueue(ctx, c, cfg)
}

// Push adds r to its slot's priority queue.
func (q *DownloaderAwarePriorityQueue) Push(r *framework.Request) error {
	slot := r.Slot()
	pq, ok := q.slots[slot]
	if !ok {
		var err error
		pq, err = q.openSlot(slot)
		if err != nil {
			return err
		}
	}
	if err := pq.Push(r); err != nil {
		if !ok {
			q.dropSlot(slot, pq)
		}
		return err
	}
	q.touch(pq)
	if !ok {
		q.slots[slot] = pq
		if q.view == nil {
			q.addQueued(slot)
		}
	}
	q.n++
	return nil
}

func (q *DownloaderAwarePriorityQueue) openSlot(slot string) (*ScrapyPriorityQueue, error) {
	if q.disk != nil {
		return q.disk.openSlot(q, slot)
	}
	cfg := q.cfg
	if cfg.Key != "" {
		cfg.Key += "/" + PathSafe(slot)
	}
	return NewScrapyPriorityQueue(q.ctx, q.c, cfg)
}

// dropSlot closes an emptied slot queue and, on disk, removes its directory.
// A persistent queue does both at the next Flush.
func (q *DownloaderAwarePriorityQueue) dropSlot(slot string, pq *ScrapyPriorityQueue) error {
	if q.disk != nil {
		q.disk.dropSlot(slot, pq)
		return nil
	}
	err := pq.Close()
	if q.cfg.Key != "" {
		// An emptied slot leaves an empty directory behind (Scrapy #5275);
		// remove it, ignoring failure as Scrapy does: another bucket may
		// still hold files there.
		_ = os.Remove(q.cfg.Key + "/" + PathSafe(slot))
	}
	return err
}

// next chooses the slot Pop takes from: the fewest active downloads, ties
// going to the smallest slot name after the last one chosen, wrapping around.
func (q *DownloaderAwarePriorityQueue) next() string {
	if q.view == nil {
		return q.order[q.nextIndex()].name
	}
	// An engine's view changes outside this queue: look at every slot.
	least, first, after := -1, "", ""
	for s := range q.slots {
		a := q.view.Active(s)
		if least == -1 || a < least {
			least, first, after = a, s, ""
			if q.hasLast && s > q.last {
				after = s
			}
			continue
		}
		if a != least {
			continue
		}
		if s < first {
			first = s
		}
		if q.hasLast && s > q.last && (after == "" || s < after) {
			after = s
		}
	}
	if after != "" {
		return after
	}
	return first
}

// nextIndex is next over the queue's own counts: from the slot after the
// last one chosen, in name order, the first at the lowest active count. When
// the counts are even, as when every slot has as many downloads in flight,
// that is the very next slot.
func (q *DownloaderAwarePriorityQueue) nextIndex() int {
	for q.minLevel < len(q.levels) && q.levels[q.minLevel] == 0 {
		q.minLevel++
	}
	n := len(q.order)
	start := 0
	if q.hasLast {
		if q.lastIdx < n && q.order[q.lastIdx].name == q.last {
			start = q.lastIdx + 1
		} else {
			start = q.orderIndex(q.last)
			if start < n && q.order[start].name == q.last {
				start++
			}
		}
	}
	for k := 0; k < n; k++ {
		i := (start + k) % n
		if q.order[i].active == q.minLevel {
			return i
		}
	}
	panic("queues: no slot at the lowest active count") // levels and order disagree: a bug
}

// orderIndex returns where slot is, or would be, in order.
func (q *DownloaderAwarePriorityQueue) orderIndex(slot string) int {
	i, _ := slices.BinarySearchFunc(q.order, slot, func(c *slotCount, s string) int { return strings.Compare(c.name, s) })
	return i
}

// addQueued records that slot has queued requests.
func (q *DownloaderAwarePriorityQueue) addQueued(slot string) {
	c, ok := q.counts[slot]
	if !ok {
		c = &slotCount{name: slot}
		q.counts[slot] = c
	}
	c.queued = true
	q.order = slices.Insert(q.order, q.orderIndex(slot), c)
	q.level(c.active, 1)
}

// removeQueued records that c's slot has no queued requests left.
func (q *DownloaderAwarePriorityQueue) removeQueued(c *slotCount) {
	if i := q.orderIndex(c.name); i < len(q.order) && q.order[i] == c {
		q.order = slices.Delete(q.order, i, i+1)
	}
	q.level(c.active, -1)
	c.queued = false
	if len(q.order) == 0 {
		q.minLevel = 0
	}
	if c.active == 0 {
		delete(q.counts, c.name)
	}
}

// level adds d to the number of queued slots at active count a.
func (q *DownloaderAwarePriorityQueue) level(a, d int) {
	for len(q.levels) <= a {
		q.levels = append(q.levels, 0)
	}
	q.levels[a] += d
	if d > 0 {
		q.minLevel = min(q.minLevel, a)
	}
}

// setActive changes c's active count, keeping the levels of queued slots.
func (q *DownloaderAwarePriorityQueue) setActive(c *slotCount, a int) {
	if c.queued {
		q.level(c.active, -1)
		q.level(a, 1)
	}
	c.active = a
	if a == 0 && !c.queued {
		delete(q.counts, c.name)
	}
}

// Pop removes and returns a request from the least busy slot, or nil.
func (q *DownloaderAwarePriorityQueue) Pop() (*framework.Request, error) {
	if len(q.slots) == 0 {
		return nil, nil
	}
	var (
		slot string
		c    *slotCount
	)
	if q.view == nil {
		q.lastIdx = q.nextIndex()
		c = q.order[q.lastIdx]
		slot = c.name
	} else {
		slot = q.next()
	}
	pq := q.slots[slot]
	before := pq.Len()
	r, err := pq.Pop()
	if err != nil || r == nil {
		return nil, q.skipped(slot, c, pq, before, err)
	}
	q.n--
	q.touch(pq)
	q.last, q.hasLast = slot, true
	if q.view == nil {
		q.setActive(c, c.active+1)
		q.inflight[r] = c
		if pq.Len() == 0 {
			q.removeQueued(c)
		}
	}
	if pq.Len() == 0 && pq.InFlight() == 0 {
		delete(q.slots, slot)
		if err := q.dropSlot(slot, pq); err != nil {
			return r, err
		}
	} else if pq.Len() == 0 {
		delete(q.slots, slot) // kept alive by in-flight acknowledgements below
		q.waiting(slot, pq)
	}
	return r, nil
}

// waiting keeps emptied slot queues whose downstream queues still wait for
// acknowledgements.
func (q *DownloaderAwarePriorityQueue) waiting(slot string, pq *ScrapyPriorityQueue) {
	if q.draining == nil {
		q.draining = map[string]*ScrapyPriorityQueue{}
	}
	q.draining[slot] = pq
}

// Peek returns what Pop would return, without removing it.
func (q *DownloaderAwarePriorityQueue) Peek() (*framework.Request, error) {
	if len(q.slots) == 0 {
		return nil, nil
	}
	slot := q.next()
	c := q.counts[slot]
	pq := q.slots[slot]
	before := pq.Len()
	r, err := pq.Peek()
	if err != nil {
		return nil, q.skipped(slot, c, pq, before, err)
	}
	return r, nil
}

// skipped accounts for the records the queue pq of slot (counted by c
// when there is no view) skipped in a failed Pop or Peek, which held
// before of them: the count falls with the slot's, so that Len never
// promises requests Pop will not return, and an emptied slot is removed.
// It returns err, with what removing the slot failed with.
func (q *DownloaderAwarePriorityQueue) skipped(slot string, c *slotCount, pq *ScrapyPriorityQueue, before int, err error) error {
	q.n -= before - pq.Len()
	if pq.Len() > 0 {
		return err
	}
	if q.view == nil {
		q.removeQueued(c)
	}
	delete(q.slots, slot)
	if pq.InFlight() == 0 {
		return errors.Join(err, q.dropSlot(slot, pq))
	}
	q.waiting(slot, pq)
	return err
}

// Ack reports r finished: its slot has one active download less, and the
// slot's queue passes the acknowledgement on.
func (q *DownloaderAwarePriorityQueue) Ack(r *framework.Request) error {
	var slot string
	if c, ok := q.inflight[r]; ok {
		delete(q.inflight, r)
		slot = c.name
		q.setActive(c, max(c.active-1, 0))
	} else {
		slot = r.Slot()
	}
	pq, ok := q.slots[slot]
	if !ok {
		if pq, ok = q.draining[slot]; !ok {
			return nil
		}
	}
	err := pq.Ack(r)
	if len(q.draining) == 0 {
		return err // no slot to look up by name again
	}
	if d, ok := q.draining[slot]; ok && d.Len() == 0 && d.InFlight() == 0 {
		delete(q.draining, slot)
		err = errors.Join(err, q.dropSlot(slot, d))
	}
	return err
}

// InFlight returns the number of requests popped and not yet acknowledged.
func (q *DownloaderAwarePriorityQueue) InFlight() int {
	if q.view == nil {
		return len(q.inflight)
	}
	n := 0
	for _, pq := range q.slots {
		n += pq.InFlight()
	}
	for _, pq := range q.draining {
		n += pq.InFlight()
	}
	return n
}

// Len returns the number of queued requests.
func (q *DownloaderAwarePriorityQueue) Len() int { return q.n }

// Contains reports whether slot has queued requests.
func (q *DownloaderAwarePriorityQueue) Contains(slot string) bool {
	_, ok := q.slots[slot]
	return ok
}

// Slots returns the slots that have queued requests, sorted.
func (q *DownloaderAwarePriorityQueue) Slots() []string {
	out := make([]string, 0, len(q.slots))
	for s := range q.slots {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// Tracks reports whether r, popped and not yet acknowledged, is kept in
// flight by its bucket's queue (an Acker).
func (q *DownloaderAwarePriorityQueue) Tracks(r *framework.Request) bool {
	var slot string
	if c, ok := q.inflight[r]; ok {
		slot = c.name
	} else {
		slot = r.Slot()
	}
	if pq, ok := q.slots[slot]; ok && pq.Tracks(r) {
		return true
	}
	if len(q.draining) == 0 {
		return false
	}
	pq, ok := q.draining[slot]
	return ok && pq.Tracks(r)
}

// Flush flushes every slot queue. Persistent, it writes the bucket journal,
// flushes only the slot queues used since the last Flush, closes drained
// buckets and removes the directories of emptied slots.
func (q *DownloaderAwarePriorityQueue) Flush() error {
	if q.disk != nil {
		return q.disk.flush(q, false)
	}
	var errs []error
	for _, pq := range q.slots {
		errs = append(errs, pq.Flush())
	}
	for _, pq := range q.draining {
		errs = append(errs, pq.Flush())
	}
	return errors.Join(errs...)
}

// Close closes every slot queue.
func (q *DownloaderAwarePriorityQueue) Close() error {
	if q.disk != nil {
		return q.disk.close(q)
	}
	return q.closeSlots()
}

func (q *DownloaderAwarePriorityQueue) closeSlots() error {
	var errs []error
	for s, pq := range q.slots {
		errs = append(errs, pq.Close())
		delete(q.slots, s)
	}
	for s, pq := range q.draining {
		errs = append(errs, pq.Close())
		delete(q.draining, s)
	}
	q.order, q.levels, q.minLevel = nil, nil, 0
	q.counts = map[string]*slotCount{}
	return errors.Join(errs...)
}

// PathSafe returns a directory name for a slot as Scrapy's _path_safe does:
// every character that is neither alphanumeric nor one of "-._" becomes "_",
// then "-" and the MD5 of the slot in hex are appended, so that distinct slots
// never share a directory.
func PathSafe(slot string) string {
	var b strings.Builder
	for _, c := range slot {
		if unicode.IsLetter(c) || unicode.IsNumber(c) || c == '-' || c == '.' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	sum := md5.Sum([]byte(slot))
	return fmt.Sprintf("%s-%s", b.String(), hex.EncodeToString(sum[:]))
}
