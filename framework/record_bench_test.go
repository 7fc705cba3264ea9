package framework

import (
	"testing"

	"google.golang.org/protobuf/proto"

	recordpb "github.com/frontier-go/frontier/framework/recordpb/v1"
)

// benchRequests are the requests the codec benchmarks measure: the smallest
// one, the common one of a crawl (a link with its depth, slot and callback),
// and one with every attribute set.
func benchRequests() []struct {
	name string
	r    *Request
} {
	typical := MustRequest("https://www.example.com/catalogue/category/books/travel_2/page-3.html?sort=price&dir=asc")
	typical.Priority = -3
	typical.Meta = map[string]any{MetaDepth: 3, MetaDownloadSlot: "www.example.com"}
	typical.Callback = "parse_item"
	full := allAttributesRequest()
	full.Meta = map[string]any{MetaDepth: 7, "item": map[string]any{"title": "A Light in the Attic", "price": 51.77, "tags": []any{"poetry", "classic"}}}
	return []struct {
		name string
		r    *Request
	}{
		{"minimal", MustRequest("https://example.org/")},
		{"typical", typical},
		{"full", full},
	}
}

func BenchmarkEncodeRequest(b *testing.B) {
	sp := methodsSpider()
	for _, bc := range benchRequests() {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				rec, err := EncodeRequest(bc.r, sp)
				if err != nil {
					b.Fatal(err)
				}
				n = len(rec)
			}
			b.ReportMetric(float64(n), "bytes/record")
		})
	}
}

// BenchmarkAppendRequest is EncodeRequest into a reused buffer, as a queue
// that batches its writes does it.
func BenchmarkAppendRequest(b *testing.B) {
	sp := methodsSpider()
	for _, bc := range benchRequests() {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = AppendRequest(buf[:0], bc.r, sp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	sp := methodsSpider()
	for _, bc := range benchRequests() {
		rec, err := EncodeRequest(bc.r, sp)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(rec)))
			for b.Loop() {
				if _, err := DecodeRequest(rec, sp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProtobufRuntime does what EncodeRequest and DecodeRequest do with
// the generated types and the protobuf runtime instead (RequestToProto then
// proto.Marshal; proto.Unmarshal then RequestFromProto), for comparison.
func BenchmarkProtobufRuntime(b *testing.B) {
	sp := methodsSpider()
	opts := proto.MarshalOptions{Deterministic: true}
	for _, bc := range benchRequests() {
		b.Run("encode/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m, err := RequestToProto(bc.r, sp)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := opts.Marshal(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, bc := range benchRequests() {
		rec, err := EncodeRequest(bc.r, sp)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("decode/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var m recordpb.Request
				if err := proto.Unmarshal(rec[1:], &m); err != nil {
					b.Fatal(err)
				}
				if _, err := RequestFromProto(&m, sp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRecordRoundTrip measures encode then decode of the typical
// request, the codec's share of a JOBDIR push and pop.
func BenchmarkRecordRoundTrip(b *testing.B) {
	sp := methodsSpider()
	r := benchRequests()[1].r
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendRequest(buf[:0], r, sp); err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeRequest(buf, sp); err != nil {
			b.Fatal(err)
		}
	}
}
