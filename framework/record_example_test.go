package framework_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/frontier-go/frontier/framework"
)

// A request goes to disk as a record and comes back with its meta values'
// types and its callback name; the spider resolves the name on the way back.
func ExampleEncodeRequest() {
	sp := framework.NewSpider("books")
	sp.HandleCallback("parse_item", func(context.Context, *framework.Response, framework.Output) error { return nil })

	r := framework.MustRequest("https://books.example/catalogue/page-2.html")
	r.Priority = -1
	r.Callback = "parse_item"
	r.Meta = map[string]any{"depth": 2, "ratio": 0.5, "raw": []byte("x")}

	rec, err := framework.EncodeRequest(r, sp)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := framework.DecodeRequest(rec, sp)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("version %d, %d bytes\n", rec[0], len(rec))
	fmt.Println(back, back.Priority, back.Callback)
	fmt.Printf("%T %T %T\n", back.Meta["depth"], back.Meta["ratio"], back.Meta["raw"])

	// A meta value that is not plain data makes the request unserializable:
	// the scheduler keeps it in memory instead.
	r.Meta["conn"] = make(chan int)
	_, err = framework.EncodeRequest(r, sp)
	fmt.Println(errors.Is(err, framework.ErrUnserializable))
	// Output:
	// version 1, 110 bytes
	// <GET https://books.example/catalogue/page-2.html> -1 parse_item
	// int float64 []uint8
	// true
}
