package framework

import (
	"bytes"
	"errors"
	"fmt"
	"io"

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
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
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
