package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPluginsDescribe(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "sqlitequeue")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/frontier-go/frontier/plugins/examples/sqlitequeue").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"plugins", "describe", bin}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"sqlitequeue 1.0.0",
		"sha256  " + hex.EncodeToString(sum[:]),
		"sqlitequeue.FifoDiskQueue  queue",
		"fifo",
		"sqlitequeue.PriorityQueue",
		"priority queue",
		"sqlitequeue.DupeFilter",
		"      - {name: sqlitequeue.LifoDiskQueue, kind: queue}",
		"      - {name: sqlitequeue.PriorityQueue, kind: priority_queue}",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	stdout.Reset()
	stderr.Reset()
	missing := filepath.Join(t.TempDir(), "nope")
	if code := run([]string{"plugins", "describe", missing}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "not found") {
		t.Fatalf("missing binary: exit %d, stderr %q", code, stderr.String())
	}
	if code := run([]string{"plugins"}, &stdout, &stderr); code != 2 {
		t.Fatalf("no subcommand: exit %d", code)
	}
}
