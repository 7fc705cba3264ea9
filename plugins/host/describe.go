package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	pluginpb "github.com/frontier-go/frontier/plugins/proto/v1"
	"github.com/frontier-go/frontier/registry"
)

// Description is what a plugin binary provides, as `frontier plugins
// describe` prints it.
type Description struct {
	// Path is the executable that was run, and SHA256 its digest in hex, to
	// copy into the PLUGINS entry.
	Path    string
	SHA256  string
	Plugin  string
	Version string
	// Components are sorted by name.
	Components []DescribedComponent
}

// DescribedComponent is one component of a Description.
type DescribedComponent struct {
	Name  string
	Kind  registry.Kind
	Order string // "fifo", "lifo" or "" for queues in another order
	Doc   string
}

// Describe starts the plugin command (the executable, then its arguments)
// without a checksum check, asks what it provides, and stops it. Start-up
// failures are the typed errors a PLUGINS entry would give.
func Describe(ctx context.Context, command []string, startTimeout time.Duration, log zerolog.Logger) (*Description, error) {
	if len(command) == 0 {
		return nil, fmt.Errorf("%w: empty command", ErrBinaryNotFound)
	}
	if startTimeout <= 0 {
		startTimeout = DefaultStartTimeout
	}
	decl := Decl{Name: command[0], Command: command, InsecureSkipChecksum: true, StartTimeout: startTimeout, CallTimeout: DefaultCallTimeout}
	path, err := resolveCommand(command[0])
	if err != nil {
		return nil, &PluginError{Plugin: decl.Name, Op: "start", Err: err}
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return nil, &PluginError{Plugin: decl.Name, Op: "start", Err: fmt.Errorf("%w: %w", ErrBinaryNotFound, err)}
	}
	p := &process{decl: decl, sink: &logSink{log: log}}
	client := newClient(decl, path, p.sink)
	defer stopProcess(client, p.sink)
	clients, err := connect(client)
	if err != nil {
		if errors.Is(err, ErrPluginExited) {
			return nil, &PluginExitedError{Plugin: decl.Name, Op: "start", Status: p.sink.exitStatus(), LastLog: p.sink.lastLog()}
		}
		return nil, &PluginError{Plugin: decl.Name, Op: "start", Err: err, LastLog: p.sink.lastLog()}
	}
	p.client, p.clients = client, clients
	cctx, cancel := context.WithTimeout(ctx, decl.CallTimeout)
	defer cancel()
	resp, err := clients.Plugin.Describe(cctx, &pluginpb.DescribeRequest{})
	if err != nil {
		return nil, p.callErr("Describe", err)
	}
	d := &Description{Path: path, SHA256: sum, Plugin: resp.GetPlugin(), Version: resp.GetVersion()}
	for _, c := range resp.GetComponents() {
		k, ok := protoKinds[c.GetKind()]
		if !ok {
			k = registry.Kind(fmt.Sprintf("unknown kind %d", c.GetKind()))
		}
		dc := DescribedComponent{Name: c.GetName(), Kind: k, Doc: c.GetDoc()}
		if k == registry.KindQueue {
			switch c.GetOrder() {
			case pluginpb.Order_ORDER_FIFO:
				dc.Order = "fifo"
			case pluginpb.Order_ORDER_LIFO:
				dc.Order = "lifo"
			}
		}
		d.Components = append(d.Components, dc)
	}
	return d, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
