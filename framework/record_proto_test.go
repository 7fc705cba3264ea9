package framework

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	recordpb "github.com/frontier-go/frontier/framework/recordpb/v1"
)

// randomRequest returns a request with random data in every field, in the
// canonical types DecodeRequest returns (so that a round trip gives it back
// unchanged), with sizes that cross the one-byte length boundary.
func randomRequest(rng *rand.Rand) *Request {
	r := &Request{URL: "https://" + randString(rng, 40) + "/" + randString(rng, 200)}
	if rng.IntN(2) == 0 {
		r.Method = []string{"GET", "POST", "HEAD", "PROPFIND", "ünï"}[rng.IntN(5)]
	}
	if rng.IntN(3) == 0 {
		r.Headers = http.Header{}
		for range 1 + rng.IntN(20) { // more than the 16 names sorted on the stack
			vals := make([]string, 1+rng.IntN(3))
			for i := range vals {
				vals[i] = randBytes(rng, 150)
			}
			r.Headers[randString(rng, 12)] = vals
		}
	}
	if rng.IntN(3) == 0 {
		r.Body = []byte(randBytes(rng, 300))
		if len(r.Body) == 0 {
			r.Body = nil
		}
	}
	if rng.IntN(4) == 0 {
		for range 1 + rng.IntN(3) {
			r.Cookies = append(r.Cookies, Cookie{randString(rng, 5), randString(rng, 8), randString(rng, 3), randString(rng, 3)})
		}
	}
	if rng.IntN(2) == 0 {
		if m := randMap(rng, 3); len(m) > 0 { // an empty map comes back nil
			r.Meta = m
		}
	}
	if rng.IntN(3) == 0 {
		if m := randMap(rng, 2); len(m) > 0 {
			r.CbKwargs = m
		}
	}
	if rng.IntN(4) == 0 {
		for range 1 + rng.IntN(3) {
			r.Flags = append(r.Flags, randString(rng, 6))
		}
	}
	switch rng.IntN(4) {
	case 0:
		r.Priority = rng.IntN(200) - 100
	case 1:
		r.Priority = int(rng.Int64()) // any int, including the extremes of zigzag
	}
	r.DontFilter = rng.IntN(2) == 0
	if rng.IntN(3) == 0 {
		r.Encoding = []string{"utf-8", "latin-1", "cp1251"}[rng.IntN(3)]
	}
	if rng.IntN(2) == 0 {
		r.Callback = randString(rng, 10)
	}
	if rng.IntN(4) == 0 {
		r.Errback = randString(rng, 10)
	}
	return r
}

// randString returns up to max runes, ASCII mostly, with some multi-byte ones
// and, rarely, empty.
func randString(rng *rand.Rand, max int) string {
	var sb strings.Builder
	n := rng.IntN(max + 1)
	for range n {
		switch rng.IntN(10) {
		case 0:
			sb.WriteRune([]rune("руб£€😀\u0000")[rng.IntN(7)])
		default:
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
	}
	return sb.String()
}

func randBytes(rng *rand.Rand, max int) string {
	b := make([]byte, rng.IntN(max+1))
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return string(b)
}

func randMap(rng *rand.Rand, depth int) map[string]any {
	n := rng.IntN(4)
	if rng.IntN(10) == 0 {
		n = 17 + rng.IntN(5) // more keys than sorted on the stack
	}
	m := make(map[string]any, n)
	for range n {
		m[randString(rng, 8)] = randValue(rng, depth)
	}
	return m
}

func randValue(rng *rand.Rand, depth int) any {
	k := rng.IntN(10)
	if depth <= 0 && k >= 8 {
		k = 0
	}
	switch k {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		switch rng.IntN(3) {
		case 0:
			return rng.IntN(300)
		case 1:
			return -rng.IntN(1 << 20)
		}
		return int(rng.Int64() - rng.Int64())
	case 3:
		return []float64{0, 1.5, -2.25e300, math.Inf(-1), rng.NormFloat64()}[rng.IntN(5)]
	case 4, 5:
		return randString(rng, []int{4, 40, 300}[rng.IntN(3)])
	case 6:
		return []byte(randBytes(rng, 200))
	case 7:
		return []string{"a", "depth"}[rng.IntN(2)]
	case 8:
		l := make([]any, rng.IntN(6))
		for i := range l {
			l[i] = randValue(rng, depth-1)
		}
		return l
	default:
		return randMap(rng, depth-1)
	}
}

// TestRecordMatchesProto proves the hand-written codec equivalent to the
// protobuf runtime on random requests: EncodeRequest writes the bytes
// proto.Marshal writes (deterministic), proto.Unmarshal reads them back to the
// same message, and DecodeRequest reads what proto.Marshal writes in any
// order.
func TestRecordMatchesProto(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		r := randomRequest(rng)
		if err := recordMatchesProto(r); err != nil {
			t.Fatalf("request %d: %v\nrequest: %#v", i, err, r)
		}
	}
}

func recordMatchesProto(r *Request) error {
	b, err := EncodeRequest(r, nil)
	if err != nil {
		return fmt.Errorf("EncodeRequest: %w", err)
	}
	m, err := RequestToProto(r, nil)
	if err != nil {
		return fmt.Errorf("RequestToProto: %w", err)
	}
	det, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("proto.Marshal: %w", err)
	}
	if b[0] != RecordVersion || !bytes.Equal(b[1:], det) {
		return fmt.Errorf("EncodeRequest wrote\n%x\nproto.Marshal wrote\n%x", b, det)
	}

	var back recordpb.Request
	if err := proto.Unmarshal(b[1:], &back); err != nil {
		return fmt.Errorf("proto.Unmarshal of our record: %w", err)
	}
	if !proto.Equal(&back, m) {
		return fmt.Errorf("proto.Unmarshal of our record differs from RequestToProto")
	}
	fromProto, err := RequestFromProto(&back, nil)
	if err != nil {
		return fmt.Errorf("RequestFromProto: %w", err)
	}
	if err := sameData(fromProto, r); err != nil {
		return fmt.Errorf("RequestFromProto: %w", err)
	}

	got, err := DecodeRequest(b, nil)
	if err != nil {
		return fmt.Errorf("DecodeRequest: %w", err)
	}
	if err := sameData(got, r); err != nil {
		return fmt.Errorf("DecodeRequest: %w", err)
	}

	// proto.Marshal without Deterministic writes maps in random order.
	anyOrder, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	got, err = DecodeRequest(append([]byte{RecordVersion}, anyOrder...), nil)
	if err != nil {
		return fmt.Errorf("DecodeRequest of proto.Marshal output: %w", err)
	}
	if err := sameData(got, r); err != nil {
		return fmt.Errorf("DecodeRequest of proto.Marshal output: %w", err)
	}
	return nil
}

// sameData compares the recorded fields of two requests.
func sameData(got, want *Request) error {
	g, w := *got, *want
	g.Delivery, g.Redelivered, w.Delivery, w.Redelivered = 0, false, 0, false
	g.record, w.record = "", ""
	if !reflect.DeepEqual(g, w) {
		return fmt.Errorf("got %#v\nwant %#v", g, w)
	}
	return nil
}
