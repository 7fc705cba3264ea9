package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/plugins/host"
	"github.com/frontier-go/frontier/registry"
)

// env is what every command shares: output streams, settings sources, and
// resources to release at exit.
type env struct {
	stdout, stderr io.Writer
	settingsFile   string
	overrides      multiFlag
	closers        []func() error
}

// parseGlobal parses the flags before the command name.
func parseGlobal(args []string, stdout, stderr io.Writer) (*env, []string, error) {
	e := &env{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("frontier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	e.settingsFlags(fs)
	fs.Usage = func() { usage(stderr) }
	if err := fs.Parse(args); err != nil {
		return nil, nil, errUsage
	}
	return e, fs.Args(), nil
}

// settingsFlags adds --settings and -s to a command's flags, so that they may
// come before or after the command name.
func (e *env) settingsFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.settingsFile, "settings", e.settingsFile, "settings `file` (default: ./settings.yaml when present)")
	fs.Var(&e.overrides, "s", "override a setting: -s `NAME=VALUE` (repeatable)")
}

// settings loads the layered settings and logs their warnings.
func (e *env) settings() (*framework.Settings, zerolog.Logger, error) {
	file := e.settingsFile
	if file == "" {
		if _, err := os.Stat("settings.yaml"); err == nil {
			file = "settings.yaml"
		}
	}
	s, err := framework.LoadSettings(framework.LoadOptions{File: file, Environ: os.Environ(), Overrides: e.overrides})
	if err != nil {
		return nil, zerolog.Nop(), err
	}
	log, err := e.logger(s)
	if err != nil {
		return nil, log, err
	}
	for _, w := range s.Warnings() {
		log.Warn().Msg(w)
	}
	return s, log, nil
}

// logger builds the command's logger from LOG_LEVEL and LOG_FORMAT: a
// console writer on a terminal, JSON otherwise. Plugin hosts log from
// go-plugin's goroutines, so every write goes through a lock.
func (e *env) logger(s *framework.Settings) (zerolog.Logger, error) {
	level, err := s.GetString("LOG_LEVEL")
	if err != nil {
		return zerolog.Nop(), err
	}
	lvl, ok := map[string]zerolog.Level{
		"DEBUG": zerolog.DebugLevel, "INFO": zerolog.InfoLevel, "WARNING": zerolog.WarnLevel,
		"WARN": zerolog.WarnLevel, "ERROR": zerolog.ErrorLevel, "CRITICAL": zerolog.FatalLevel,
	}[strings.ToUpper(level)]
	if !ok {
		st, _ := s.Lookup("LOG_LEVEL")
		return zerolog.Nop(), fmt.Errorf("%w: LOG_LEVEL=%q (from %s): want DEBUG, INFO, WARNING, ERROR or CRITICAL", framework.ErrSetting, level, st.Source)
	}
	format, err := s.GetString("LOG_FORMAT")
	if err != nil {
		return zerolog.Nop(), err
	}
	var w io.Writer = e.stderr
	switch format {
	case "console":
		w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: time.TimeOnly}
	case "json":
	case "auto", "":
		if f, ok := e.stderr.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: time.TimeOnly}
			}
		}
	default:
		st, _ := s.Lookup("LOG_FORMAT")
		return zerolog.Nop(), fmt.Errorf("%w: LOG_FORMAT=%q (from %s): want auto, console or json", framework.ErrSetting, format, st.Source)
	}
	return zerolog.New(zerolog.SyncWriter(w)).Level(lvl).With().Timestamp().Logger(), nil
}

// registry returns a registry holding the built-ins and the plugins the
// settings declare.
func (e *env) registry(s *framework.Settings) (*registry.Registry, error) {
	r := registry.New()
	if err := builtin.Register(r); err != nil {
		return nil, err
	}
	m, err := host.Register(r, s)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, m.Close)
	return r, nil
}

// crawler builds a crawler over the settings, the full registry and a spider.
func (e *env) crawler(spider *framework.Spider) (*framework.Crawler, error) {
	s, log, err := e.settings()
	if err != nil {
		return nil, err
	}
	r, err := e.registry(s)
	if err != nil {
		return nil, err
	}
	c := framework.NewCrawler(s, r, spider)
	c.Logger = log
	return c, nil
}

func (e *env) close() {
	var errs []error
	for i := len(e.closers) - 1; i >= 0; i-- {
		errs = append(errs, e.closers[i]())
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(e.stderr, "frontier:", err)
	}
}
