package dupefilters

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// FuzzReadSeenFile is seeded with a fingerprint file written by the filter
// itself, and that file cut short.
func FuzzReadSeenFile(f *testing.F) {
	dir := f.TempDir()
	df := diskFilter(f, dir)
	for block := 0; block < 3; block++ {
		for i := 0; i < 4; i++ {
			df.RequestSeen(mustReq(fmt.Sprintf("http://example.org/%d/%d", block, i)))
		}
		df.Flush()
	}
	df.Close("")
	real, err := os.ReadFile(filepath.Join(dir, jobdir.FingerprintsFile))
	if err != nil {
		f.Fatal(err)
	}
	for _, cut := range []int{len(real), len(real) - 1, len(real) / 2, 9, 8, 3, 0} {
		f.Add(real[:cut])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var set *fpSet
		rep, err := readSeenFile(bytes.NewReader(b), int64(len(b)), &set)
		if err != nil {
			return
		}
		if set.Len() > len(b)/fpSize {
			t.Fatalf("%d fingerprints from %d bytes", set.Len(), len(b))
		}
		if len(b) >= len(seenMagic) && (rep.Valid+rep.Dropped < int64(len(seenMagic)) || rep.Valid > int64(len(b))) {
			t.Fatalf("report %+v for %d bytes", rep, len(b))
		}
		// The whole frames before Valid read alone give the same set.
		if rep.TornTail && rep.Dropped == int64(len(b))-rep.Valid && len(b) >= len(seenMagic) {
			var again *fpSet
			if _, err := readSeenFile(bytes.NewReader(b[:rep.Valid]), rep.Valid, &again); err != nil || again.Len() != set.Len() {
				t.Fatalf("prefix of whole frames: %d fingerprints, %v; full: %d", again.Len(), err, set.Len())
			}
		}
	})
}

// FuzzParseScrapySeen is seeded with a requests.seen as Scrapy writes it,
// with the damage crashes leave.
func FuzzParseScrapySeen(f *testing.F) {
	f.Add([]byte(scrapySeen))
	f.Add([]byte(strings.ReplaceAll(scrapySeen, "\n", "\r\n")))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		set := newFPSet(0)
		imp, err := parseScrapySeen(bytes.NewReader(b), set)
		if err != nil {
			return
		}
		if imp.Fingerprints != set.Len() || imp.Fingerprints > imp.Lines || imp.Invalid > imp.Lines {
			t.Fatalf("report %+v, set %d", imp, set.Len())
		}
		lines := bytes.Count(b, []byte("\n"))
		if len(b) > 0 && b[len(b)-1] != '\n' {
			lines++
		}
		if imp.Lines > lines+1 {
			t.Fatalf("%d lines counted, the input has %d", imp.Lines, lines)
		}
	})
}

func mustReq(url string) *framework.Request { return framework.MustRequest(url) }
