package linkextract

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// benchPage returns a page of about size bytes: a head, then paragraphs of
// text with relative, absolute, duplicate, fragment and ignored links.
func benchPage(size int) []byte {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Benchmark page</title>` +
		`<link rel="stylesheet" href="/style.css"><script>var x = "<a href='/no'>";</script></head><body>`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `<div class="item"><p>Paragraph %d with some text to skip over, `+
			`<a href="/articles/%d.html">article %d</a>, <a href="https://other.example/p/%d?ref=bench#top">elsewhere</a>, `+
			`<a href="../up/%d/">up</a>, <img src="/img/%d.jpg" alt="picture"> <a href="/img/%d.jpg">full size</a> `+
			`and <a href="/articles/%d.html#comments">comments</a>.</p></div>`+"\n", i, i, i, i, i, i, i, i)
	}
	b.WriteString("</body></html>")
	return []byte(b.String())
}

func BenchmarkExtract(b *testing.B) {
	body := benchPage(50 << 10)
	resp := &framework.Response{
		URL:     "https://example.com/section/index.html",
		Status:  200,
		Headers: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
		Body:    body,
	}
	page, err := Extract(resp)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Extract(resp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(page.Links)), "links/op")
}
