package framework

import (
	"bytes"
	"testing"

	"github.com/frontier-go/frontier"
)

// FuzzSettingsFile feeds arbitrary bytes to the settings-file layer: it must
// return an error or settings, never panic, and every getter must cope with
// whatever values the file held.
func FuzzSettingsFile(f *testing.F) {
	f.Add(frontier.DefaultSettings)
	f.Add([]byte("SCHEDULER_DEBUG: true\nDOWNLOAD_SLOTS:\n  a.b: {delay: 1}\n"))
	f.Add([]byte("base: &b {X: 1}\n<<: *b\nY: *b\n"))
	f.Add([]byte("- a\n- b\n"))
	f.Add([]byte("A: 1\n---\nB: 2\n"))
	f.Add([]byte("? [a, b]\n: c\n1: 2\nnull: x\n"))
	f.Add([]byte("A: !!binary aGVsbG8=\nB: 2001-12-14t21:59:43.10-05:00\nC: .inf\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewSettings()
		if err := s.loadYAML(data, "fuzz.yaml"); err != nil {
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, name := range s.Names() {
			st, ok := s.Lookup(name)
			if !ok {
				t.Fatalf("Names lists %q but Lookup misses it", name)
			}
			if st.Source.Kind == SourceFile && (st.Source.Line < 0 || st.Source.Line > lines) {
				t.Fatalf("%s: line %d outside a %d-line file", name, st.Source.Line, lines)
			}
			_, _ = s.GetBool(name)
			_, _ = s.GetInt(name)
			_, _ = s.GetFloat(name)
			_, _ = s.GetList(name)
			_, _ = s.GetDict(name)
			_, _ = s.GetDuration(name)
			_, _ = s.GetString(name)
			_, _, _ = s.Component(name)
		}
		_ = s.Warnings()
		_ = s.Clone()
	})
}

// FuzzSettingsStrings feeds arbitrary strings, as the environment and -s
// give them, to every getter.
func FuzzSettingsStrings(f *testing.F) {
	for _, seed := range []string{"1", "True", " 1_000 ", "1.5e3", "-inf", "1s", "200ms", `{"a": [1, 2.5]}`, "a,b", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := LoadSettings(LoadOptions{Overrides: []string{"X=" + v}})
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Lookup("X"); st.Value != v {
			t.Fatalf("-s value %q stored as %#v", v, st.Value)
		}
		if b, err := s.GetBool("X"); err == nil {
			if n, err := s.GetInt("X"); err == nil && (n != 0) != b {
				t.Fatalf("GetBool(%q) = %v but GetInt = %d", v, b, n)
			}
		}
		_, _ = s.GetFloat("X")
		if l, err := s.GetList("X"); err != nil || (v != "" && len(l) == 0) {
			t.Fatalf("GetList(%q) = %v, %v", v, l, err)
		}
		_, _ = s.GetDict("X")
		_, _ = s.GetDuration("X")
		_, _, _ = s.Component("X")
	})
}
