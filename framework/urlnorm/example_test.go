package urlnorm_test

import (
	"fmt"

	"github.com/frontier-go/frontier/framework/urlnorm"
)

func ExampleCanonicalize() {
	for _, u := range []string{
		"http://www.EXAMPLE.com/do?c=3&b=5&b=2&a=50#top",
		"http://www.bücher.de?q=bücher",
		"https://example.org?a",
	} {
		c, err := urlnorm.Canonicalize(u, false)
		fmt.Println(c, err)
	}
	// Output:
	// http://www.example.com/do?a=50&b=2&b=5&c=3 <nil>
	// http://www.xn--bcher-kva.de/?q=b%C3%BCcher <nil>
	// https://example.org/?a= <nil>
}

func ExampleSafe() {
	s, err := urlnorm.Safe("http://www.EXAMPLE.com:0080/résumé?q=a b", "utf-8")
	fmt.Println(s, err)
	_, err = urlnorm.Safe("www.example.com/path", "utf-8")
	fmt.Println(err)
	// Output:
	// http://www.example.com:80/r%C3%A9sum%C3%A9?q=a%20b <nil>
	// urlnorm: missing scheme in request url: "www.example.com/path"
}
