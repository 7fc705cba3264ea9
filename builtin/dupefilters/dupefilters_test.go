package dupefilters

import (
	"bytes"
	"crypto/sha1"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
)

// urlFP fingerprints the URL as given, or lowercased (Scrapy's
// test_request_fingerprint custom fingerprinter).
type urlFP struct{ lower bool }

func (f urlFP) Fingerprint(r *framework.Request) (framework.Fingerprint, error) {
	u := r.URL
	if f.lower {
		u = strings.ToLower(u)
	}
	return sha1.Sum([]byte(u)), nil
}

func seen(t *testing.T, f framework.DupeFilter, url string) bool {
	t.Helper()
	ok, err := f.RequestSeen(framework.MustRequest(url))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// Scrapy's test_filter.
func TestRFPFilter(t *testing.T) {
	f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}})
	if seen(t, f, "http://scrapytest.org/1") || !seen(t, f, "http://scrapytest.org/1") {
		t.Fatal("first request seen, or repeat not seen")
	}
	if seen(t, f, "http://scrapytest.org/2") || !seen(t, f, "http://scrapytest.org/2") {
		t.Fatal("second URL")
	}
	if f.Len() != 2 {
		t.Fatal(f.Len())
	}
}

// Scrapy's test_request_fingerprint: a custom fingerprinter decides what a duplicate is.
func TestRFPRequestFingerprint(t *testing.T) {
	def := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}})
	if seen(t, def, "http://scrapytest.org/index.html") || seen(t, def, "http://scrapytest.org/INDEX.html") {
		t.Fatal("default fingerprinter must tell case apart")
	}
	custom := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{lower: true}})
	if seen(t, custom, "http://scrapytest.org/index.html") || !seen(t, custom, "http://scrapytest.org/INDEX.html") {
		t.Fatal("custom fingerprinter must see them as duplicates")
	}
}

// Scrapy's test_log and test_log_debug.
func TestRFPLog(t *testing.T) {
	for _, debug := range []bool{false, true} {
		var buf bytes.Buffer
		stats := framework.NewMemoryStats()
		f := NewRFPDupeFilter(RFPConfig{Fingerprinter: urlFP{}, Stats: stats, Logger: zerolog.New(&buf), Debug: debug})
		r1 := framework.MustRequest("http://scrapytest.org/index.html")
		r2 := framework.MustRequest("http://scrapytest.org/index.html")
		r2.Headers = map[string][]string{"Referer": {"http://scrapytest.org/INDEX.html"}}
		f.Log(r1)
		f.Log(r2)
		if got := stats.Get(framework.StatDupeFilterFiltered); got != 2 {
			t.Fatalf("debug=%v: filtered = %d", debug, got)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if !debug {
			if len(lines) != 1 || !strings.Contains(lines[0], "no more duplicates will be shown (see DUPEFILTER_DEBUG to show all duplicates)") {
				t.Fatalf("logs: %q", lines)
			}
			continue
		}
		if len(lines) != 2 || !strings.Contains(lines[0], `"referer":null`) || !strings.Contains(lines[1], `"referer":"http://scrapytest.org/INDEX.html"`) {
			t.Fatalf("logs: %q", lines)
		}
	}
}

func TestBaseDupeFilter(t *testing.T) {
	var f BaseDupeFilter
	if seen(t, f, "http://scrapytest.org/1") || seen(t, f, "http://scrapytest.org/1") {
		t.Fatal("BaseDupeFilter filtered")
	}
}
