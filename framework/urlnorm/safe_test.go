package urlnorm

import (
	"errors"
	"strings"
	"testing"
)

// TestSafe ports the safe_url_string cases of w3lib's tests/test_url.py that
// apply to Scrapy's Request (w3lib 2.4.1). Where w3lib marks a case as a known
// issue (xfail), the expectation is what w3lib does, noted "w3lib:".
func TestSafe(t *testing.T) {
	tests := []struct {
		name, in, encoding, want string
	}{
		{"strip/soh", "\x01https://example.com\x01", "", "https://example.com"},
		{"strip/space", " https://example.com ", "", "https://example.com"},
		{"strip/tab_newline_everywhere",
			"\t\n\rh\t\n\rttps\t\n\r:\t\n\r/\t\n\r/\t\n\ra\t\n\rb\t\n\r:\t\n\ra\t\n\rb\t\n\r@\t\n\rexam\t\n\rple.com\t\n\r:\t\n\r1\t\n\r2\t\n\r/\t\n\ra\t\n\rb\t\n\r?\t\n\ra\t\n\rb\t\n\r#\t\n\ra\t\n\rb\t\n\r",
			"", "https://ab:ab@example.com:12/ab?ab#ab"},
		{"scheme/lowercased", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz://example.com", "", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz://example.com"},
		{"scheme/follow_ups", "aABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-.://example.com", "", "aabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0123456789+-.://example.com"},
		{"authority/user", "https://a@example.com", "", "https://a@example.com"},
		{"authority/empty_password", "https://a:@example.com", "", "https://a:@example.com"},
		{"authority/password", "https://a:a@example.com", "", "https://a:a@example.com"},
		{"authority/escaped_colon", "https://a%3A@example.com", "", "https://a%3A@example.com"},
		{"authority/safe", "https://abcABC019-_.!~*'()&+$,:abcABC019-_.!~*'()&+$,@example.com", "", "https://abcABC019-_.!~*'()&+$,:abcABC019-_.!~*'()&+$,@example.com"},
		{"authority/to_encode", "https://\"%;<=>@^`{|}:\"%;<=>@^`{|}:@example.com", "", "https://%22%25%3B%3C%3D%3E%40%5E%60%7B%7C%7D:%22%25%3B%3C%3D%3E%40%5E%60%7B%7C%7D%3A@example.com"},
		{"authority/non_ascii", "https://\u0080:\u0080@example.com", "", "https://%C2%80:%C2%80@example.com"},
		{"host/plain", "https://example.com", "", "https://example.com"},
		{"host/leading_dot", "https://.example", "", "https://.example"},
		{"host/label_63", "https://" + strings.Repeat("a", 63) + ".example", "", "https://" + strings.Repeat("a", 63) + ".example"},
		{"host/label_64", "https://" + strings.Repeat("a", 64) + ".example", "", "https://" + strings.Repeat("a", 64) + ".example"},
		{"host/idn", "https://ñ.example", "", "https://xn--ida.example"},
		{"host/ipv4", "http://192.168.0.0", "", "http://192.168.0.0"},
		{"host/ipv6", "http://[2a01:5cc0:1:2::4]", "", "http://[2a01:5cc0:1:2::4]"},
		{"host/ipv6_2", "https://[2402:4e00:40:40::2:3b6]", "", "https://[2402:4e00:40:40::2:3b6]"},
		{"host/ipv6_port", "https://[2402:4e00:40:40::2:3b6]:443", "", "https://[2402:4e00:40:40::2:3b6]:443"},
		{"host/ipv6_loopback", "http://[::1]", "", "http://[::1]"},
		{"host/ipv6_loopback_path", "http://[::1]:8080/path?q=1", "", "http://[::1]:8080/path?q=1"},
		{"host/w3lib:non_visible_kept", "https://\u0080.example", "", "https://\u0080.example"},
		{"host/w3lib:escaped_kept", "https://%80.example", "", "https://%80.example"},
		{"port/w3lib:empty_dropped", "https://example.com:", "", "https://example.com"},
		{"port/one", "https://example.com:1", "", "https://example.com:1"},
		{"port/default", "https://example.com:443", "", "https://example.com:443"},
		{"path/slash", "https://example.com/", "", "https://example.com/"},
		{"path/a", "https://example.com/a", "", "https://example.com/a"},
		{"path/w3lib:backslash_in_host", "https://example.com\\a", "", "https://example.com\\a"},
		{"path/w3lib:backslash_encoded", "https://example.com/a\\b", "", "https://example.com/a%5Cb"},
		{"path/safe", "https://example.com/abcABC019-_.!~*'():@&=+$,/;", "", "https://example.com/abcABC019-_.!~*'():@&=+$,/;"},
		{"path/w3lib:to_encode", "https://example.com/\"%<>[\\]^`{|}", "", "https://example.com/%22%%3C%3E%5B%5C%5D%5E%60%7B%7C%7D"},
		{"path/non_ascii", "https://example.com/ñ", "", "https://example.com/%C3%B1"},
		{"path/mixed", "https://example.com/ñ%C3%B1", "", "https://example.com/%C3%B1%C3%B1"},
		{"query/w3lib:empty_dropped", "https://example.com?", "", "https://example.com"},
		{"query/a", "https://example.com?a", "", "https://example.com?a"},
		{"query/a_eq", "https://example.com?a=", "", "https://example.com?a="},
		{"query/a_eq_b", "https://example.com?a=b", "", "https://example.com?a=b"},
		{"query/w3lib:to_encode", "a://example.com?\"%<>[\\]^`{|}'", "", "a://example.com?%22%%3C%3E%5B%5C%5D%5E%60%7B%7C%7D'"},
		{"query/w3lib:special_to_encode", "http://example.com?\"%<>[\\]^`{|}'", "", "http://example.com?%22%%3C%3E%5B%5C%5D%5E%60%7B%7C%7D%27"},
		{"query/non_ascii", "https://example.com?ñ", "", "https://example.com?%C3%B1"},
		{"query/mixed", "https://example.com?ñ%C3%B1", "", "https://example.com?%C3%B1%C3%B1"},
		{"fragment/w3lib:empty_dropped", "https://example.com/?#", "", "https://example.com/"},
		{"fragment/a", "https://example.com#a", "", "https://example.com#a"},
		{"fragment/non_ascii", "https://example.com#ñ", "", "https://example.com#%C3%B1"},
		{"all_fields", "https://ñ:ñ@ñ.example:1/ñ?ñ#ñ", "", "https://%C3%B1:%C3%B1@xn--ida.example:1/%C3%B1?%C3%B1#%C3%B1"},
		{"encoding/path_always_utf8", "https://example.com/©", "iso-8859-1", "https://example.com/%C2%A9"},
		{"encoding/w3lib:non_special_query", "a://example.com?©", "iso-8859-1", "a://example.com?%A9"},
		{"encoding/special_query", "http://example.com?©", "iso-8859-1", "http://example.com?%A9"},
		{"encoding/w3lib:fragment", "https://example.com#©", "iso-8859-1", "https://example.com#%A9"},
		{"encoding/latin1_query", "http://www.example.com/£?unit=µ", "latin-1", "http://www.example.com/%C2%A3?unit=%B5"},
		{"misc/unicode_and_escapes", "http://www.example.com/£?unit=%C2%B5", "", "http://www.example.com/%C2%A3?unit=%C2%B5"},
		{"misc/escapes_and_unicode", "http://www.example.com/%C2%A3?unit=µ", "", "http://www.example.com/%C2%A3?unit=%C2%B5"},
		{"remove_ascii_tab_and_newlines/lf", "http://example.com/test\n.html", "", "http://example.com/test.html"},
		{"remove_ascii_tab_and_newlines/tab", "http://example.com/test\t.html", "", "http://example.com/test.html"},
		{"remove_ascii_tab_and_newlines/cr", "http://example.com/test\r.html", "", "http://example.com/test.html"},
		{"remove_ascii_tab_and_newlines/crlf_tab", "http://example.com/test\r\n.html\t", "", "http://example.com/test.html"},
		{"remove_ascii_tab_and_newlines/bell_encoded", "http://example.com/test\a\n.html", "", "http://example.com/test%07.html"},
		{"quote_path", "http://google.com/\"hello\"", "", "http://google.com/%22hello%22"},
		{"bytes_input_nonutf8/latin1", "http://www.example.com/\xa3?unit=\xb5", "", "http://www.example.com/%A3?unit=%B5"},
		{"bytes_input_nonutf8/cp1251", "http://www.example.com/country/\xd0\xee\xf1\xf1\xe8\xff", "", "http://www.example.com/country/%D0%EE%F1%F1%E8%FF"},
		{"idna/farg", "http://www.färgbolaget.nu/färgbolaget", "", "http://www.xn--frgbolaget-q5a.nu/f%C3%A4rgbolaget"},
		{"idna/raksmorgas", "http://www.räksmörgås.se/?räksmörgås=yes", "", "http://www.xn--rksmrgs-5wao1o.se/?r%C3%A4ksm%C3%B6rg%C3%A5s=yes"},
		{"idna/braendende", "http://www.brændendekærlighed.com/brændende/kærlighed", "", "http://www.xn--brndendekrlighed-vobh.com/br%C3%A6ndende/k%C3%A6rlighed"},
		{"idna/korean", "http://www.예비교사.com", "", "http://www.xn--9d0bm53a3xbzui.com"},
		{"idna/japanese", "http://理容ナカムラ.com", "", "http://xn--lck1c3crb1723bpq4a.com"},
		{"idna/hiragana", "http://あーるいん.com", "", "http://xn--l8je6s7a45b.com"},
		{"idna/buecher", "http://www.bücher.de/?q=bücher", "", "http://www.xn--bcher-kva.de/?q=b%C3%BCcher"},
		{"idna/minna", "http://はじめよう.みんな/?query=サ&maxResults=5", "", "http://xn--p8j9a0d9c9a.xn--q9jyb4c/?query=%E3%82%B5&maxResults=5"},
		{"idna/russian", "http://кто.рф/", "", "http://xn--j1ail.xn--p1ai/"},
		{"idna/russian_query", "http://кто.рф/index.php?domain=Что", "", "http://xn--j1ail.xn--p1ai/index.php?domain=%D0%A7%D1%82%D0%BE"},
		{"idna/korean_tld", "http://내도메인.한국/", "", "http://xn--220b31d95hq8o.xn--3e0b707e/"},
		{"idna/korean_long", "http://맨체스터시티축구단.한국/", "", "http://xn--2e0b17htvgtvj9haj53ccob62ni8d.xn--3e0b707e/"},
		{"idna/arabic", "http://nic.شبكة", "", "http://nic.xn--ngbc5azd"},
		{"idna/chinese", "https://www.贷款.在线", "", "https://www.xn--0kwr83e.xn--3ds443g"},
		{"idna/chinese_mixed", "https://www2.xn--0kwr83e.在线", "", "https://www2.xn--0kwr83e.xn--3ds443g"},
		{"idna/chinese_mixed2", "https://www3.贷款.xn--3ds443g", "", "https://www3.xn--0kwr83e.xn--3ds443g"},
		{"idna_encoding_failure/missing_label", "http://.example.com/résumé?q=résumé", "", "http://.example.com/r%C3%A9sum%C3%A9?q=r%C3%A9sum%C3%A9"},
		{"idna_encoding_failure/label_too_long", "http://www." + strings.Repeat("example", 11) + ".com/résumé?q=résumé", "", "http://www." + strings.Repeat("example", 11) + ".com/r%C3%A9sum%C3%A9?q=r%C3%A9sum%C3%A9"},
		{"port_number", "http://www.example.com:80/résumé?q=résumé", "", "http://www.example.com:80/r%C3%A9sum%C3%A9?q=r%C3%A9sum%C3%A9"},
		{"port_number/empty", "http://www.example.com:/résumé?q=résumé", "", "http://www.example.com/r%C3%A9sum%C3%A9?q=r%C3%A9sum%C3%A9"},
		{"preserve_nonfragment_hash", "http://www.example.com/path/to/%23/foo/bar", "", "http://www.example.com/path/to/%23/foo/bar"},
		{"preserve_nonfragment_hash/frag", "http://www.example.com/path/to/%23/foo/bar#frag", "", "http://www.example.com/path/to/%23/foo/bar#frag"},
		{"preserve_nonfragment_hash/query", "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2Fpath%2Fto%2F%23%2Fbar%2Ffoo", "", "http://www.example.com/path/to/%23/foo/bar?url=http%3A%2F%2Fwww.example.com%2Fpath%2Fto%2F%23%2Fbar%2Ffoo"},
		{"idna_domain_with_port", "http://新华网.中国:80", "", "http://xn--xkrr14bows.xn--fiqs8s:80"},
		{"idna_domain_with_userinfo_and_port", "ftp://admin:admin@新华网.中国:21", "", "ftp://admin:admin@xn--xkrr14bows.xn--fiqs8s:21"},
		{"idna_domain_with_userinfo_and_port/arrow", "http://Åsa:abc123@➡.ws:81/admin", "", "http://%C3%85sa:abc123@xn--hgi.ws:81/admin"},
		{"idna_domain_with_userinfo_and_port/heart", "http://japão:não@️i❤️.ws:8000/", "", "http://jap%C3%A3o:n%C3%A3o@xn--i-7iq.ws:8000/"},
		{"idna_domain_with_empty_password", "ftp://admin:@新华网.中国:21", "", "ftp://admin:@xn--xkrr14bows.xn--fiqs8s:21"},
		{"idna_domain_with_username", "ftp://admin@新华网.中国:21", "", "ftp://admin@xn--xkrr14bows.xn--fiqs8s:21"},
		{"userinfo_unsafe_chars", "ftp://admin:|%@example.com", "", "ftp://admin:%7C%25@example.com"},
		{"user_and_pass_percent/escaped", "http://%25user:%25pass@host", "", "http://%25user:%25pass@host"},
		{"user_and_pass_percent/raw", "http://%user:%pass@host", "", "http://%25user:%25pass@host"},
		{"user_and_pass_percent/amp", "http://%26user:%26pass@host", "", "http://&user:&pass@host"},
		{"user_and_pass_percent/double", "http://%2525user:%2525pass@host", "", "http://%2525user:%2525pass@host"},
		{"user_and_pass_percent/double_amp", "http://%2526user:%2526pass@host", "", "http://%2526user:%2526pass@host"},
		{"user_and_pass_percent/mixed", "http://%25%26user:%25%26pass@host", "", "http://%25&user:%25&pass@host"},
		// Scrapy-specific: the host is lowercased and the port normalized.
		{"scrapy/host_lowercased", "http://www.EXAMPLE.com/", "", "http://www.example.com/"},
		{"scrapy/port_normalized", "HTTP://EXAMPLE.COM:0080/A", "", "http://example.com:80/A"},
		{"scrapy/about", "about:blank", "", "about:blank"},
		// Scrapy only looks for "://": w3lib's invalid schemes pass.
		{"scrapy/empty_scheme", "://example.com", "", "://example.com"},
		{"scrapy/digit_scheme", "1://example.com", "", "1://example.com"},
		// Bytes that are not UTF-8 are percent-encoded, as for bytes input.
		{"bytes/invalid_utf8", "http://u\xffser:p\xe2\x82A@h.com/\xe2\x82?\xed\xa0\x80#\xf0\x80", "", "http://u%EF%BF%BDser:p%EF%BF%BDA@h.com/%E2%82?%ED%A0%80#%F0%80"},
		{"scrapy/data", "data:text/plain,hello world", "", "data:text/plain,hello%20world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Safe(tt.in, tt.encoding)
			if err != nil || got != tt.want {
				t.Fatalf("Safe(%q, %q) = %q, %v; want %q", tt.in, tt.encoding, got, err, tt.want)
			}
			// Idempotency, as w3lib's _test_safe_url_func checks it.
			if again, err := Safe(got, tt.encoding); err != nil || again != got {
				t.Errorf("Safe(%q) = %q, %v; want it unchanged", got, again, err)
			}
		})
	}
}

func TestSafeErrors(t *testing.T) {
	tests := []struct {
		in, encoding string
		want         error
	}{
		{"", "", ErrMissingScheme},
		{"www.example.com/path", "", ErrMissingScheme},
		{"localhost:8080/path", "", ErrMissingScheme},
		{"\u8349\u8599 \u7d20\u5b50", "", ErrMissingScheme},
		{"mailto:someone@example.com", "", ErrMissingScheme},
		{"\x00http://example.com/", "", ErrControlChar},
		{"http://example.com/\x00", "", ErrControlChar},
		{"http://exa\x01mple.com/", "", ErrControlChar},
		{"http://192.168.0.256", "", nil},
		{"http://[2a01:5cc0:1:2:3:4]", "", ErrInvalid},
		{"http://[::1", "", ErrInvalid},
		{"http://[1.2.3.4]/", "", ErrInvalid},
		{"http://example.com:65536/", "", ErrInvalid},
		{"http://example.com:8x/", "", ErrInvalid},
		{"http://example.com:+80/", "", ErrInvalid},
		{"https://example.com/", "no-such-encoding", ErrEncoding},
		{"https://example.com/", "cp1251", nil},
		{"https://example.com/?é", "Windows-1252", nil},
		{"https://example.com/?é", "no-such-encoding", ErrEncoding},
		{"https://example.com/?€", "latin-1", ErrEncoding},
		{"https://example.com/?é", "ascii", ErrEncoding},
		{"https://example.com/?é", "utf-16", ErrEncoding},
	}
	for _, tt := range tests {
		got, err := Safe(tt.in, tt.encoding)
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("Safe(%q, %q) = %v; want no error", tt.in, tt.encoding, err)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("Safe(%q, %q) = %q, %v; want %v", tt.in, tt.encoding, got, err, tt.want)
		}
	}
}

func FuzzSafe(f *testing.F) {
	for _, s := range []string{
		"https://host-123.example/path/4567?a=1", "http://japão:não@️i❤️.ws:8000/",
		"HTTP://EXAMPLE.COM:0080/A?é#ñ", "http://[::1%eth0]:80/", " about:blank\x00",
		"ftp://admin:|%@example.com", "http://\xff.com/\xe2\x82",
	} {
		f.Add(s, "")
		f.Add(s, "latin-1")
	}
	f.Fuzz(func(t *testing.T, in, encoding string) {
		got, err := Safe(in, encoding)
		if err != nil {
			if !errors.Is(err, ErrMissingScheme) && !errors.Is(err, ErrControlChar) &&
				!errors.Is(err, ErrInvalid) && !errors.Is(err, ErrEncoding) {
				t.Fatalf("Safe(%q, %q): unexpected error %v", in, encoding, err)
			}
			return
		}
		if fast, ok := fastSafe(in); ok {
			c, err := lookupCodec(encoding)
			if err == nil {
				if slow, err := safeURLString(in, c); err != nil || slow != fast {
					t.Fatalf("fast path %q != general %q, %v for %q", fast, slow, err, in)
				}
			}
		}
		for i := 0; i < len(got); i++ {
			if got[i] < ' ' {
				t.Fatalf("Safe(%q) = %q holds a control character", in, got)
			}
		}
	})
}
