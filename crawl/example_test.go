package crawl_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/framework"
)

// A crawl with a job directory: requests in, requests out, each finished
// once done. Close makes everything durable and releases the job.
func Example() {
	dir, _ := os.MkdirTemp("", "crawl-example-")
	defer os.RemoveAll(dir)

	f, err := crawl.Open(context.Background(), crawl.Options{
		Set: []string{"JOBDIR=" + filepath.Join(dir, "books-1"), "LOG_LEVEL=WARNING"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()

	for _, u := range []string{"https://example.com/", "https://example.com/about", "https://example.com/"} {
		ok, _ := f.Enqueue(framework.MustRequest(u))
		fmt.Println("enqueue", u, ok)
	}
	for {
		r, err := f.Next()
		if r == nil || err != nil {
			break
		}
		fmt.Println("next", r.URL)
		f.Finish(r, nil)
	}
	// Output:
	// enqueue https://example.com/ true
	// enqueue https://example.com/about true
	// enqueue https://example.com/ false
	// next https://example.com/about
	// next https://example.com/
}

// A job that stops with a request handed out and not finished, and resumes:
// the request comes back first, marked Redelivered, and the dupefilter still
// knows what was enqueued.
func Example_resume() {
	dir, _ := os.MkdirTemp("", "crawl-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	opts := crawl.Options{Set: []string{"JOBDIR=" + filepath.Join(dir, "books-1"), "LOG_LEVEL=WARNING"}}

	// The first run: three requests in, one handed out, then a stop before
	// it is finished (Ctrl-C, a crash: the job directory is the same).
	f, err := crawl.Open(ctx, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, u := range []string{"https://books.example/1", "https://books.example/2", "https://books.example/3"} {
		f.Enqueue(framework.MustRequest(u))
	}
	r, _ := f.Next()
	fmt.Println("first run hands out", r.URL)
	if err := f.CloseWithReason("shutdown"); err != nil {
		fmt.Println(err)
	}

	// The second run, on the same job directory.
	f, err = crawl.Open(ctx, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	fmt.Println("pending at resume:", f.Len())
	ok, _ := f.Enqueue(framework.MustRequest("https://books.example/2"))
	fmt.Println("enqueue /2 again:", ok)
	for {
		r, err := f.Next()
		if r == nil || err != nil {
			break
		}
		fmt.Println("next", r.URL, "redelivered:", r.Redelivered)
		f.Finish(r, nil)
	}
	// Output:
	// first run hands out https://books.example/3
	// pending at resume: 3
	// enqueue /2 again: false
	// next https://books.example/3 redelivered: true
	// next https://books.example/2 redelivered: false
	// next https://books.example/1 redelivered: false
}
