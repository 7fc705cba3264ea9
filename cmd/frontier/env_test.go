package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/frontier-go/frontier/crawl"
)

// The command's logger is shared by goroutines (a plugin host logs from
// go-plugin's), so it must serialise writes to a writer that does not.
func TestLoggerConcurrentWrites(t *testing.T) {
	var stderr bytes.Buffer
	e := &env{stderr: &stderr, overrides: []string{"LOG_FORMAT=json", "LOG_LEVEL=INFO"}}
	s, err := e.loadSettings()
	if err != nil {
		t.Fatal(err)
	}
	log, err := crawl.NewLogger(s, e.stderr)
	if err != nil {
		t.Fatal(err)
	}
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < lines; j++ {
				log.Info().Int("j", j).Msg("line")
			}
		}()
	}
	wg.Wait()
	got := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines logged, want %d", len(got), writers*lines)
	}
	for _, l := range got {
		if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
			t.Fatalf("interleaved line %q", l)
		}
	}
}
