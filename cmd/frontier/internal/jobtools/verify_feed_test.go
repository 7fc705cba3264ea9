package jobtools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/framework"
)

// feedJob makes a job directory holding only a feed commit log of two
// commits (two items each) to a JSON lines feed, and returns the log's path.
func feedJob(t *testing.T) (dir, log string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "job")
	s, err := feed.Open([]feed.Spec{{Path: filepath.Join(root, "items.jsonl"), Format: feed.JSONLines}}, feed.Options{Job: &framework.JobConfig{Dir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		for j := range 2 {
			if err := s.Add(map[string]int{"n": i*2 + j}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Commit([]uint64{uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	// Killed: no close, so that the log holds every commit.
	return dir, filepath.Join(dir, feed.LogName)
}

// TestVerifyFeedLog checks what verify says of the feed commit log: OK
// whole, a record cut short is a torn tail (nothing acknowledged lost), a
// damaged last record and an empty log lose committed items.
func TestVerifyFeedLog(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		verdict string
		want    string
	}{
		{"whole", func(b []byte) []byte { return b }, VerdictOK, ""},
		{"record cut short", func(b []byte) []byte { return b[:len(b)-3] }, VerdictLossless, "torn tail"},
		{"last record flipped", func(b []byte) []byte { b[len(b)-5] ^= 0x40; return b }, VerdictLoss, "damaged record"},
		{"empty", func(b []byte) []byte { return nil }, VerdictLoss, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, log := feedJob(t)
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(log, tt.damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			v, err := Verify(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.Verdict != tt.verdict {
				t.Fatalf("verdict %s, want %s: %+v", v.Verdict, tt.verdict, v.Findings)
			}
			if tt.want != "" && (len(v.Findings) == 0 || v.Findings[0].File != log || !strings.Contains(v.Findings[0].What, tt.want)) {
				t.Fatalf("findings %+v, want one about %s saying %q", v.Findings, log, tt.want)
			}
		})
	}
}
