package framework

import "testing"

// Truthy follows Python's truth rules for every plain type, not only the
// ones it switches on directly.
func TestTruthy(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want bool
	}{
		{nil, false}, {false, false}, {true, true}, {"", false}, {"x", true},
		{0, false}, {1, true}, {int32(0), false}, {int32(2), true}, {uint8(0), false},
		{0.0, false}, {float32(0.5), true}, {[]any{}, false}, {[]any{nil}, true},
		{[]string{}, false}, {[]string{"a"}, true}, {map[string]any{}, false},
		{map[string]int{"a": 1}, true}, {[]byte{}, false}, {struct{}{}, true},
	} {
		if got := Truthy(tc.v); got != tc.want {
			t.Errorf("Truthy(%#v) = %v, want %v", tc.v, got, tc.want)
		}
	}
	r := MustRequest("https://example.org/")
	r.Meta = map[string]any{MetaIsStartRequest: int32(0)}
	if r.IsStart() {
		t.Fatal("int32(0) marks a start request")
	}
}
