package crawl

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/plugins/host"
	"github.com/frontier-go/frontier/registry"
)

// Options is what [Open] builds a crawl from. The zero value is a crawl with
// the built-in defaults (settings.yaml embedded in frontier), the built-in
// components, a logger on stderr and a spider named "default".
type Options struct {
	// SettingsFile is a YAML settings file over the built-in defaults; ""
	// means none.
	SettingsFile string
	// Environ is the environment the FRONTIER_<NAME> variables are read
	// from, as os.Environ returns it; nil reads none. Pass os.Environ() for
	// the process's.
	Environ []string
	// Set overrides settings, NAME=VALUE as frontier's -s takes them, applied
	// in order over the file and the environment.
	Set []string
	// Settings, when not nil, are the crawl's settings as they are, built in
	// code; SettingsFile, Environ and Set must then be empty.
	Settings *framework.Settings

	// Registry resolves the settings' component names. nil means a new one
	// with every built-in component (builtin.Register). A registry given
	// here is used as is, so that a program registers its own components
	// beside the built-ins. Either way, the plugins PLUGINS declares are
	// added to it (host.Register) and stopped by Close.
	Registry *registry.Registry
	// Logger is the crawl's logger. nil means one that honours LOG_LEVEL and
	// LOG_FORMAT, writing to stderr ([NewLogger]); &zerolog.Logger{} (or
	// zerolog.Nop()) is silent.
	Logger *zerolog.Logger
	// Spider is the crawl's spider: its named callbacks decode stored
	// requests, and its State is kept in the job directory. nil means
	// framework.NewSpider("default").
	Spider *framework.Spider
}

// Validate checks the options that can be checked without reading anything:
// settings given both ready-made and as sources, an override that is not
// NAME=VALUE.
func (o *Options) Validate() error {
	if o.Settings != nil && (o.SettingsFile != "" || o.Environ != nil || len(o.Set) > 0) {
		return fmt.Errorf("%w: Settings is set, so SettingsFile, Environ and Set must be empty", ErrOptions)
	}
	for i, kv := range o.Set {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			return fmt.Errorf("%w: Set[%d] = %q: want NAME=VALUE", ErrOptions, i, kv)
		}
	}
	return nil
}

// settings returns the options' settings, loaded in layers: the built-in
// defaults, SettingsFile, Environ, Set.
func (o *Options) settings() (*framework.Settings, error) {
	if o.Settings != nil {
		return o.Settings, nil
	}
	return framework.LoadSettings(framework.LoadOptions{File: o.SettingsFile, Environ: o.Environ, Overrides: o.Set})
}

// logger returns Logger, or the one the settings ask for on stderr.
func (o *Options) logger(s *framework.Settings) (zerolog.Logger, error) {
	if o.Logger != nil {
		return *o.Logger, nil
	}
	return NewLogger(s, os.Stderr)
}

// NewRegistry returns a registry with every built-in component and the
// plugins the settings declare (PLUGINS); the manager stops the plugins.
func NewRegistry(s *framework.Settings) (*registry.Registry, *host.Manager, error) {
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		return nil, nil, err
	}
	plugins, err := host.Register(reg, s)
	if err != nil {
		return nil, nil, err
	}
	return reg, plugins, nil
}

// registry returns Registry with the plugins the settings declare added,
// or a new one ([NewRegistry]); the manager stops the plugins.
func (o *Options) registry(s *framework.Settings) (*registry.Registry, *host.Manager, error) {
	if o.Registry == nil {
		return NewRegistry(s)
	}
	plugins, err := host.Register(o.Registry, s)
	if err != nil {
		return nil, nil, err
	}
	return o.Registry, plugins, nil
}

// crawler builds the crawler the options describe, after checking every
// setting's value (component names against the registry), as frontier's
// commands do; the manager stops the plugins it declares.
func (o *Options) crawler() (*framework.Crawler, *host.Manager, error) {
	if err := o.Validate(); err != nil {
		return nil, nil, err
	}
	s, err := o.settings()
	if err != nil {
		return nil, nil, err
	}
	reg, plugins, err := o.registry(s)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Validate(reg); err != nil {
		return nil, nil, errors.Join(err, plugins.Close())
	}
	log, err := o.logger(s)
	if err != nil {
		return nil, nil, errors.Join(err, plugins.Close())
	}
	for _, w := range s.Warnings() {
		log.Warn().Msg(w)
	}
	c := framework.NewCrawler(s, reg, o.Spider)
	c.Logger = log.Hook(levelCounter{c.Stats})
	return c, plugins, nil
}
