package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontier-go/frontier/plugins/host"
)

// runPlugins runs `frontier plugins describe BINARY [ARG]...`: it starts the
// plugin (without a checksum check), prints the names and kinds it provides
// and its sha256, and a PLUGINS entry ready to paste into settings.yaml.
func runPlugins(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "describe" {
		fmt.Fprintln(e.stderr, "usage: frontier plugins describe [--start-timeout D] BINARY [ARG]...")
		return errUsage
	}
	fs := flag.NewFlagSet("plugins describe", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.settingsFlags(fs)
	timeout := fs.Duration("start-timeout", 30*time.Second, "how long the plugin may take to start")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: frontier plugins describe [--start-timeout D] BINARY [ARG]...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	_, log, err := e.settings()
	if err != nil {
		return err
	}
	d, err := host.Describe(ctx, fs.Args(), *timeout, log)
	if err != nil {
		return err
	}
	name := d.Plugin
	if name == "" {
		name = "(unnamed)"
	}
	fmt.Fprintf(e.stdout, "plugin  %s %s\nbinary  %s\nsha256  %s\n\n", name, d.Version, d.Path, d.SHA256)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tORDER\tDESCRIPTION")
	for _, c := range d.Components {
		order := c.Order
		if order == "" {
			order = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Kind, order, c.Doc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// A PLUGINS entry for settings.yaml.
	var cmd []string
	for _, a := range fs.Args() {
		cmd = append(cmd, strconv.Quote(a))
	}
	entry := strings.ReplaceAll(strings.ToLower(d.Plugin), " ", "-")
	if entry == "" {
		entry = "myplugin"
	}
	fmt.Fprintf(e.stdout, "\nPLUGINS:\n  - name: %s\n    command: [%s]\n    sha256: %q\n    provides:\n", entry, strings.Join(cmd, ", "), d.SHA256)
	for _, c := range d.Components {
		kind := strings.ReplaceAll(string(c.Kind), " ", "_")
		fmt.Fprintf(e.stdout, "      - {name: %s, kind: %s}\n", c.Name, kind)
	}
	return nil
}
