package queuestore

import (
	"path/filepath"
	"testing"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
)

// A bucket emptied and closed leaves the store; one made again under the
// same key gets a new ID, and a crash after both were written resumes with
// the new one's requests (the drop is written before the new declaration).
func TestStoreBucketDroppedAndMadeAgain(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, disk.Config{})
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "slot-x", "-3")
	q, err := st.Queue(key, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Push(framework.MustRequest("https://example.org/old")); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if r, err := q.Pop(); err != nil || r == nil {
		t.Fatal(r, err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err = st.Queue(key, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Push(framework.MustRequest("https://example.org/new")); err != nil {
		t.Fatal(err)
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	// A crash: no Close. The files are read as they are.
	st2, err := Read(dir, func(file string, off, bytes int64, records int, what string) {
		t.Errorf("%s at %d: %s", file, off, what)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	var urls []string
	if err := st2.Records("slot-x/-3", func(_ uint64, rec []byte) error {
		urls = append(urls, string(rec))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if b := st2.Buckets(); len(b) != 1 || b[0].Len != 1 || len(urls) != 1 {
		t.Fatalf("after the crash: buckets %+v, records %q", b, urls)
	}
	st.Close()
}
