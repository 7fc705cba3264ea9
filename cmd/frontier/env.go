package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// env is what every command shares: output streams, the flags of the root
// command, the checked settings and logger, and resources to release at
// exit.
type env struct {
	stdout, stderr io.Writer
	// terminal is true when stderr is a terminal: logs are then console
	// lines, and long work shows a progress line.
	terminal bool
	// live is stderr with the crawl's progress line when it is a terminal.
	live *liveLine

	settingsFile        string
	overrides           []string
	logLevel, logFormat string
	logFile             string

	settings *framework.Settings
	log      zerolog.Logger
	closers  []func() error
}

func newEnv(stdout, stderr io.Writer) *env {
	e := &env{stdout: stdout, stderr: stderr, terminal: crawl.IsTerminal(stderr)}
	if e.terminal {
		e.live = &liveLine{w: stderr}
	}
	return e
}

// setup loads the settings, checks every value (component names against
// the built-ins and the declared plugins), and builds the logger, before
// cmd runs. Help and completion need no settings.
func (e *env) setup(cmd *cobra.Command) error {
	for c := cmd; c != nil; c = c.Parent() {
		if n := c.Name(); n == "help" || n == "completion" || strings.HasPrefix(n, cobra.ShellCompRequestCmd) {
			return nil
		}
	}
	s, err := e.loadSettings()
	if err != nil {
		return err
	}
	r, err := e.registry(s)
	if err != nil {
		return err
	}
	if err := s.Validate(r); err != nil {
		return err
	}
	var logOut io.Writer = e.stderr
	if e.live != nil {
		logOut = e.live
	}
	if e.log, err = crawl.NewLogger(s, logOut); err != nil {
		return err
	}
	for _, w := range s.Warnings() {
		e.log.Warn().Msg(w)
	}
	e.settings = s
	return nil
}

// loadSettings layers the defaults, the settings file, the environment and
// the command line (-s, then --log-level and --log-format).
func (e *env) loadSettings() (*framework.Settings, error) {
	overrides := e.overrides
	for _, o := range overrides {
		if name, _, ok := strings.Cut(o, "="); !ok || name == "" {
			return nil, usageErrorf("invalid -s %q: want -s NAME=VALUE", o)
		}
	}
	if e.logLevel != "" {
		overrides = append(overrides, "LOG_LEVEL="+e.logLevel)
	}
	if e.logFormat != "" {
		overrides = append(overrides, "LOG_FORMAT="+e.logFormat)
	}
	if e.logFile != "" {
		overrides = append(overrides, "LOG_FILE="+e.logFile)
	}
	file := e.settingsFile
	if file == "" {
		if _, err := os.Stat("settings.yaml"); err == nil {
			file = "settings.yaml"
		}
	}
	return framework.LoadSettings(framework.LoadOptions{File: file, Environ: os.Environ(), Overrides: overrides})
}

// registry returns a registry holding the built-ins and the plugins the
// settings declare.
func (e *env) registry(s *framework.Settings) (*registry.Registry, error) {
	r, plugins, err := crawl.NewRegistry(s)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, plugins.Close)
	return r, nil
}

// crawler builds a crawler over a copy of the checked settings, a fresh
// registry and spider.
func (e *env) crawler(spider *framework.Spider) (*framework.Crawler, error) {
	s := e.settings.Clone()
	r, err := e.registry(s)
	if err != nil {
		return nil, err
	}
	c := framework.NewCrawler(s, r, spider)
	c.Logger = e.log
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
