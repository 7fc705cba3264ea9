package host

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
	"github.com/frontier-go/frontier/plugins/wire"
	"github.com/frontier-go/frontier/registry"
)

// exitWait is how long a failed call waits for go-plugin to see the process
// exit before it reports the failure as a call error.
const exitWait = 3 * time.Second

// process is one plugin binary: started on first use, then shared by every
// component it provides.
type process struct {
	decl Decl

	mu       sync.Mutex
	client   *plugin.Client
	clients  *wire.Clients
	desc     *pluginpb.DescribeResponse
	sink     *logSink
	startErr error
	closed   bool
	open     map[closer]struct{} // components to close before killing
	stores   map[string]*store   // open protocol version 2 stores, by name + "\x00" + key
}

// closer is an open component the process closes on Manager.Close.
type closer interface{ closeForShutdown() }

// ensure starts the process if needed and returns its clients.
func (p *process) ensure(ctx context.Context, log zerolog.Logger) (*wire.Clients, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, &PluginError{Plugin: p.decl.Name, Op: "start", Err: ErrClosed}
	}
	if p.startErr != nil {
		return nil, p.startErr
	}
	if p.clients != nil {
		if p.client.Exited() {
			return nil, p.exitedErr("start")
		}
		return p.clients, nil
	}
	err := p.start(ctx, log)
	if err != nil {
		p.startErr = err
		return nil, err
	}
	return p.clients, nil
}

// resolveCommand finds the executable of a command.
func resolveCommand(name string) (string, error) {
	if !strings.ContainsRune(name, os.PathSeparator) && !strings.ContainsRune(name, '/') {
		path, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%w: %q is not in PATH", ErrBinaryNotFound, name)
		}
		return path, nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrBinaryNotFound, name, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%w: %s does not exist", ErrBinaryNotFound, abs)
		}
		return "", fmt.Errorf("%w: %s: %w", ErrBinaryNotFound, abs, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%w: %s is a directory", ErrBinaryNotFound, abs)
	}
	return abs, nil
}

// newClient builds the go-plugin client of a command.
func newClient(decl Decl, path string, sink *logSink) *plugin.Client {
	cmd := exec.Command(path, decl.Command[1:]...)
	setParentDeathSignal(cmd)
	var secure *plugin.SecureConfig
	if len(decl.SHA256) > 0 {
		secure = &plugin.SecureConfig{Checksum: decl.SHA256, Hash: sha256.New()}
	}
	return plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.PluginSet(wire.Servers{}),
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     decl.StartTimeout,
		Logger:           newHCLogger(sink),
		Stderr:           io.Discard,
		SyncStdout:       sink.lines("stdout"),
		SyncStderr:       sink.lines("stderr"),
		GRPCDialOptions:  wire.DialOptions(),
	})
}

// start launches the process, checks what it describes and configures it.
// p.mu is held.
func (p *process) start(ctx context.Context, log zerolog.Logger) error {
	log = log.With().Str("plugin", p.decl.Name).Logger()
	fail := func(op string, err error) error {
		return &PluginError{Plugin: p.decl.Name, Op: op, Err: err, LastLog: p.sink.lastLog()}
	}
	p.sink = &logSink{log: log}
	path, err := resolveCommand(p.decl.Command[0])
	if err != nil {
		return fail("start", err)
	}
	client := newClient(p.decl, path, p.sink)
	clients, err := connect(client)
	if err != nil {
		client.Kill()
		p.sink.detach()
		if errors.Is(err, ErrPluginExited) {
			return &PluginExitedError{Plugin: p.decl.Name, Op: "start", Status: p.sink.exitStatus(), LastLog: p.sink.lastLog()}
		}
		return fail("start", err)
	}
	p.client, p.clients = client, clients
	kill := func() {
		stopProcess(client, p.sink)
		p.client, p.clients = nil, nil
	}
	cctx, cancel := context.WithTimeout(ctx, p.decl.CallTimeout)
	defer cancel()
	desc, err := clients.Plugin.Describe(cctx, &pluginpb.DescribeRequest{})
	if err != nil {
		err = p.callErr("Describe", err)
		kill()
		return err
	}
	if err := checkProvides(p.decl, desc); err != nil {
		kill()
		return fail("describe", err)
	}
	cfg, err := json.Marshal(jsonable(p.decl.Config))
	if err != nil {
		kill()
		return fail("configure", err)
	}
	lvl := log.GetLevel()
	if lvl == zerolog.NoLevel || lvl < zerolog.TraceLevel {
		lvl = zerolog.TraceLevel
	}
	if _, err := clients.Plugin.Configure(cctx, &pluginpb.ConfigureRequest{Name: p.decl.Name, ConfigJson: cfg, LogLevel: lvl.String()}); err != nil {
		err = p.callErr("Configure", err)
		kill()
		return err
	}
	p.desc = desc
	log.Debug().Str("binary", path).Str("plugin_version", desc.GetVersion()).Msg("plugin started")
	return nil
}

// connect starts the process and dispenses frontier's plugin, classifying
// go-plugin's start errors (which are plain strings) into typed ones.
func connect(client *plugin.Client) (*wire.Clients, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, classifyStart(err)
	}
	raw, err := rpc.Dispense(wire.PluginName)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	c, ok := raw.(*wire.Clients)
	if !ok {
		return nil, fmt.Errorf("%w: dispensed %T", ErrStart, raw)
	}
	return c, nil
}

func classifyStart(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		return fmt.Errorf("%w: the executable's sha256 is not the one declared in PLUGINS (rebuilt or replaced binary?)", ErrChecksum)
	case strings.Contains(msg, "error verifying checksum"):
		return fmt.Errorf("%w: %s", ErrChecksum, msg)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("%w: no handshake within start_timeout", ErrStartTimeout)
	case strings.Contains(msg, "Failed to read any lines from plugin's stdout"):
		// Stdout closed without a line: the process exited.
		return ErrPluginExited
	case strings.Contains(msg, "Unrecognized remote plugin message"):
		return fmt.Errorf("%w: %s (a plugin must write nothing to stdout before its handshake line; log to stderr)", ErrHandshake, firstLine(msg))
	case strings.Contains(msg, "incompatible API version"), strings.Contains(msg, "incompatible core API version"):
		return fmt.Errorf("%w: %s (this frontier speaks plugin protocol versions %s; rebuild the plugin against a plugins/sdk that speaks one of them, or use a frontier that speaks the plugin's)", ErrProtocolVersion, firstLine(msg), versionList())
	case strings.Contains(msg, "unsupported plugin protocol"):
		return fmt.Errorf("%w: %s (frontier plugins must serve gRPC)", ErrHandshake, firstLine(msg))
	case strings.Contains(msg, "plugin exited before we could connect"):
		return ErrPluginExited
	default:
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
}

// versionList names the protocol versions the host speaks: "1 and 2".
func versionList() string {
	vs := make([]string, len(wire.Versions))
	for i, v := range wire.Versions {
		vs[i] = strconv.Itoa(v)
	}
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs[:len(vs)-1], ", ") + " and " + vs[len(vs)-1]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

var protoKinds = map[pluginpb.Kind]registry.Kind{
	pluginpb.Kind_KIND_QUEUE:          registry.KindQueue,
	pluginpb.Kind_KIND_PRIORITY_QUEUE: registry.KindPriorityQueue,
	pluginpb.Kind_KIND_DUPEFILTER:     registry.KindDupeFilter,
}

// checkProvides reports declared components the binary does not describe,
// or describes with another kind.
func checkProvides(d Decl, desc *pluginpb.DescribeResponse) error {
	have := map[string]registry.Kind{}
	var list []string
	for _, c := range desc.GetComponents() {
		k, ok := protoKinds[c.GetKind()]
		if !ok {
			k = registry.Kind(fmt.Sprintf("unknown kind %d", c.GetKind()))
		}
		have[c.GetName()] = k
		list = append(list, fmt.Sprintf("%s (%s)", c.GetName(), k))
	}
	var problems []string
	for _, p := range d.Provides {
		k, ok := have[p.Name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%q is declared but not provided", p.Name))
		case k != p.Kind:
			problems = append(problems, fmt.Sprintf("%q is declared as a %s but the binary provides a %s", p.Name, p.Kind, k))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	provided := "nothing"
	if len(list) > 0 {
		provided = strings.Join(list, ", ")
	}
	return fmt.Errorf("%w: %s; the binary provides %s", ErrMismatch, strings.Join(problems, "; "), provided)
}

// callErr classifies a failed call: a plugin that exited (or exits within
// exitWait of an Unavailable error) gives a *PluginExitedError, anything else
// a *PluginError wrapping ErrCall.
func (p *process) callErr(op string, err error) error {
	return p.classify(p.client, p.clients, op, err)
}

// classify is callErr without p.mu held: it may wait for the exit.
func (p *process) classify(client *plugin.Client, clients *wire.Clients, op string, err error) error {
	if err == nil {
		return nil
	}
	if client != nil && clients != nil {
		code := status.Code(err)
		if client.Exited() {
			return p.exitedErr(op)
		}
		if code == codes.Unavailable || code == codes.Canceled {
			select {
			case <-clients.Exited.Done():
			case <-time.After(exitWait):
			}
			// go-plugin sets Exited just before it cancels the context.
			if client.Exited() {
				return p.exitedErr(op)
			}
		}
	}
	st, _ := status.FromError(err)
	var cerr error
	switch st.Code() {
	case codes.DeadlineExceeded:
		cerr = fmt.Errorf("%w: no answer within call_timeout (%s)", ErrCall, p.decl.CallTimeout)
	default:
		cerr = fmt.Errorf("%w: %s: %s", ErrCall, st.Code(), st.Message())
	}
	return &PluginError{Plugin: p.decl.Name, Op: op, Err: cerr, LastLog: p.sink.lastLog()}
}

func (p *process) exitedErr(op string) error {
	return &PluginExitedError{Plugin: p.decl.Name, Op: op, Status: p.sink.exitStatus(), LastLog: p.sink.lastLog()}
}

// call runs one call with the plugin's call timeout and classifies its error.
func call[Req, Resp any](p *process, op string, fn func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.decl.CallTimeout)
	defer cancel()
	resp, err := fn(ctx, req)
	if err != nil {
		var zero Resp
		p.mu.Lock()
		client, clients := p.client, p.clients
		p.mu.Unlock()
		return zero, p.classify(client, clients, op, err)
	}
	return resp, nil
}

// track and untrack keep the set of open components.
func (p *process) track(c closer) {
	p.mu.Lock()
	if p.open == nil {
		p.open = map[closer]struct{}{}
	}
	p.open[c] = struct{}{}
	p.mu.Unlock()
}

func (p *process) untrack(c closer) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
}

// shutdown closes what is still open (pushing buffered writes out), then
// stops the process: go-plugin asks it to exit and kills it after 2 s.
func (p *process) shutdown() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	open := make([]closer, 0, len(p.open))
	for c := range p.open {
		open = append(open, c)
	}
	p.mu.Unlock()
	for _, c := range open {
		c.closeForShutdown()
	}
	p.mu.Lock()
	client, sink := p.client, p.sink
	p.mu.Unlock()
	// Without a client the process never started or was already stopped,
	// and its sink detached then.
	if client != nil {
		stopProcess(client, sink)
	}
}

// stopProcess stops a plugin process the host is done with: its exit is
// expected, so logged at debug level, and once go-plugin has let it go
// nothing more of it reaches the caller's logger.
func stopProcess(client *plugin.Client, sink *logSink) {
	sink.setClosing()
	client.Kill()
	sink.detach()
}
