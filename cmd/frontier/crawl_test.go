package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCrawlBadInput: bad input is a clear error and no stack trace.
func TestCrawlBadInput(t *testing.T) {
	dir := t.TempDir()
	readOnly := filepath.Join(dir, "ro")
	os.Mkdir(readOnly, 0o555)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown spider", []string{"crawl", "lnks"}, 1, `unknown spider "lnks"`},
		{"malformed -a", []string{"crawl", "links", "-a", "start_urls"}, 2, `invalid -a "start_urls": want -a NAME=VALUE`},
		{"malformed -s", []string{"crawl", "links", "-s", "CONCURRENT_REQUESTS"}, 2, `invalid -s "CONCURRENT_REQUESTS": want -s NAME=VALUE`},
		{"bad setting", []string{"crawl", "links", "-a", "start_urls=http://127.0.0.1:1/", "-s", "CONCURRENT_REQUESTS=many"}, 1, "CONCURRENT_REQUESTS"},
		{"not a URL", []string{"crawl", "links", "-a", "start_urls=example.com"}, 1, `"example.com" is not a URL: no scheme; did you mean https://example.com?`},
		{"unknown format", []string{"crawl", "links", "-a", "start_urls=http://127.0.0.1:1/", "-o", "items.xml"}, 2, "xml"},
		{"missing argument", []string{"crawl", "links"}, 1, "start_urls"},
		{"no spider", []string{"crawl"}, 2, "accepts 1 arg"},
	}
	if os.Getuid() != 0 { // root writes anywhere
		tests = append(tests, struct {
			name string
			args []string
			code int
			want string
		}{"unwritable -o", []string{"crawl", "links", "-a", "start_urls=http://127.0.0.1:1/", "-o", filepath.Join(readOnly, "items.jsonl")}, 1, "items.jsonl"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tc.code, tc.want, stderr)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace:\n%s", stderr)
			}
		})
	}
}

// TestCrawlCommand crawls a small loopback site with the links spider into
// each feed format.
func TestCrawlCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<title>%s</title><a href="/a">a</a><a href="/b">b</a>`, r.URL.Path)
	}))
	defer srv.Close()
	dir := t.TempDir()
	for _, out := range []string{"items.jsonl", "items.json", "items.csv"} {
		path := filepath.Join(dir, out)
		code, _, stderr := runCmd(t, "crawl", "links", "-a", "start_urls="+srv.URL+"/", "-O", path, "-s", "LOG_LEVEL=WARNING")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", out, code, stderr)
		}
		data, _ := os.ReadFile(path)
		for _, p := range []string{"/a", "/b"} {
			if !strings.Contains(string(data), srv.URL+p) {
				t.Errorf("%s lacks %s:\n%s", out, p, data)
			}
		}
	}
}

func TestSettingsGet(t *testing.T) {
	code, stdout, stderr := runCmd(t, "settings", "--get", "CONCURRENT_REQUESTS", "-s", "CONCURRENT_REQUESTS=32")
	if code != 0 || strings.TrimSpace(stdout) != "32" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, _ := runCmd(t, "settings", "--get", "NO_SUCH"); code != 1 {
		t.Errorf("unknown setting: exit %d, want 1", code)
	}
}
