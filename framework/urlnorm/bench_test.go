package urlnorm

import "testing"

var sink string

func BenchmarkCanonicalize(b *testing.B) {
	for _, bm := range []struct{ name, url string }{
		{"fast", "https://host-123.example/path/4567?a=1"},
		{"fast_fragment", "http://www.example.com/do?a=1&b=2&c=3#frag"},
		{"unsorted_query", "http://www.example.com/do?c=3&b=5&b=2&a=50"},
		{"escapes", "http://www.example.com/r%c3%a9sum%c3%a9?q=a%20space&a=1"},
		{"idn", "http://www.bücher.de/résumé?q=résumé"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := Canonicalize(bm.url, false)
				if err != nil {
					b.Fatal(err)
				}
				sink = s
			}
		})
	}
}

func BenchmarkSafe(b *testing.B) {
	for _, bm := range []struct{ name, url string }{
		{"fast", "https://host-123.example/path/4567?a=1"},
		{"uppercase_host", "http://www.EXAMPLE.com/do?a=1"},
		{"idn", "http://www.bücher.de/résumé?q=résumé"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := Safe(bm.url, "utf-8")
				if err != nil {
					b.Fatal(err)
				}
				sink = s
			}
		})
	}
}
