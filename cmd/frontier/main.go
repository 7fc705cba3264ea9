// Command frontier lists the components a crawl can select, prints the
// settings, computes request fingerprints, benchmarks the scheduler, looks
// inside job directories and describes plugin binaries.
//
// Usage:
//
//	frontier list                          every component name, kind, origin and alias
//	frontier settings [--json]             every setting, its value and where it came from
//	frontier fingerprint URL [flags]       the canonical URL and Scrapy's fingerprint
//	frontier bench scheduler [flags]       scheduler throughput and memory
//	frontier jobdir inspect|export|verify|import-seen DIR
//	frontier plugins describe BINARY [ARG]...
//	frontier help [COMMAND]                help on any command (also -h, --help)
//	frontier completion bash|zsh|fish|powershell
//
// Flags every command takes, before or after its arguments: --settings FILE
// (default: settings.yaml in the current directory when present), -s
// NAME=VALUE (repeatable), --log-level (LOG_LEVEL) and --log-format
// (LOG_FORMAT). Every command checks every setting before it does any work.
//
// The exit status is 0 on success and for help, 1 when a command fails
// (including settings that fail their check, and a job that jobdir verify
// finds damaged), and 2 for a usage error: an unknown command or flag, a
// wrong number of arguments, a bad flag value.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit status. Every error
// is printed here, once, each line prefixed with "frontier: ".
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := newEnv(stdout, stderr)
	defer e.close()
	root := newRootCommand(e)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errLossless):
		return 3
	case errors.Is(err, errReported):
		return 1
	}
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintln(stderr, "frontier:", line)
	}
	var u *usageError
	if errors.As(err, &u) {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

// errReported marks a failure the command has already explained in its
// output, such as a damaged job found by jobdir verify: exit status 1 and
// nothing more printed.
var errReported = errors.New("failed, as reported")

// errLossless marks a job that jobdir verify or repair found damaged in a
// way a resume repairs without losing anything (torn tails of
// unacknowledged writes, rebuilt indexes): exit status 3, nothing more
// printed.
var errLossless = errors.New("repairable without loss, as reported")

// usageError is a command line that does not fit the command: exit status 2.
type usageError struct{ err error }

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// asUsage makes every Args check in the tree under cmd report a usage
// error.
func asUsage(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				var u *usageError
				if errors.As(err, &u) {
					return err
				}
				return usageErrorf("%s: %w", strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" "), err)
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		asUsage(c)
	}
}
