package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/frontier-go/frontier/framework"
)

func newSettingsCommand(e *env) *cobra.Command {
	var asJSON bool
	var get string
	c := &cobra.Command{
		Use:   "settings",
		Short: "Print every setting, its value and where the value came from",
		Long: `Settings prints every setting as a line of YAML, NAME: VALUE, followed by a
comment that says where the value came from: the default in settings.yaml, a
settings file and line, an environment variable or -s on the command line.
Settings that nothing reads yet are marked. Every value has been checked
against what the setting allows; a bad one fails the command, as it fails any
command.

The output is a valid settings file. --get NAME prints one setting's value
alone (YAML, or JSON with --json), as "scrapy settings --get" does.`,
		Example: `  frontier settings
  frontier settings --get CONCURRENT_REQUESTS
  frontier -s JOBDIR=/tmp/job settings --json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if get != "" {
				return getSetting(e, get, asJSON)
			}
			return runSettings(e, asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of {name, value, source, unused}")
	c.Flags().StringVar(&get, "get", "", "print the value of the setting `NAME` only")
	return c
}

// settingLine is one setting as frontier settings --json prints it.
type settingLine struct {
	Name   string `json:"name"`
	Value  any    `json:"value"`
	Source string `json:"source"`
	// Unused says why nothing reads the setting yet.
	Unused string `json:"unused,omitempty"`
}

func runSettings(e *env, asJSON bool) error {
	var lines []settingLine
	for _, name := range e.settings.Names() {
		st, _ := e.settings.Lookup(name)
		spec, _ := framework.LookupSpec(name)
		lines = append(lines, settingLine{Name: name, Value: st.Value, Source: st.Source.String(), Unused: spec.Unused})
	}
	if asJSON {
		return printJSON(e.stdout, lines)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, l := range lines {
		v, err := yamlFlow(l.Value)
		if err != nil {
			return fmt.Errorf("setting %s: %w", l.Name, err)
		}
		note := l.Source
		if l.Unused != "" {
			note += "; " + l.Unused
		}
		fmt.Fprintf(tw, "%s:\t%s\t# %s\n", l.Name, v, note)
	}
	return tw.Flush()
}

// getSetting prints one setting's value; an unknown name is an error.
func getSetting(e *env, name string, asJSON bool) error {
	st, ok := e.settings.Lookup(name)
	if !ok {
		return fmt.Errorf("no setting %s: frontier settings lists them all", name)
	}
	if asJSON {
		return printJSON(e.stdout, st.Value)
	}
	if str, ok := st.Value.(string); ok {
		_, err := fmt.Fprintln(e.stdout, str)
		return err
	}
	v, err := yamlFlow(st.Value)
	if err != nil {
		return fmt.Errorf("setting %s: %w", name, err)
	}
	_, err = fmt.Fprintln(e.stdout, v)
	return err
}

// yamlFlow writes v as YAML on one line: maps and lists in flow style,
// strings quoted where YAML needs it, nil as null.
func yamlFlow(v any) (string, error) {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return "", err
	}
	var flow func(*yaml.Node)
	flow = func(n *yaml.Node) {
		switch {
		case n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode:
			n.Style = yaml.FlowStyle
		case n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "\n"):
			n.Style = yaml.DoubleQuotedStyle
		}
		for _, c := range n.Content {
			flow(c)
		}
	}
	flow(&n)
	b, err := yaml.Marshal(&n)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
