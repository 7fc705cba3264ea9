package feed

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Format is how a feed writes its items.
type Format string

// The formats.
const (
	// JSONLines writes one JSON object per line (Scrapy's jsonlines, jsonl, jl).
	JSONLines Format = "jsonlines"
	// JSON writes one JSON array: "[", the items separated by ",", "]".
	JSON Format = "json"
	// CSV writes a header line, then one line per item (RFC 4180 quoting,
	// lines ended by "\n").
	CSV Format = "csv"
)

// formatNamed returns the format a -o/-O argument names, as a ":format"
// suffix or as an extension, in any case. Scrapy's aliases are accepted.
func formatNamed(name string) (Format, bool) {
	switch strings.ToLower(name) {
	case "jsonlines", "jsonl", "jl":
		return JSONLines, true
	case "json":
		return JSON, true
	case "csv":
		return CSV, true
	}
	return "", false
}

// formatList is what an error about an unknown format offers.
const formatList = "jsonlines (also jsonl, jl), json, csv"

// Stdout is the path of the feed written to standard output.
const Stdout = "-"

// Spec is one feed: where it goes, in which format, and whether a new
// crawl overwrites the file (-O) or appends to it (-o). Path [Stdout] is
// standard output, which is never exactly once (see the package doc).
type Spec struct {
	Path      string
	Format    Format
	Overwrite bool
}

// String returns the spec as a command line gives it: "items.json:json (-O)".
func (s Spec) String() string {
	flag := "-o"
	if s.Overwrite {
		flag = "-O"
	}
	return fmt.Sprintf("%s:%s (%s)", s.Path, s.Format, flag)
}

// ParseSpec parses the argument of -o (overwrite false) or -O (overwrite
// true): "FILE", whose extension names the format (.jsonl, .jl and
// .jsonlines are JSON lines, .json is JSON, .csv is CSV, in any case), or
// "FILE:format". A suffix after the last colon is a format when it holds no
// "/", "\" or "."; otherwise it is part of the file name. "-" is standard
// output in JSON lines unless a format is given ("-:json"). An unknown
// extension or format is an error wrapping [ErrSpec] that lists the formats.
func ParseSpec(arg string, overwrite bool) (Spec, error) {
	path, name := arg, ""
	if i := strings.LastIndexByte(arg, ':'); i >= 0 && !strings.ContainsAny(arg[i+1:], `/\.`) {
		path, name = arg[:i], arg[i+1:]
		if name == "" {
			return Spec{}, fmt.Errorf("%w: %q: empty format after the colon (formats: %s)", ErrSpec, arg, formatList)
		}
	}
	if path == "" {
		return Spec{}, fmt.Errorf("%w: %q: no file name (\"-\" is standard output)", ErrSpec, arg)
	}
	s := Spec{Path: path, Overwrite: overwrite}
	switch {
	case name != "":
		f, ok := formatNamed(name)
		if !ok {
			return Spec{}, fmt.Errorf("%w: %q: unknown format %q (formats: %s)", ErrSpec, arg, name, formatList)
		}
		s.Format = f
	case path == Stdout:
		s.Format = JSONLines
	default:
		ext := strings.TrimPrefix(filepath.Ext(path), ".")
		f, ok := formatNamed(ext)
		if !ok {
			what := fmt.Sprintf("%q: extension %q names no format", arg, "."+ext)
			if ext == "" {
				what = fmt.Sprintf("%q has no extension to name its format", arg)
			}
			return Spec{}, fmt.Errorf("%w: %s: use FILE.jsonl, FILE.json, FILE.csv or FILE:format (formats: %s)",
				ErrSpec, what, formatList)
		}
		s.Format = f
	}
	return s, nil
}

// validFormat reports whether f is one of the formats.
func validFormat(f Format) bool { return f == JSONLines || f == JSON || f == CSV }
