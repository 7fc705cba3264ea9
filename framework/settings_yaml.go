package framework

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// topLevelLines checks that data is one YAML document whose top level maps
// setting names to values (or is empty) and returns the line of each name.
// koanf's YAML parser decodes the values; this pass exists for the lines.
func topLevelLines(data []byte) (map[string]int, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]int{}, nil
		}
		return nil, fixErrorLine(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fixErrorLine(err)
		}
		return nil, fmt.Errorf("line %d: a second YAML document; a settings file holds one", extra.Line)
	}
	lines := map[string]int{}
	if len(doc.Content) == 0 {
		return lines, nil
	}
	top := doc.Content[0]
	switch {
	case top.Kind == yaml.ScalarNode && top.Tag == "!!null":
		return lines, nil
	case top.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("line %d: the top level must map setting names to values, not %s", top.Line, nodeKind(top))
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key := top.Content[i]
		if key.Kind == yaml.ScalarNode {
			if _, dup := lines[key.Value]; !dup {
				lines[key.Value] = key.Line
			}
		}
	}
	return lines, nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "this"
	}
}

// parserProblems are the messages of yaml.v3's parser errors, as opposed to
// its scanner errors. yaml.v3 reports a parser error's line counted from 0
// (and leaves the line out when it is the first), a scanner error's counted
// from 1.
var parserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

var yamlErrorLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// fixErrorLine returns a yaml.v3 syntax error with its line counted from 1.
func fixErrorLine(err error) error {
	m := yamlErrorLine.FindStringSubmatch(err.Error())
	if m == nil || !slices.Contains(parserProblems, m[2]) {
		return err
	}
	line := 0
	if m[1] != "" {
		line, _ = strconv.Atoi(m[1])
	}
	return fmt.Errorf("yaml: line %d: %s", line+1, strings.TrimSpace(m[2]))
}
