package filequeue_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/framework"
)

// A LIFO disk queue survives its process: what was flushed is there after a
// reopen, and a crash would bring back only pops not yet made durable.
func ExampleNewLifo() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "requests.queue", "example.com", "0")

	q, _ := filequeue.NewLifo(path, disk.Config{})
	for _, u := range []string{"https://example.com/a", "https://example.com/b"} {
		_ = q.Push(framework.MustRequest(u))
	}
	_ = q.Flush() // handed to the operating system: survives a crash of the process
	_ = q.Close()

	q, _ = filequeue.NewLifo(path, disk.Config{}) // no I/O until used
	fmt.Println(q.Len())
	r, _ := q.Pop()
	fmt.Println(r.URL)
	_ = q.Close()
	// Output:
	// 2
	// https://example.com/b
}

// Verify reads a queue as a resume would, and changes nothing.
func ExampleVerify() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "0s")
	q, _ := filequeue.NewFifo(path, disk.Config{})
	_ = q.Push(framework.MustRequest("https://example.com/start"))
	_ = q.Close()

	rep, _ := filequeue.Verify(path, func(rec filequeue.Record) error {
		r, err := framework.DecodeRequest(rec.Payload, nil)
		if err == nil {
			fmt.Println(r.URL)
		}
		return err
	})
	fmt.Println(rep.Kind, rep.Records, rep.OK())
	// Output:
	// https://example.com/start
	// fifo 1 true
}
