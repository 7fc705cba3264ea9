package framework

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	recordpb "github.com/frontier-go/frontier/framework/recordpb/v1"
)

// FuzzDecodeRequest: DecodeRequest never panics; what it accepts, the protobuf
// runtime accepts and reads as the same request; and decode, encode, decode
// is stable (the second encoding is byte for byte the first).
func FuzzDecodeRequest(f *testing.F) {
	for _, r := range []*Request{
		MustRequest("https://example.org/"),
		allAttributesRequest(),
		{URL: "http://a/", Priority: -5, DontFilter: true, Meta: map[string]any{
			MetaDepth: 3, "l": []any{nil, true, 1.5, "s", []byte{0}, map[string]any{"k": []any{}}},
		}},
	} {
		b, err := EncodeRequest(r, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		b, err := EncodeRequest(randomRequest(rng), nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	golden, _ := filepath.Glob(filepath.Join("testdata", "record", "*.bin"))
	for _, path := range golden {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{2})
	f.Add(nestedLists(maxValueDepth + 1))

	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b, nil)
		if err != nil {
			if !errors.Is(err, ErrCorruptRecord) && !errors.Is(err, ErrRecordVersion) {
				t.Fatalf("DecodeRequest: %v, want ErrCorruptRecord or ErrRecordVersion", err)
			}
			return
		}
		enc, err := EncodeRequest(r, nil)
		if err != nil {
			t.Fatalf("a decoded request does not encode: %v", err)
		}
		r2, err := DecodeRequest(enc, nil)
		if err != nil {
			t.Fatalf("a re-encoded request does not decode: %v", err)
		}
		enc2, err := EncodeRequest(r2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("decode, encode, decode is not stable:\n%x\n%x", enc, enc2)
		}

		var m recordpb.Request
		if err := proto.Unmarshal(b[1:], &m); err != nil {
			t.Fatalf("DecodeRequest accepted what proto.Unmarshal refuses: %v", err)
		}
		fromProto, err := RequestFromProto(&m, nil)
		if err != nil {
			t.Fatalf("RequestFromProto: %v", err)
		}
		encProto, err := EncodeRequest(fromProto, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, encProto) {
			t.Fatalf("DecodeRequest and the protobuf runtime read different requests:\n%x\n%x", enc, encProto)
		}
	})
}
