// Command frontier lists the components a crawl can select, computes request
// fingerprints, benchmarks the scheduler, and looks inside job directories.
//
// Usage:
//
//	frontier list                 every component name, kind, origin and alias
//	frontier settings             every setting, its value and where it came from
//	frontier fingerprint URL ...  the canonical URL and Scrapy's fingerprint
//	frontier bench scheduler ...  scheduler throughput and memory
//
// Global flags, before the command: --settings FILE (default: settings.yaml in
// the current directory when present), -s NAME=VALUE (repeatable), --log-level,
// --log-format console|json.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand: it parses its own arguments.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

func commands() []command {
	return []command{
		{"list", "list every component name, its kind, origin and aliases", runList},
		{"settings", "print every setting, its value and where the value came from", runSettings},
		{"fingerprint", "print a URL's canonical form and its request fingerprint", runFingerprint},
		{"bench", "measure throughput and memory (bench scheduler)", runBench},
		{"plugins", "describe a plugin binary: the names and kinds it provides (plugins describe BINARY)", runPlugins},
		{"jobdir", "look inside a job directory: inspect, export, verify, import-seen", runJobdir},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks errors already explained by printed usage.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	env, rest, err := parseGlobal(args, stdout, stderr)
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, "frontier:", err)
		}
		return 2
	}
	if len(rest) == 0 {
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer env.close()
	for _, c := range commands() {
		if c.name == rest[0] {
			if err := c.run(ctx, env, rest[1:]); err != nil {
				if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
					fmt.Fprintln(stderr, "frontier "+c.name+":", err)
				}
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "frontier: unknown command %q\n", rest[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: frontier [--settings FILE] [-s NAME=VALUE]... COMMAND [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
