package feed_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/framework"
)

// A feed to standard output, as "-o -:json" gives it. The engine adds a
// batch's items, flushes its scheduler, commits the batch with the delivery
// identifiers of its requests, then reports them finished.
func ExampleOpen() {
	spec, err := feed.ParseSpec("-:json", false)
	if err != nil {
		panic(err)
	}
	s, err := feed.Open([]feed.Spec{spec}, feed.Options{})
	if err != nil {
		panic(err)
	}
	type book struct {
		Title string  `json:"title"`
		Price float64 `json:"price"`
	}
	s.Add(book{"A Light in the Attic", 51.77})
	s.Add(map[string]any{"title": "Tipping the Velvet", "price": 53.74})
	if err := s.Commit([]uint64{1, 2}); err != nil {
		panic(err)
	}
	if err := s.Close(); err != nil {
		panic(err)
	}
	// Output:
	// [
	// {"title":"A Light in the Attic","price":51.77},
	// {"price":53.74,"title":"Tipping the Velvet"}
	// ]
}

// With a job directory, a resumed crawl continues the feed where its last
// commit left it, and Done names the requests of that commit.
func ExampleSet_Done() {
	dir, _ := os.MkdirTemp("", "feed-example")
	defer os.RemoveAll(dir)
	job := &framework.JobConfig{Dir: filepath.Join(dir, "job")}
	if err := job.Validate(); err != nil {
		panic(err)
	}
	specs := []feed.Spec{{Path: filepath.Join(dir, "items.jsonl"), Format: feed.JSONLines}}

	s, _ := feed.Open(specs, feed.Options{Job: job})
	s.Add(map[string]int{"n": 1})
	s.Commit([]uint64{41})
	s.Add(map[string]int{"n": 2}) // the process dies before this commit

	s, _ = feed.Open(specs, feed.Options{Job: job}) // the resume
	fmt.Println(s.Items(), s.Done(41), s.Done(42))
	s.Close()
	// Output: 1 true false
}
