package urlnorm

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCanonicalize ports w3lib's tests/test_url.py::TestCanonicalizeUrl
// (w3lib 2.4.1) case by case.
func TestCanonicalize(t *testing.T) {
	long := "http://www." + strings.Repeat("example", 11) + ".com"
	tests := []struct {
		name string
		in   string
		keep bool
		want string
	}{
		{"canonicalize_url", "http://www.example.com/", false, "http://www.example.com/"},
		{"append_missing_path", "http://www.example.com", false, "http://www.example.com/"},
		{"typical_usage/sorted", "http://www.example.com/do?a=1&b=2&c=3", false, "http://www.example.com/do?a=1&b=2&c=3"},
		{"typical_usage/unsorted", "http://www.example.com/do?c=1&b=2&a=3", false, "http://www.example.com/do?a=3&b=2&c=1"},
		{"typical_usage/empty_pair", "http://www.example.com/do?&a=1", false, "http://www.example.com/do?a=1"},
		{"port_number", "http://www.example.com:8888/do?a=1&b=2&c=3", false, "http://www.example.com:8888/do?a=1&b=2&c=3"},
		{"port_number/empty", "http://www.example.com:/do?a=1&b=2&c=3", false, "http://www.example.com/do?a=1&b=2&c=3"},
		{"sorting", "http://www.example.com/do?c=3&b=5&b=2&a=50", false, "http://www.example.com/do?a=50&b=2&b=5&c=3"},
		{"keep_blank_values/empty_value", "http://www.example.com/do?b=&a=2", false, "http://www.example.com/do?a=2&b="},
		{"keep_blank_values/no_equals", "http://www.example.com/do?b=&c&a=2", false, "http://www.example.com/do?a=2&b=&c="},
		{"keep_blank_values/comma", "http://www.example.com/do?1750,4", false, "http://www.example.com/do?1750%2C4="},
		{"spaces/raw", "http://www.example.com/do?q=a space&a=1", false, "http://www.example.com/do?a=1&q=a+space"},
		{"spaces/plus", "http://www.example.com/do?q=a+space&a=1", false, "http://www.example.com/do?a=1&q=a+space"},
		{"spaces/percent", "http://www.example.com/do?q=a%20space&a=1", false, "http://www.example.com/do?a=1&q=a+space"},
		{"unicode_path", "http://www.example.com/résumé", false, "http://www.example.com/r%C3%A9sum%C3%A9"},
		{"unicode_query_string", "http://www.example.com/résumé?q=résumé", false, "http://www.example.com/r%C3%A9sum%C3%A9?q=r%C3%A9sum%C3%A9"},
		{"normalize_percent_encoding_in_paths/utf8", "http://www.example.com/r%c3%a9sum%c3%a9", false, "http://www.example.com/r%C3%A9sum%C3%A9"},
		{"normalize_percent_encoding_in_paths/latin1", "http://www.example.com/a%a3do", false, "http://www.example.com/a%A3do"},
		{"normalize_percent_encoding_in_paths/latin1_path_utf8_query", "http://www.example.com/a%a3do?q=r%c3%a9sum%c3%a9", false, "http://www.example.com/a%A3do?q=r%C3%A9sum%C3%A9"},
		{"normalize_percent_encoding_in_paths/latin1_both", "http://www.example.com/a%a3do?q=r%e9sum%e9", false, "http://www.example.com/a%A3do?q=r%E9sum%E9"},
		{"normalize_percent_encoding_in_paths/hash", "https://example.com/a%23b%2cc#bash", false, "https://example.com/a%23b,c"},
		{"normalize_percent_encoding_in_paths/hash_again", "https://example.com/a%23b,c", false, "https://example.com/a%23b,c"},
		{"normalize_percent_encoding_in_query_arguments/latin1", "http://www.example.com/do?k=b%a3", false, "http://www.example.com/do?k=b%A3"},
		{"normalize_percent_encoding_in_query_arguments/utf8", "http://www.example.com/do?k=r%c3%a9sum%c3%a9", false, "http://www.example.com/do?k=r%C3%A9sum%C3%A9"},
		{"non_ascii_percent_encoding_in_paths/space", "http://www.example.com/a do?a=1", false, "http://www.example.com/a%20do?a=1"},
		{"non_ascii_percent_encoding_in_paths/space_and_escape", "http://www.example.com/a %20do?a=1", false, "http://www.example.com/a%20%20do?a=1"},
		{"non_ascii_percent_encoding_in_paths/pound", "http://www.example.com/a do£.html?a=1", false, "http://www.example.com/a%20do%C2%A3.html?a=1"},
		{"non_ascii_percent_encoding_in_paths/bytes", "http://www.example.com/a do\xc2\xa3.html?a=1", false, "http://www.example.com/a%20do%C2%A3.html?a=1"},
		{"non_ascii_percent_encoding_in_query_arguments", "http://www.example.com/do?price=£500&a=5&z=3", false, "http://www.example.com/do?a=5&price=%C2%A3500&z=3"},
		{"non_ascii_percent_encoding_in_query_arguments/bytes", "http://www.example.com/do?price=\xc2\xa3500&a=5&z=3", false, "http://www.example.com/do?a=5&price=%C2%A3500&z=3"},
		{"non_ascii_percent_encoding_in_query_arguments/parens", "http://www.example.com/do?price(\xc2\xa3)=500&a=1", false, "http://www.example.com/do?a=1&price%28%C2%A3%29=500"},
		{"urls_with_auth_and_ports", "http://user:pass@www.example.com:81/do?now=1", false, "http://user:pass@www.example.com:81/do?now=1"},
		{"remove_fragments", "http://user:pass@www.example.com/do?a=1#frag", false, "http://user:pass@www.example.com/do?a=1"},
		{"remove_fragments/keep", "http://user:pass@www.example.com/do?a=1#frag", true, "http://user:pass@www.example.com/do?a=1#frag"},
		{"dont_convert_safe_characters", "http://www.simplybedrooms.com/White-Bedroom-Furniture/Bedroom-Mirror:-Josephine-Cheval-Mirror.html", false, "http://www.simplybedrooms.com/White-Bedroom-Furniture/Bedroom-Mirror:-Josephine-Cheval-Mirror.html"},
		{"safe_characters_unicode", "http://www.example.com/caf%E9-con-leche.htm", false, "http://www.example.com/caf%E9-con-leche.htm"},
		{"domains_are_case_insensitive", "http://www.EXAMPLE.com/", false, "http://www.example.com/"},
		{"userinfo_is_case_sensitive", "sftp://UsEr:PaSsWoRd@www.EXAMPLE.com/", false, "sftp://UsEr:PaSsWoRd@www.example.com/"},
		{"canonicalize_idns", "http://www.bücher.de?q=bücher", false, "http://www.xn--bcher-kva.de/?q=b%C3%BCcher"},
		{"canonicalize_idns/japanese", "http://はじめよう.みんな/?query=サ&maxResults=5", false, "http://xn--p8j9a0d9c9a.xn--q9jyb4c/?maxResults=5&query=%E3%82%B5"},
		{"quoted_slash_and_question_sign", "http://foo.com/AC%2FDC+rocks%3f/?yeah=1", false, "http://foo.com/AC%2FDC+rocks%3F/?yeah=1"},
		{"quoted_slash_and_question_sign/slash", "http://foo.com/AC%2FDC/", false, "http://foo.com/AC%2FDC/"},
		{"canonicalize_urlparsed/lowercase_escape", "http://www.example.com/caf%e9-con-leche.htm", false, "http://www.example.com/caf%E9-con-leche.htm"},
		{"idna_exceptions/missing_label", "http://.example.com/résumé?q=résumé", false, "http://.example.com/r%C3%A9sum%C3%A9?q=r%C3%A9sum%C3%A9"},
		{"idna_exceptions/label_too_long", long + "/résumé?q=résumé", false, long + "/r%C3%A9sum%C3%A9?q=r%C3%A9sum%C3%A9"},
		{"preserve_nonfragment_hash", "http://www.example.com/path/to/%23/foo/bar", false, "http://www.example.com/path/to/%23/foo/bar"},
		{"preserve_nonfragment_hash/frag", "http://www.example.com/path/to/%23/foo/bar#frag", false, "http://www.example.com/path/to/%23/foo/bar"},
		{"preserve_nonfragment_hash/keep", "http://www.example.com/path/to/%23/foo/bar#frag", true, "http://www.example.com/path/to/%23/foo/bar#frag"},
		{"preserve_nonfragment_hash/query", "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2Fpath%2Fto%2F%23%2Fbar%2Ffoo", false, "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2Fpath%2Fto%2F%23%2Fbar%2Ffoo"},
		{"preserve_nonfragment_hash/query_frag", "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2F%2Fpath%2Fto%2F%23%2Fbar%2Ffoo#frag", false, "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2F%2Fpath%2Fto%2F%23%2Fbar%2Ffoo"},
		{"preserve_nonfragment_hash/query_keep", "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2F%2Fpath%2Fto%2F%23%2Fbar%2Ffoo#frag", true, "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2F%2Fpath%2Fto%2F%23%2Fbar%2Ffoo#frag"},
		{"strip_spaces/leading", " https://example.com", false, "https://example.com/"},
		{"strip_spaces/trailing", "https://example.com ", false, "https://example.com/"},
		{"strip_spaces/both", " https://example.com ", false, "https://example.com/"},
		// Differences between w3lib 2.1.1 and 2.4.1: the IPv6 brackets stay.
		{"ipv6_brackets", "http://[::1]:8080/path?q=1", false, "http://[::1]:8080/path?q=1"},
		{"ipv6_brackets/upper", "http://[FE80::1]/", false, "http://[fe80::1]/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize(tt.in, tt.keep)
			if err != nil || got != tt.want {
				t.Errorf("Canonicalize(%q, %v) = %q, %v; want %q", tt.in, tt.keep, got, err, tt.want)
			}
		})
	}
}

// TestCanonicalizeEncoding ports the TestCanonicalizeUrl cases that pass
// canonicalize_url an encoding, through the unexported canonicalize.
func TestCanonicalizeEncoding(t *testing.T) {
	tests := []struct {
		name, in, encoding, want string
	}{
		{"unicode_query_string/latin1", "http://www.example.com/résumé?q=résumé", "latin1", "http://www.example.com/r%C3%A9sum%C3%A9?q=r%E9sum%E9"},
		{"unicode_query_string/cp1251", "http://www.example.com/résumé?country=Россия", "cp1251", "http://www.example.com/r%C3%A9sum%C3%A9?country=%D0%EE%F1%F1%E8%FF"},
		{"wrong_encoding/euro", "http://www.example.com/résumé?currency=€", "latin1", "http://www.example.com/r%C3%A9sum%C3%A9?currency=%E2%82%AC"},
		{"wrong_encoding/cyrillic", "http://www.example.com/résumé?country=Россия", "latin1", "http://www.example.com/r%C3%A9sum%C3%A9?country=%D0%A0%D0%BE%D1%81%D1%81%D0%B8%D1%8F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := lookupCodec(tt.encoding)
			if err != nil {
				t.Fatal(err)
			}
			got, err := canonicalize(tt.in, false, c)
			if err != nil || got != tt.want {
				t.Errorf("canonicalize(%q, %s) = %q, %v; want %q", tt.in, tt.encoding, got, err, tt.want)
			}
		})
	}
}

// TestCanonicalizeIdempotence ports test_canonicalize_url_idempotence.
func TestCanonicalizeIdempotence(t *testing.T) {
	for _, tt := range []struct{ in, encoding string }{
		{"http://www.bücher.de/résumé?q=résumé", "utf8"},
		{"http://www.example.com/résumé?q=résumé", "latin1"},
		{"http://www.example.com/résumé?country=Россия", "cp1251"},
		{"http://はじめよう.みんな/?query=サ&maxResults=5", "iso2022jp"},
	} {
		c, err := lookupCodec(tt.encoding)
		if err != nil {
			t.Fatal(err)
		}
		once, err := canonicalize(tt.in, false, c)
		if err != nil {
			t.Fatal(err)
		}
		if twice, err := canonicalize(once, false, c); err != nil || twice != once {
			t.Errorf("%s: canonicalize(%q) = %q, %v; want it unchanged", tt.encoding, once, twice, err)
		}
		if plain, err := Canonicalize(once, false); err != nil || plain != once {
			t.Errorf("Canonicalize(%q) = %q, %v; want it unchanged", once, plain, err)
		}
	}
}

// TestCanonicalizeNotIdempotent pins w3lib's own non-idempotent cases (checked
// against w3lib 2.4.1): the path is percent-decoded once per call, and an
// empty ";params" or a scheme can appear after decoding. A faithful port keeps
// them, or its fingerprints would differ from Scrapy's.
func TestCanonicalizeNotIdempotent(t *testing.T) {
	for _, tt := range []struct{ in, once, twice string }{
		{"http://a.com/%2541", "http://a.com/%41", "http://a.com/A"},
		{"http://a.com/%%34%31", "http://a.com/%41", "http://a.com/A"},
		{"http://a.com/a%3B", "http://a.com/a;", "http://a.com/a"},
		{"a%3A//b", "a://b", "a://b/"},
	} {
		once, err := Canonicalize(tt.in, false)
		if err != nil || once != tt.once {
			t.Errorf("Canonicalize(%q) = %q, %v; want %q", tt.in, once, err, tt.once)
		}
		twice, err := Canonicalize(once, false)
		if err != nil || twice != tt.twice {
			t.Errorf("Canonicalize(%q) = %q, %v; want %q", once, twice, err, tt.twice)
		}
	}
}

func TestCanonicalizeErrors(t *testing.T) {
	for _, in := range []string{
		"http://[::1/", "http://::1]/", "http://[1.2.3.4]/", "http://[2a01:5cc0:1:2:3:4]/",
		"http://[vz.x]/", "http://[fe80::1%]/", "http://a\u2100b.com/",
	} {
		if got, err := Canonicalize(in, false); !errors.Is(err, ErrInvalid) {
			t.Errorf("Canonicalize(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

// randomURL returns URLs close to the fast paths' shape, canonical or not.
func randomURL(r *rand.Rand) string {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	var b strings.Builder
	b.WriteString(pick("http://", "https://", "HTTP://", "ftp://"))
	b.WriteString(pick("example.com", "host-123.example", "a.b.c", "x_y.org", "h.com:8080",
		"EXAMPLE.com", "h.com:", "h.com:080", "h.com:99999", "u@h.com", "[::1]", "a..b", "h~.com"))
	if r.IntN(10) > 0 {
		b.WriteString("/")
		for i := r.IntN(4); i > 0; i-- {
			b.WriteString(pick("a", "b1", "c-d", "e.f", "g~h", "i;j", "k;", "l%20", "m n", "p:q",
				"@", "[x]", "|", "%41", "\"", "é", "{}", "^", "'", "*"))
			if r.IntN(2) == 0 {
				b.WriteString("/")
			}
		}
	}
	if r.IntN(10) < 6 {
		b.WriteString("?")
		n := 1 + r.IntN(3)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(pick("&", "&", "&", ";", "&&"))
			}
			b.WriteString(pick("a", "b", "c", "id", "A", "x_y", "z.z", "k~", "", "é"))
			b.WriteString(pick("=", "=", "=", ""))
			b.WriteString(pick("1", "2", "", "v", "V-1", "a+b", "%41", "'", "a=b"))
		}
	}
	if r.IntN(10) < 3 {
		b.WriteString("#")
		b.WriteString(pick("", "f", "a/b?c", "%zz", "x#y", "\"q\"", "é"))
	}
	return b.String()
}

// TestFastPathsMatchSlowPaths checks that the allocation-free fast paths give
// what the general code gives, on the golden vectors and on random URLs.
func TestFastPathsMatchSlowPaths(t *testing.T) {
	inputs := []string{"https://host-123.example/path/4567?a=1"}
	for _, v := range loadVectors(t) {
		inputs = append(inputs, v.input(t))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50000; i++ {
		inputs = append(inputs, randomURL(r))
	}
	fastC, fastS := 0, 0
	for _, in := range inputs {
		for _, keep := range []bool{false, true} {
			if got, ok := fastCanonical(in, keep); ok {
				fastC++
				want, err := canonicalize(in, keep, codec{})
				if err != nil || got != want {
					t.Errorf("fastCanonical(%q, %v) = %q; general code gives %q, %v", in, keep, got, want, err)
				}
			}
		}
		if got, ok := fastSafe(in); ok {
			fastS++
			want, err := safeURLString(in, codec{})
			if err != nil || got != want {
				t.Errorf("fastSafe(%q) = %q; general code gives %q, %v", in, got, want, err)
			}
		}
	}
	// The comparison above means little if the fast paths never apply.
	if fastC < 5000 || fastS < 5000 {
		t.Errorf("fast paths taken too rarely: canonical %d, safe %d of %d inputs", fastC, fastS, len(inputs))
	}
	t.Logf("fast paths taken: canonical %d (of %d calls), safe %d (of %d)", fastC, 2*len(inputs), fastS, len(inputs))
}

func TestCanonicalizeFastPathAllocs(t *testing.T) {
	for _, in := range []string{
		"https://host-123.example/path/4567?a=1",
		"http://www.example.com/do?a=1&b=2&c=3#frag",
	} {
		if n := testing.AllocsPerRun(100, func() {
			if _, err := Canonicalize(in, false); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Canonicalize(%q) allocates %v times; want 0", in, n)
		}
	}
}

// mayChangeAgain reports whether canonical, the result of Canonicalize for
// in, is one that w3lib itself changes when canonicalizing it again (see
// TestCanonicalizeNotIdempotent): in has no scheme, so decoding may create
// one; or the canonical path holds an escape that decodes to a character the
// path keeps raw, or a lowercase escape; or its last segment ends in an empty
// ";params".
func mayChangeAgain(in, canonical string) bool {
	if p, err := urlparse(strip(percentEncodeInvalid(in))); err != nil || p.scheme == "" {
		return true
	}
	p, err := urlparse(canonical)
	if err != nil {
		return true
	}
	if p.params == "" && strings.HasSuffix(canonical, ";") {
		return true
	}
	path := p.path
	if p.params != "" {
		path += ";" + p.params
	}
	if seg := path[strings.LastIndexByte(path, '/')+1:]; strings.HasSuffix(seg, ";") {
		return true
	}
	for i := 0; i+2 < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		hi, ok1 := unhex(path[i+1])
		lo, ok2 := unhex(path[i+2])
		if !ok1 || !ok2 {
			continue
		}
		c := hi<<4 | lo
		if path[i+1] != hexUpper[hi] || path[i+2] != hexUpper[lo] || pathSafeChars[c] && c != '/' && c != '?' {
			return true
		}
	}
	return false
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		"https://host-123.example/path/4567?a=1", "http://www.EXAMPLE.com/do?c=3&b=5&b=2&a=50#x",
		"http://はじめよう.みんな/?query=サ&maxResults=5", "http://[::1]:80/%7e;p?q=a+b", "a%3A//b",
		"http://a.com/%2541", " http://u:P@h.com:/a b?;&=x#f", "http://\xff.com/\xe2\x82",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, keep bool) {
		got, err := Canonicalize(in, keep)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Canonicalize(%q): unexpected error %v", in, err)
			}
			return
		}
		if fast, ok := fastCanonical(in, keep); ok {
			if slow, err := canonicalize(in, keep, codec{}); err != nil || slow != fast {
				t.Fatalf("fast path %q != general %q, %v for %q", fast, slow, err, in)
			}
		}
		if mayChangeAgain(in, got) {
			return
		}
		again, err := Canonicalize(got, keep)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, got, again, err)
		}
	})
}
