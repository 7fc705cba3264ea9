package framework

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// A short record decodes in one allocation, the Request and its strings
// together; records of every size around the size classes decode whole,
// share no memory with the bytes they were read from, and their strings
// outlive the Request they came with.
func TestDecodeRequestOneAllocation(t *testing.T) {
	r := &Request{URL: "https://host1.example/page/12345?ref=3", Method: "GET", Priority: 3}
	rec, err := EncodeRequest(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeRequest(rec, nil); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Errorf("DecodeRequest of a %d-byte record: %v allocations, want 1", len(rec), n)
	}

	var urls []string
	var want []string
	for size := 40; size <= 600; size += 7 {
		r := &Request{URL: "https://x.example/" + strings.Repeat("p", size-30), Method: "POST", Callback: "parse"}
		rec, err := EncodeRequest(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		keep := bytes.Clone(rec)
		got, err := DecodeRequest(rec, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rec {
			rec[i] = 0xff // the caller may reuse its buffer
		}
		if got.URL != r.URL || got.Method != r.Method || got.Callback != r.Callback {
			t.Fatalf("record of %d bytes: decoded %+v, want %+v", len(keep), got, r)
		}
		if back, ok := TakeRecord(got); ok && back != string(keep) {
			t.Fatalf("record of %d bytes: TakeRecord returned other bytes", len(keep))
		}
		urls, want = append(urls, got.URL), append(want, r.URL)
	}
	runtime.GC() // the Requests are gone; the strings keep what they point into
	runtime.GC()
	for i := range urls {
		if urls[i] != want[i] {
			t.Fatalf("URL %d changed after the collection: %q", i, urls[i])
		}
	}
}
