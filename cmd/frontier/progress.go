package main

import (
	"fmt"
	"io"
	"time"
)

// progressEvery is how often the progress line is rewritten at most.
const progressEvery = 250 * time.Millisecond

// progress shows how far long work has got: one line on a terminal's
// stderr, rewritten in place at most every progressEvery and cleared when
// the work is done. A nil *progress shows nothing, so that commands call it
// whether or not stderr is a terminal. Its methods are called from one
// goroutine at a time.
type progress struct {
	w     io.Writer
	label string
	start time.Time
	next  time.Time
	shown bool
}

// progress returns a progress line for label on stderr when stderr is a
// terminal, and nil otherwise.
func (e *env) progress(label string) *progress {
	if !e.terminal {
		return nil
	}
	now := time.Now()
	return &progress{w: e.stderr, label: label, start: now, next: now.Add(progressEvery)}
}

// update shows done out of total (total < 1 when unknown), with the rate.
func (p *progress) update(done, total int64) {
	if p == nil {
		return
	}
	now := time.Now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(progressEvery)
	line := fmt.Sprintf("%s %d", p.label, done)
	if total > 0 {
		line += fmt.Sprintf(" of %d (%d%%)", total, done*100/total)
	}
	if secs := now.Sub(p.start).Seconds(); secs > 0 {
		line += fmt.Sprintf(", %.0f/s", float64(done)/secs)
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.shown = true
}

// done clears the line, if one was shown.
func (p *progress) done() {
	if p != nil && p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
