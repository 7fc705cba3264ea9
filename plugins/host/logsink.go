package host

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"
)

// lastLogLines is how many of a plugin's last stderr lines are kept for
// error messages.
const lastLogLines = 3

// logSink forwards go-plugin's logging (its own, and the plugin's stderr
// lines it parses) to zerolog at the same level, and remembers the plugin's
// last error lines and how its process ended.
type logSink struct {
	log zerolog.Logger

	mu      sync.Mutex
	last    []string // the plugin's last stderr lines
	crash   string   // its first "panic:" or "fatal error:" line
	status  string
	closing bool

	// out is held while a line goes to log. go-plugin's stdio goroutine
	// outlives Client.Kill, so detach stops every write once the host has let
	// the process go: nothing reaches the caller's logger after that.
	out      sync.Mutex
	detached bool
}

var _ hclog.SinkAdapter = (*logSink)(nil)

// newHCLogger returns the hclog logger go-plugin is given: it prints nothing
// itself and hands every line to sink.
func newHCLogger(sink *logSink) hclog.Logger {
	il := hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   "plugin",
		Level:  hclog.Trace,
		Output: io.Discard,
	})
	il.RegisterSink(sink)
	return il
}

func zerologLevel(l hclog.Level) zerolog.Level {
	switch l {
	case hclog.Trace:
		return zerolog.TraceLevel
	case hclog.Debug:
		return zerolog.DebugLevel
	case hclog.Info:
		return zerolog.InfoLevel
	case hclog.Warn:
		return zerolog.WarnLevel
	case hclog.Error:
		return zerolog.ErrorLevel
	default:
		return zerolog.DebugLevel
	}
}

// Accept implements hclog.SinkAdapter. name is "plugin" for go-plugin's own
// messages and "plugin.<binary>" for lines the plugin wrote to stderr.
func (s *logSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	fromPlugin := strings.HasPrefix(name, "plugin.") && !strings.HasPrefix(name, "plugin.stdio")
	s.mu.Lock()
	if name == "plugin" && msg == "plugin process exited" {
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == "error" {
				s.status = fmt.Sprint(args[i+1])
			}
		}
		if s.status == "" {
			s.status = "exit status 0"
		}
		if s.closing {
			level = hclog.Debug
		}
	}
	if fromPlugin {
		line := msg
		if len(line) > 300 {
			line = line[:300] + "…"
		}
		if s.crash == "" && (strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ")) {
			s.crash = line
		}
		s.last = append(s.last, line)
		if len(s.last) > lastLogLines {
			s.last = s.last[len(s.last)-lastLogLines:]
		}
	}
	s.mu.Unlock()
	s.out.Lock()
	defer s.out.Unlock()
	if s.detached {
		return
	}
	e := s.log.WithLevel(zerologLevel(level))
	if e == nil {
		return
	}
	if !fromPlugin {
		e = e.Str("logger", name)
	}
	for i := 0; i+1 < len(args); i += 2 {
		k := fmt.Sprint(args[i])
		switch k {
		case "plugin": // go-plugin's name for the executable
			k = "path"
		case "level", "message", "time", "timestamp":
			k = "plugin_" + k
		}
		if err, ok := args[i+1].(error); ok {
			e = e.Str(k, err.Error())
		} else {
			e = e.Interface(k, args[i+1])
		}
	}
	e.Msg(msg)
}

// lastLog returns the line a crash started with, or else the plugin's last
// stderr lines.
func (s *logSink) lastLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crash != "" {
		return []string{s.crash}
	}
	return append([]string(nil), s.last...)
}

func (s *logSink) exitStatus() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *logSink) setClosing() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
}

// detach stops all logging for the process, waiting for a line being
// written.
func (s *logSink) detach() {
	s.out.Lock()
	s.detached = true
	s.out.Unlock()
}

// lines returns the writer go-plugin forwards the plugin's stream (stdout
// or stderr) to once the handshake is done.
func (s *logSink) lines(stream string) *lineLogger {
	return &lineLogger{sink: s, stream: stream}
}

// lineLogger is an io.Writer that logs each line written to it; go-plugin
// forwards what a plugin writes to stdout and stderr after its handshake
// (when go-plugin has replaced them with pipes) to it.
type lineLogger struct {
	sink   *logSink
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(l.buf[:i]), "\r")
		l.buf = l.buf[i+1:]
		if line != "" {
			l.emit(line)
		}
	}
	if len(l.buf) > 64<<10 {
		l.emit(string(l.buf))
		l.buf = l.buf[:0]
	}
	return len(p), nil
}

func (l *lineLogger) emit(line string) {
	l.sink.out.Lock()
	defer l.sink.out.Unlock()
	if !l.sink.detached {
		l.sink.log.Info().Str("stream", l.stream).Msg(line)
	}
}
