package spiders

import (
	"fmt"
	"slices"
	"strings"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// spec describes a built-in spider: its name, what it does, its arguments
// and how it is built from arguments already checked against them.
type spec struct {
	name    string
	summary string
	args    []argSpec
	build   func(a argValues) (*framework.Spider, error)
}

// argSpec describes one argument of a built-in spider.
type argSpec struct {
	name     string
	required bool
	def      string // the default, as Usage says it; "" for none
	help     string
}

// builtins returns the built-in spiders, sorted by name.
func builtins() []spec {
	return []spec{linksSpec(), sitemapSpec()}
}

func lookup(name string) (spec, bool) {
	for _, s := range builtins() {
		if s.name == name {
			return s, true
		}
	}
	return spec{}, false
}

// Names returns the names of the built-in spiders, sorted.
func Names() []string {
	var names []string
	for _, s := range builtins() {
		names = append(names, s.name)
	}
	slices.Sort(names)
	return names
}

// New returns the built-in spider name, built from args (argument name to
// value, as given on a command line).
//
// Every argument is checked before anything is built: an unknown spider is
// an *UnknownSpiderError (ErrUnknownSpider) listing the known ones; an
// argument the spider does not take, a required one that is absent or blank,
// or a value it cannot use is an *ArgumentError (ErrUnknownArgument,
// ErrMissingArgument, ErrBadArgument) that says what to change. Usage
// describes each spider's arguments.
func New(name string, args map[string]string) (*framework.Spider, error) {
	s, ok := lookup(name)
	if !ok {
		known := Names()
		return nil, &UnknownSpiderError{Name: name, Known: known, Closest: registry.Closest(name, known, 2)}
	}
	if err := s.check(args); err != nil {
		return nil, err
	}
	return s.build(argValues{spider: s.name, values: args})
}

// Usage returns a paragraph on the built-in spider name, for a command's
// help: what it does, then each argument with what it means and its
// default, wrapped at 80 columns; "" for a name that is not a built-in
// spider.
func Usage(name string) string {
	s, ok := lookup(name)
	if !ok {
		return ""
	}
	const width = 80
	var b strings.Builder
	b.WriteString(wrap(s.name+": "+s.summary, width, 0))
	col := 0
	for _, a := range s.args {
		col = max(col, len(a.name))
	}
	for _, a := range s.args {
		text := a.help
		if a.required {
			text = "(required) " + text
		}
		if a.def != "" {
			text += " (default: " + a.def + ")"
		}
		b.WriteString("\n")
		b.WriteString(wrap(fmt.Sprintf("  %-*s  %s", col, a.name, text), width, 2+col+2))
	}
	return b.String()
}

// wrap breaks text into lines of at most width columns at spaces (a longer
// word keeps its own line), indenting every line but the first by indent.
func wrap(text string, width, indent int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Split(text, " ") {
		switch {
		case i == 0:
		case line+1+len(w) > width && line > indent:
			b.WriteString("\n")
			b.WriteString(strings.Repeat(" ", indent))
			line = indent
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// check refuses arguments s does not take and required ones that are
// missing, naming the first in sorted order.
func (s spec) check(values map[string]string) error {
	names := make([]string, len(s.args))
	for i, a := range s.args {
		names[i] = a.name
	}
	var unknown []string
	for k := range values {
		if !slices.Contains(names, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		k := unknown[0]
		msg := fmt.Sprintf("unknown argument %q", k)
		if c := registry.Closest(k, names, 1); len(c) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", c[0])
		}
		msg += fmt.Sprintf("; %s takes %s", s.name, strings.Join(names, ", "))
		return &ArgumentError{Spider: s.name, Argument: k, Message: msg, Err: ErrUnknownArgument}
	}
	for _, a := range s.args {
		if a.required && strings.TrimSpace(values[a.name]) == "" {
			return &ArgumentError{
				Spider:   s.name,
				Argument: a.name,
				Message:  fmt.Sprintf("missing required argument %s: %s", a.name, a.help),
				Err:      ErrMissingArgument,
			}
		}
	}
	return nil
}
