package urlnorm

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// TestIDNAVectors compares idnaEncode and pyLower with Python 3.13's "idna"
// codec and str.lower() on random host names mixing scripts, case, combining
// marks, compatibility characters, characters nameprep maps to nothing or
// prohibits, bidi text, code points unassigned in Unicode 3.2 and all four
// IDNA dots (testdata/idna_vectors.jsonl, see gen_vectors.py).
func TestIDNAVectors(t *testing.T) {
	f, err := os.Open("testdata/idna_vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, ok := 0, 0
	for sc.Scan() {
		var v struct {
			Host      string `json:"host"`
			IDNA      string `json:"idna"`
			IDNAError string `json:"idna_error"`
			Lower     string `json:"lower"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		n++
		got, gotOK := idnaEncode(v.Host)
		switch {
		case v.IDNAError != "" && gotOK:
			t.Errorf("idnaEncode(%+q) = %q; Python raises %s", v.Host, got, v.IDNAError)
		case v.IDNAError == "" && (!gotOK || got != v.IDNA):
			t.Errorf("idnaEncode(%+q) = %q, %v; Python gives %q", v.Host, got, gotOK, v.IDNA)
		case gotOK:
			ok++
		}
		if l := pyLower(v.Host); l != v.Lower {
			t.Errorf("pyLower(%+q) = %+q; Python gives %+q", v.Host, l, v.Lower)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 1000 || ok < 500 {
		t.Fatalf("only %d vectors, %d encodable", n, ok)
	}
}

func TestPunycode(t *testing.T) {
	// RFC 3492 section 7.1 samples, as Python's "punycode" codec gives them.
	for _, tt := range []struct{ in, want string }{
		{"bücher", "bcher-kva"},
		{"ü", "tda"},
		{"ñ", "ida"},
		{"他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"},
		{"3年b組金八先生", "3b-ww4c5e180e575a65lsy2b"},
		{"そのスピードで", "d9juau41awczczp"},
	} {
		if got := punycode(tt.in); got != tt.want {
			t.Errorf("punycode(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
