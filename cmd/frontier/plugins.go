package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/plugins/host"
)

func newPluginsCommand(e *env) *cobra.Command {
	var timeout time.Duration
	describe := &cobra.Command{
		Use:   "describe BINARY [ARG]...",
		Short: "Describe a plugin binary: the names and kinds it provides",
		Long: `Describe starts a plugin binary (without a checksum check), asks it what it
provides, and prints its names and kinds, its sha256, and a PLUGINS entry ready
to paste into settings.yaml.

Everything from BINARY on is the plugin's command line, passed as given:
frontier's own flags come before BINARY.`,
		Example: `  frontier plugins describe ./bin/sqlitequeue
  frontier plugins describe --start-timeout 1m python3 -u ./myplugin.py`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPluginsDescribe(cmd.Context(), e, args, timeout)
		},
	}
	describe.Flags().DurationVar(&timeout, "start-timeout", 30*time.Second, "how long the plugin may take to start")
	describe.Flags().SetInterspersed(false)
	return newGroup("plugins", "Work with plugin binaries",
		`Plugins work with out-of-process plugin binaries: see docs/plugins.md.`,
		"  frontier plugins describe ./bin/sqlitequeue", describe)
}

// runPluginsDescribe starts the plugin command, prints the names and kinds
// it provides and its sha256, and a PLUGINS entry ready to paste into
// settings.yaml.
func runPluginsDescribe(ctx context.Context, e *env, command []string, timeout time.Duration) error {
	d, err := host.Describe(ctx, command, timeout, e.log)
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
	for _, a := range command {
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
