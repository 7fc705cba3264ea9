package main

import (
	"fmt"
	"io"
	"sync"
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

// liveLine is a terminal's stderr with a status line kept at the bottom:
// each write (a log line) clears the status line, writes, and draws it
// again, so that logs and progress do not overwrite each other. Safe for
// concurrent use.
type liveLine struct {
	mu   sync.Mutex
	w    io.Writer
	line string
}

// IsTerminal tells crawl.NewLogger that the writer is a terminal.
func (l *liveLine) IsTerminal() bool { return true }

func (l *liveLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.line != "" {
		io.WriteString(l.w, "\r\x1b[K")
	}
	n, err := l.w.Write(p)
	if l.line != "" {
		io.WriteString(l.w, l.line)
	}
	return n, err
}

// Set replaces the status line; "" clears it.
func (l *liveLine) Set(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, "\r\x1b[K"+line)
	l.line = line
}
