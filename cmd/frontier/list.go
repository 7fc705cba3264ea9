package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newListCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every component name, its kind, origin and aliases",
		Long: `List prints every component a setting can name: the built-ins, under their
Go-native names and Scrapy's dotted paths (the aliases), and the components of
the plugins the settings declare (origin plugin:<name>). Listing does not start
any plugin.`,
		Example: `  frontier list
  frontier --settings crawl.yaml list`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runList(e) },
	}
}

// runList prints every registered component: built-ins and declared plugins.
func runList(e *env) error {
	r, err := e.registry(e.settings)
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
