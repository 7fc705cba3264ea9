package crawl

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// logLevels are LOG_LEVEL's values, Scrapy's level names, as the settings
// schema allows them.
var logLevels = map[string]zerolog.Level{
	"DEBUG": zerolog.DebugLevel, "INFO": zerolog.InfoLevel, "WARNING": zerolog.WarnLevel,
	"ERROR": zerolog.ErrorLevel, "CRITICAL": zerolog.FatalLevel,
}

// NewLogger returns the logger the settings ask for: LOG_LEVEL (DEBUG, INFO,
// WARNING, ERROR, CRITICAL) and LOG_FORMAT (console, json, or auto: console
// when w is a terminal, JSON otherwise), writing to w, or to LOG_FILE when
// it is set (opened for appending, and left open for the life of the
// process). Every write goes through a lock (zerolog.SyncWriter), since
// plugin hosts log from their own goroutines.
func NewLogger(s *framework.Settings, w io.Writer) (zerolog.Logger, error) {
	file, err := s.GetString("LOG_FILE")
	if err != nil {
		return zerolog.Nop(), err
	}
	if file != "" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			st, _ := s.Lookup("LOG_FILE")
			return zerolog.Nop(), fmt.Errorf("%w: LOG_FILE=%q (from %s): %w", framework.ErrSetting, file, st.Source, err)
		}
		w = f
	}
	level, err := s.GetString("LOG_LEVEL")
	if err != nil {
		return zerolog.Nop(), err
	}
	lvl, ok := logLevels[strings.ToUpper(strings.TrimSpace(level))]
	if !ok {
		st, _ := s.Lookup("LOG_LEVEL")
		return zerolog.Nop(), fmt.Errorf("%w: LOG_LEVEL=%q (from %s): want DEBUG, INFO, WARNING, ERROR or CRITICAL", framework.ErrSetting, level, st.Source)
	}
	format, err := s.GetString("LOG_FORMAT")
	if err != nil {
		return zerolog.Nop(), err
	}
	console := zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	switch format {
	case "console":
		w = console
	case "json":
	case "auto", "":
		if IsTerminal(w) {
			w = console
		}
	default:
		st, _ := s.Lookup("LOG_FORMAT")
		return zerolog.Nop(), fmt.Errorf("%w: LOG_FORMAT=%q (from %s): want auto, console or json", framework.ErrSetting, format, st.Source)
	}
	return zerolog.New(zerolog.SyncWriter(w)).Level(lvl).With().Timestamp().Logger(), nil
}

// IsTerminal reports whether w is a terminal (a file that is a tty, not
// merely a character device such as /dev/null), or a writer over one that
// says so with an IsTerminal method.
func IsTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// levelCounter counts the crawl's log lines by level in Scrapy's
// log_count/<LEVEL> stats.
type levelCounter struct{ stats framework.Stats }

func (h levelCounter) Run(_ *zerolog.Event, level zerolog.Level, _ string) {
	if name, ok := scrapyLevel[level]; ok {
		h.stats.Inc("log_count/"+name, 1)
	}
}

var scrapyLevel = map[zerolog.Level]string{
	zerolog.DebugLevel: "DEBUG",
	zerolog.InfoLevel:  "INFO",
	zerolog.WarnLevel:  "WARNING",
	zerolog.ErrorLevel: "ERROR",
	zerolog.FatalLevel: "CRITICAL",
}
