package download

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// slot is one download slot, as Scrapy's downloader Slot: requests in it
// (active, counted from the moment Fetch is called), a concurrency limit on
// the ones transferring, and a delay between download starts.
//
// Waiting requests start in the order they arrived. A start sets the earliest
// time of the next one (Scrapy's lastseen plus the delay); a pause (Retry-After)
// holds every start back until its end. When the head of the queue waits for
// time rather than for a place, one timer wakes the slot.
type slot struct {
	conf slotConfig

	active atomic.Int64 // requests inside Fetch for this slot, waiting or not

	mu           sync.Mutex
	transferring int
	queue        []*waiter // FIFO
	next         time.Time // earliest next start: last start + delay
	paused       time.Time // no start before
	timer        *time.Timer
	timerAt      time.Time // when timer fires; zero when not armed
	lastUsed     time.Time // last release, for forgetting idle slots
}

type waiter struct {
	ch      chan struct{}
	granted bool
}

func newSlot(conf slotConfig, now time.Time) *slot {
	return &slot{conf: conf, lastUsed: now}
}

// acquire waits for a place to transfer and for the delay and pause, in
// arrival order. It returns ctx's error, or errClosed when done is closed
// first, and then holds no place.
func (s *slot) acquire(ctx context.Context, done <-chan struct{}) error {
	s.mu.Lock()
	now := time.Now()
	if len(s.queue) == 0 && s.canStart(now) {
		s.start(now)
		s.mu.Unlock()
		return nil
	}
	w := &waiter{ch: make(chan struct{})}
	s.queue = append(s.queue, w)
	s.dispatch(now)
	s.mu.Unlock()

	var err error
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = errClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		s.transferring--
	} else {
		for i, q := range s.queue {
			if q == w {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
	}
	s.dispatch(time.Now())
	return err
}

// release gives back the place acquire took.
func (s *slot) release() {
	s.mu.Lock()
	now := time.Now()
	s.transferring--
	s.lastUsed = now
	if len(s.queue) > 0 {
		s.dispatch(now)
	}
	s.mu.Unlock()
}

// pause holds starts back until until.
func (s *slot) pause(until time.Time) {
	s.mu.Lock()
	if until.After(s.paused) {
		s.paused = until
	}
	s.dispatch(time.Now())
	s.mu.Unlock()
}

func (s *slot) canStart(now time.Time) bool {
	return (s.conf.concurrency == 0 || s.transferring < s.conf.concurrency) &&
		!now.Before(s.next) && !now.Before(s.paused)
}

func (s *slot) start(now time.Time) {
	s.transferring++
	if d := s.conf.delay; d > 0 {
		if s.conf.randomize {
			d = time.Duration((0.5 + rand.Float64()) * float64(d))
		}
		s.next = now.Add(d)
	}
}

// dispatch starts waiting requests while the slot lets them, and arms the
// timer when the head of the queue waits only for time. s.mu is held.
func (s *slot) dispatch(now time.Time) {
	for len(s.queue) > 0 && s.canStart(now) {
		w := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		w.granted = true
		close(w.ch)
		s.start(now)
	}
	if len(s.queue) == 0 {
		s.queue = nil // let the backing array go
		return
	}
	if s.conf.concurrency != 0 && s.transferring >= s.conf.concurrency {
		return // a release dispatches again
	}
	at := s.next
	if s.paused.After(at) {
		at = s.paused
	}
	if !s.timerAt.IsZero() && !s.timerAt.After(at) {
		return // armed for earlier; it dispatches and re-arms
	}
	s.timerAt = at
	if s.timer == nil {
		s.timer = time.AfterFunc(at.Sub(now), s.wake)
	} else {
		s.timer.Reset(at.Sub(now))
	}
}

func (s *slot) wake() {
	s.mu.Lock()
	s.timerAt = time.Time{}
	s.dispatch(time.Now())
	s.mu.Unlock()
}

// idle reports whether the slot has nothing to remember at now: no request,
// no pause or delay still running, and no use for longer than age.
func (s *slot) idle(now time.Time, age time.Duration) bool {
	if s.active.Load() != 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transferring == 0 && len(s.queue) == 0 &&
		now.Sub(s.lastUsed) > age && now.After(s.next) && now.After(s.paused)
}

// stop stops the timer of a slot being forgotten.
func (s *slot) stop() {
	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
}
