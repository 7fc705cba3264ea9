package linkextract_test

import (
	"fmt"
	"net/http"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/spiders/linkextract"
)

func ExampleExtract() {
	resp := &framework.Response{
		URL:     "https://example.com/blog/",
		Status:  200,
		Headers: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
		Body: []byte(`<html><head><title>
			The   Blog
		</title></head><body>
		<a href="first-post">First</a>
		<a href="/about#team">About</a>
		<a href="/about">About again</a>
		<a href="https://other.example/">Elsewhere</a>
		<a href="/photo.jpg">Photo</a>
		<a href="mailto:editor@example.com">Write to us</a>
		</body></html>`),
	}
	page, err := linkextract.Extract(resp)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%q\n", page.Title)
	for _, link := range page.Links {
		fmt.Println(link)
	}
	// Output:
	// "The Blog"
	// https://example.com/blog/first-post
	// https://example.com/about
	// https://other.example/
}
