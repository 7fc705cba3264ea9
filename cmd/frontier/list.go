package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
)

// runList prints every registered component: built-ins and declared plugins.
func runList(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.settingsFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	s, _, err := e.settings()
	if err != nil {
		return err
	}
	r, err := e.registry(s)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tORIGIN\tALIASES\tDESCRIPTION")
	for _, en := range r.Entries() {
		aliases := strings.Join(en.Aliases, ", ")
		if aliases == "" {
			aliases = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", en.Name, en.Kind(), en.Origin, aliases, en.Doc)
	}
	return tw.Flush()
}

// runSettings prints every setting with its value and source.
func runSettings(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.settingsFlags(fs)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	s, _, err := e.settings()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVALUE\tSOURCE")
	for _, name := range s.Names() {
		st, _ := s.Lookup(name)
		v := "null"
		if st.Value != nil {
			v = fmt.Sprint(st.Value)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, v, st.Source)
	}
	return tw.Flush()
}
