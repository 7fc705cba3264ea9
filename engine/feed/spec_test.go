package feed

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		arg       string
		overwrite bool
		want      Spec
		err       string // a substring of the error; "" for none
	}{
		{arg: "items.jsonl", want: Spec{Path: "items.jsonl", Format: JSONLines}},
		{arg: "items.jl", want: Spec{Path: "items.jl", Format: JSONLines}},
		{arg: "items.jsonlines", want: Spec{Path: "items.jsonlines", Format: JSONLines}},
		{arg: "out/items.JSON", overwrite: true, want: Spec{Path: "out/items.JSON", Format: JSON, Overwrite: true}},
		{arg: "items.csv", want: Spec{Path: "items.csv", Format: CSV}},
		{arg: "items.txt:csv", want: Spec{Path: "items.txt", Format: CSV}},
		{arg: "items:jl", want: Spec{Path: "items", Format: JSONLines}},
		{arg: "items.json:JSONLINES", want: Spec{Path: "items.json", Format: JSONLines}},
		{arg: "a:b.json", want: Spec{Path: "a:b.json", Format: JSON}},
		{arg: "/data/x:y/items.csv", want: Spec{Path: "/data/x:y/items.csv", Format: CSV}},
		{arg: "-", want: Spec{Path: "-", Format: JSONLines}},
		{arg: "-:json", overwrite: true, want: Spec{Path: "-", Format: JSON, Overwrite: true}},
		{arg: "items.xml", err: `extension ".xml" names no format`},
		{arg: "items", err: "has no extension"},
		{arg: "items.json:xml", err: `unknown format "xml"`},
		{arg: "items.json:", err: "empty format"},
		{arg: "", err: "no file name"},
		{arg: ":json", err: "no file name"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := ParseSpec(tt.arg, tt.overwrite)
			if tt.err != "" {
				if err == nil || !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSpec(%q) = %v, %v; want an ErrSpec containing %q", tt.arg, got, err, tt.err)
				}
				if !strings.Contains(err.Error(), "jsonlines") || !strings.Contains(err.Error(), "csv") {
					if !strings.Contains(tt.err, "no file name") {
						t.Errorf("error %q does not list the formats", err)
					}
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseSpec(%q) = %+v, %v; want %+v", tt.arg, got, err, tt.want)
			}
		})
	}
}
