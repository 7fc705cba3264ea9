package queuestore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk/disktest"
)

// A power cut that loses the unsynced tail of a segment (a bucket's drop and
// the declaration of the bucket that took its key) but keeps the next
// segment, whose header and declarations are fsynced when it is created,
// leaves the key declared again under a new ID with no drop between: the
// store opens, the new bucket takes the key, and the old one's popped
// records do not come back.
func TestStorePowerCutLostDrop(t *testing.T) {
	dir := t.TempDir()
	cfg := storeTestConfig(8 << 10)
	s := openTestStore(t, dir, cfg)
	disktest.MustPush(t, bucketOf(t, s, "a", false), "http://old/1")
	pad := bucketOf(t, s, "z", false)
	for i := range 10 {
		r := disktest.Req(t, fmt.Sprintf("http://pad/%d", i))
		r.Body = make([]byte, 400)
		if err := pad.Push(r); err != nil {
			t.Fatal(err)
		}
	}
	mustCloseStore(t, s) // a checkpoint, half way through segment 1
	seg1 := filepath.Join(dir, storeSegName(1))
	st, err := os.Stat(seg1)
	if err != nil {
		t.Fatal(err)
	}
	durable := st.Size() // what the close made durable
	s = openTestStore(t, dir, cfg)
	q := bucketOf(t, s, "a", false)
	disktest.PopURLs(t, q, 1)
	disktest.MustClose(t, q) // empty: dropped at the next flush
	q = bucketOf(t, s, "a", false)
	for i := 0; len(segFiles(t, dir)) < 2; i++ {
		r := disktest.Req(t, fmt.Sprintf("http://new/%d", i))
		r.Body = make([]byte, 300)
		if err := q.Push(r); err != nil {
			t.Fatal(err)
		}
		mustFlush(t, s)
	}
	cut := crashCopy(t, dir)
	if err := os.Truncate(filepath.Join(cut, storeSegName(1)), durable); err != nil {
		t.Fatal(err)
	}
	var reports []string
	counted := 0
	s2, err := Read(cut, func(file string, off, bytes int64, records int, what string) {
		reports = append(reports, what)
		counted += records
	})
	if err != nil {
		t.Fatalf("the store does not open after the cut: %v", err)
	}
	defer s2.Close()
	var urls []string
	if err := s2.Records("a", func(_ uint64, rec []byte) error {
		urls = append(urls, string(rec))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		if strings.Contains(u, "http://old/") {
			t.Errorf("the popped record of the dropped bucket came back: %q", u)
		}
	}
	if len(reports) != 1 || !strings.Contains(reports[0], "declared again") {
		t.Errorf("reports %q, want one about the bucket declared again", reports)
	}
	// The old bucket was drained (its key got a new bucket): its records
	// were popped, none is lost, and none is counted as dropped (jobdir
	// verify counts what the reports count).
	if counted != 0 {
		t.Errorf("the reports count %d records dropped, want 0: the old bucket's were popped", counted)
	}
}
