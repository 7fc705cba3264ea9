package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// newRootCommand builds the command tree over e. The root owns the flags
// every command shares and checks the settings before any command runs.
func newRootCommand(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "frontier",
		Short: "A crawl frontier: Scrapy's scheduler in Go",
		Long: `frontier is a crawl frontier: the part of a crawler that decides what to fetch
next, remembers what it has seen, and lets a crawl stop and resume.

Settings come from settings.yaml's defaults, then a settings file (--settings,
or ./settings.yaml when present), then FRONTIER_<NAME> environment variables,
then -s NAME=VALUE. Every command checks every setting before it starts.`,
		Example: `  frontier list
  frontier -s JOBDIR=/tmp/job bench scheduler -n 100000
  frontier jobdir verify /tmp/job/bench-1 --json
  frontier help jobdir`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Args:              unknownSubcommand,
		RunE:              needSubcommand,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return e.setup(cmd) },
	}
	f := root.PersistentFlags()
	f.StringVar(&e.settingsFile, "settings", "", "settings `FILE` (default: ./settings.yaml when present)")
	f.StringArrayVarP(&e.overrides, "set", "s", nil, "override a setting: -s `NAME=VALUE` (repeatable; NAME=null means None)")
	f.StringVar(&e.logLevel, "log-level", "", "lowest level logged: DEBUG, INFO, WARNING, ERROR or CRITICAL (sets LOG_LEVEL)")
	f.StringVar(&e.logLevel, "loglevel", "", "Scrapy's spelling of --log-level")
	f.StringVar(&e.logFormat, "log-format", "", "log format: auto, console or json (sets LOG_FORMAT)")
	f.StringVar(&e.logFile, "logfile", "", "write the log to `FILE` instead of standard error (sets LOG_FILE)")
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		newDemoCommand(e),
		newCrawlCommand(e),
		newListCommand(e),
		newSettingsCommand(e),
		newFingerprintCommand(e),
		newBenchCommand(e),
		newJobdirCommand(e),
		newRedisCommand(e),
		newPluginsCommand(e),
	)
	root.SetHelpCommand(newHelpCommand())
	root.InitDefaultCompletionCmd()
	asUsage(root)
	return root
}

// newGroup returns a command that only holds subcommands.
func newGroup(use, short, long, example string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{Use: use, Short: short, Long: long, Example: example, Args: unknownSubcommand, RunE: needSubcommand}
	c.AddCommand(subs...)
	return c
}

// unknownSubcommand refuses an argument given to a command that only holds
// subcommands: it names no subcommand.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageErrorf("%s", msg)
}

// needSubcommand runs a command that only holds subcommands and is given
// none: a usage error that lists them.
func needSubcommand(cmd *cobra.Command, _ []string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return usageErrorf("%s needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
}

// newHelpCommand is "frontier help [COMMAND]": cobra's, except that an
// unknown topic is a usage error.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [COMMAND]...",
		Short: "Help about any command",
		Long:  "Help prints the description, usage, flags and examples of any command.",
		Example: `  frontier help
  frontier help jobdir verify`,
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, _ := c.Root().Find(args)
			var names []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || len(rest) > 0 {
				return usageErrorf("unknown help topic %q", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}
