package feed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// encodeJSON returns item as encoding/json writes it (a struct's fields in
// order, a map's keys sorted), without HTML escaping and without a newline.
func encodeJSON(item any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(item); err != nil {
		return nil, fmt.Errorf("%w: %T: %w", ErrItem, item, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// field is one member of a JSON object: its name and its value as JSON.
type field struct {
	name  string
	value json.RawMessage
}

// objectFields returns the members of the JSON object b in their order. A
// value that is not an object is an error wrapping ErrItem.
func objectFields(b []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: %.40s is not a JSON object (CSV and FEED_EXPORT_FIELDS need one)", ErrItem, b)
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrItem, err)
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: field %q: %w", ErrItem, name, err)
		}
		fields = append(fields, field{name, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrItem, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the object", ErrItem)
	}
	return fields, nil
}

// lookup returns the value of the field named name, or nil.
func lookup(fields []field, name string) json.RawMessage {
	for _, f := range fields {
		if f.name == name {
			return f.value
		}
	}
	return nil
}

// selectFields returns the object holding, in the order of names, the
// fields of fields that names lists (FEED_EXPORT_FIELDS, as Scrapy's
// fields_to_export: a field the item lacks is left out).
func selectFields(fields []field, names []string) []byte {
	b := []byte{'{'}
	for _, n := range names {
		v := lookup(fields, n)
		if v == nil {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		q, _ := encodeJSON(n) // a string always encodes
		b = append(append(append(b, q...), ':'), v...)
	}
	return append(b, '}')
}

// cell returns a JSON value as a CSV cell: a string's text, "" for null,
// anything else (numbers, booleans, objects, arrays) as its JSON.
func cell(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}
