package urlnorm

import (
	"fmt"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// codec encodes text the way Python's str.encode(name) does with
// errors="strict". The zero value is UTF-8.
type codec struct {
	name  string
	enc   encoding.Encoding // nil for UTF-8
	ascii bool              // Python's "ascii": refuses every non-ASCII character
}

// normalizeEncodingName folds a name as Python's encodings.normalize_encoding
// does, with "-" and " " as "_", in lowercase.
func normalizeEncodingName(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	return strings.NewReplacer("-", "_", " ", "_").Replace(n)
}

// lookupCodec finds the codec for an encoding name as Scrapy's Request and
// Response carry it ("utf-8", "latin-1", "cp1251", "gb18030", ...). UTF-8,
// Latin-1 and ASCII follow Python's own aliases (Python's latin-1 is
// ISO-8859-1, not the WHATWG's windows-1252); other names are looked up as
// WHATWG labels, then IANA names.
func lookupCodec(name string) (codec, error) {
	switch name {
	case "", "utf-8", "utf8", "UTF-8":
		return codec{name: "utf-8"}, nil
	}
	n := normalizeEncodingName(name)
	switch n {
	case "", "utf_8", "utf8", "u8", "utf", "utf8_ucs2", "utf8_ucs4", "cp65001":
		return codec{name: "utf-8"}, nil
	case "latin_1", "latin1", "latin", "l1", "iso_8859_1", "iso8859_1", "8859", "cp819", "iso_ir_100", "csisolatin1":
		return codec{name: "latin-1", enc: charmap.ISO8859_1}, nil
	case "ascii", "us_ascii", "646", "us", "iso646_us", "ansi_x3.4_1968", "cp367", "csascii":
		return codec{name: "ascii", ascii: true}, nil
	}
	candidates := []string{name, strings.ReplaceAll(n, "_", "-")}
	if alias, ok := pythonAliases[n]; ok {
		candidates = append([]string{alias}, candidates...)
	}
	for _, c := range candidates {
		if e, err := htmlindex.Get(c); err == nil && e != nil {
			return checkASCIICompatible(name, e)
		}
		if e, err := ianaindex.IANA.Encoding(c); err == nil && e != nil {
			return checkASCIICompatible(name, e)
		}
	}
	return codec{}, fmt.Errorf("%w: unknown encoding %q", ErrEncoding, name)
}

// pythonAliases maps Python codec names that are neither WHATWG labels nor
// IANA names to a label that is.
var pythonAliases = map[string]string{
	"iso2022jp":    "iso-2022-jp",
	"iso2022_jp":   "iso-2022-jp",
	"shiftjis":     "shift_jis",
	"sjis":         "shift_jis",
	"s_jis":        "shift_jis",
	"cp932":        "shift_jis",
	"eucjp":        "euc-jp",
	"ujis":         "euc-jp",
	"euckr":        "euc-kr",
	"cp949":        "euc-kr",
	"gb2312":       "gbk",
	"cp936":        "gbk",
	"big5hkscs":    "big5",
	"koi8_r":       "koi8-r",
	"koi8_u":       "koi8-u",
	"macintosh":    "macintosh",
	"mac_roman":    "macintosh",
	"mac_cyrillic": "x-mac-cyrillic",
}

// checkASCIICompatible refuses encodings that do not encode ASCII as itself
// (UTF-16 and the like): w3lib decodes its encoded netloc as UTF-8 and would
// produce garbage.
func checkASCIICompatible(name string, e encoding.Encoding) (codec, error) {
	b, err := e.NewEncoder().String("az09%/")
	if err != nil || b != "az09%/" {
		return codec{}, fmt.Errorf("%w: encoding %q does not encode ASCII as ASCII", ErrEncoding, name)
	}
	return codec{name: name, enc: e}, nil
}

// encode returns s in the codec's encoding, or an error for a character it
// cannot represent.
func (c codec) encode(s string) (string, error) {
	switch {
	case c.enc == nil && !c.ascii:
		return s, nil
	case isASCII(s):
		return s, nil
	case c.ascii:
		return "", fmt.Errorf("%w: %q cannot encode %q", ErrEncoding, c.name, s)
	}
	b, err := c.enc.NewEncoder().String(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q cannot encode %q: %w", ErrEncoding, c.name, s, err)
	}
	return b, nil
}
