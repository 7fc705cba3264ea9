package sdk

import (
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/frontier-go/frontier/plugins/wire"
)

// parentPollInterval is how often a plugin checks that its host is alive.
const parentPollInterval = 500 * time.Millisecond

// Serve serves p to the frontier host that started the binary and exits when
// the host closes it or disappears. It never returns. Started by hand (no
// handshake cookie in the environment), it prints a short explanation to
// stderr and exits with status 1. A Plugin that fails [Plugin.Validate] is
// reported on stderr, which the host shows, and the binary exits with
// status 1.
func Serve(p Plugin) {
	stderr := os.Stderr // go-plugin replaces os.Stderr once serving
	log := NewLogger(stderr, zerolog.InfoLevel).With().Str("plugin", p.Name).Logger()
	if err := p.Validate(); err != nil {
		log.Error().Err(err).Msg("cannot serve plugin")
		os.Exit(1)
	}
	s := newServer(p, log)
	stopProfile := startProfile(log)
	go watchParent(os.Getppid(), os.Getppid, parentPollInterval, func() {
		s.mu.Lock()
		l := s.log
		s.mu.Unlock()
		l.Error().Msg("host process is gone; closing and exiting")
		if err := s.closeAll("shutdown"); err != nil {
			l.Error().Err(err).Msg("closing after the host disappeared")
		}
		stopProfile()
		os.Exit(2)
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.PluginSet(s.servers(), p.ProtocolVersions...),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, wire.ServerOptions()...)...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "go-plugin",
			Level:      hclog.Info,
			Output:     stderr,
			JSONFormat: true,
		}),
	})
	// The host closed the plugin (go-plugin's Shutdown call).
	code := 0
	if err := s.closeAll("shutdown"); err != nil {
		s.log.Error().Err(err).Msg("closing open components")
		code = 1
	}
	stopProfile()
	os.Exit(code)
}

// watchParent calls orphaned once getppid stops returning ppid: the process
// that started the plugin exited and the plugin was re-parented. It backs up
// the Pdeathsig the host sets on Linux, and covers other systems.
func watchParent(ppid int, getppid func() int, every time.Duration, orphaned func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if getppid() != ppid {
			orphaned()
			return
		}
	}
}

// ProfileEnv names the environment variable that makes a plugin write a CPU
// profile (runtime/pprof) of its whole life to the file it names. The host
// passes its environment on, so FRONTIER_PLUGIN_CPUPROFILE=plugin.prof on
// the frontier command line profiles its plugins (one file per plugin: the
// process ID is appended).
const ProfileEnv = "FRONTIER_PLUGIN_CPUPROFILE"

func startProfile(log zerolog.Logger) func() {
	path := os.Getenv(ProfileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path + "." + strconv.Itoa(os.Getpid()))
	if err != nil {
		log.Warn().Err(err).Msg("cannot write the CPU profile")
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Warn().Err(err).Msg("cannot start the CPU profile")
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
