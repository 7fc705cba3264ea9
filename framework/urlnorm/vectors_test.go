package urlnorm

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// vector is one line of testdata/w3lib_vectors.jsonl, computed by
// testdata/gen_vectors.py with w3lib 2.4.1 on Python 3.13.
type vector struct {
	URL          string `json:"url"`
	URLHex       string `json:"url_hex"`
	Encoding     string `json:"encoding"`
	Safe         string `json:"safe"`
	SafeError    string `json:"safe_error"`
	Canon        string `json:"canon"`
	CanonError   string `json:"canon_error"`
	CanonFrag    string `json:"canon_frag"`
	CanonFragErr string `json:"canon_frag_error"`
}

func (v vector) input(t *testing.T) string {
	if v.URLHex == "" {
		return v.URL
	}
	b, err := hex.DecodeString(v.URLHex)
	if err != nil {
		t.Fatalf("bad url_hex %q: %v", v.URLHex, err)
	}
	return string(b)
}

func loadVectors(t testing.TB) []vector {
	f, err := os.Open("testdata/w3lib_vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 1000 {
		t.Fatalf("only %d vectors", len(vs))
	}
	return vs
}

// pyError maps the exception names gen_vectors.py records to our sentinels.
func pyError(name string) error {
	switch name {
	case "MissingScheme":
		return ErrMissingScheme
	case "ControlChar":
		return ErrControlChar
	case "ValueError":
		return ErrInvalid
	case "UnicodeEncodeError", "UnicodeDecodeError", "LookupError":
		return ErrEncoding
	}
	return errors.New("unmapped Python exception " + name)
}

func checkResult(t *testing.T, what, in string, got string, gotErr error, want, wantErr string) {
	t.Helper()
	if wantErr != "" {
		if !errors.Is(gotErr, pyError(wantErr)) {
			t.Errorf("%s(%q) = %q, %v; want error %s", what, in, got, gotErr, wantErr)
		}
		return
	}
	if gotErr != nil || got != want {
		t.Errorf("%s(%q) = %q, %v; want %q", what, in, got, gotErr, want)
	}
}

func TestW3libVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		in := v.input(t)
		enc := v.Encoding
		got, err := Safe(in, enc)
		checkResult(t, "Safe", in+" ["+enc+"]", got, err, v.Safe, v.SafeError)

		c, cerr := lookupCodec(enc)
		if cerr != nil {
			t.Fatalf("lookupCodec(%q): %v", enc, cerr)
		}
		for _, keep := range []bool{false, true} {
			want, wantErr := v.Canon, v.CanonError
			if keep {
				want, wantErr = v.CanonFrag, v.CanonFragErr
			}
			var got string
			var err error
			if enc == "" {
				got, err = Canonicalize(in, keep)
			} else {
				got, err = canonicalize(in, keep, c)
			}
			what := "Canonicalize"
			if keep {
				what += "[keep]"
			}
			checkResult(t, what, in+" ["+enc+"]", got, err, want, wantErr)
		}
	}
}
