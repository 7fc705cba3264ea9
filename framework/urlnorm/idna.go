package urlnorm

import (
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// idnaEncode is Python's "idna" codec (RFC 3490 ToASCII with RFC 3491
// nameprep, AllowUnassigned, without STD3 rules), applied to a whole host or
// netloc as w3lib does. It reports false where Python raises UnicodeError.
//
// An ASCII input is returned unchanged when its labels are not empty (the
// last may be) and shorter than 64 characters; ASCII labels are never
// lowercased or checked further. Otherwise the input is split on the four
// IDNA dots and each label converted with toASCII.
func idnaEncode(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	if isASCII(s) {
		n := 0 // length of the current label
		for i := 0; i < len(s); i++ {
			if s[i] != '.' {
				if n++; n >= 64 {
					return "", false
				}
				continue
			}
			if n == 0 {
				return "", false
			}
			n = 0
		}
		return s, true
	}
	labels := splitDots(s)
	trailing := false
	if labels[len(labels)-1] == "" {
		trailing = true
		labels = labels[:len(labels)-1]
	}
	out := make([]byte, 0, len(s)+16)
	for i, l := range labels {
		a, ok := toASCII(l)
		if !ok {
			return "", false
		}
		if i > 0 {
			out = append(out, '.')
		}
		out = append(out, a...)
	}
	if trailing {
		out = append(out, '.')
	}
	return string(out), true
}

// splitDots splits s on U+002E, U+3002, U+FF0E and U+FF61.
func splitDots(s string) []string {
	var labels []string
	start := 0
	for i, r := range s {
		if r == '.' || r == '\u3002' || r == '\uff0e' || r == '\uff61' {
			labels = append(labels, s[start:i])
			start = i + utf8.RuneLen(r)
		}
	}
	return append(labels, s[start:])
}

// toASCII is RFC 3490's ToASCII for one label as Python implements it.
func toASCII(label string) (string, bool) {
	if isASCII(label) {
		return label, len(label) > 0 && len(label) < 64
	}
	label, ok := nameprep(label)
	if !ok {
		return "", false
	}
	if isASCII(label) {
		return label, len(label) > 0 && len(label) < 64
	}
	if len(label) >= 4 && asciiLower(label[:4]) == "xn--" {
		return "", false
	}
	// Every code point costs at least one character of the ACE form, so a
	// long label fails the length check whatever it holds.
	if utf8.RuneCountInString(label) > 59 {
		return "", false
	}
	ace := "xn--" + punycode(label)
	return ace, len(ace) < 64
}

// nameprep is RFC 3491 as Python's encodings.idna.nameprep implements it:
// map (B.1, B.2), NFKC with Unicode 3.2 data, prohibit (C.1.2, C.2.2, C.3 to
// C.9), and check bidi (D.1, D.2). Unassigned code points are allowed.
func nameprep(label string) (string, bool) {
	mapped := make([]byte, 0, len(label)+8)
	for _, r := range label {
		if m, ok := nameprepMap(r); ok {
			mapped = append(mapped, m...)
		} else {
			mapped = utf8.AppendRune(mapped, r)
		}
	}
	s := nfkc32(mapped)
	ral, l := false, false
	for _, r := range s {
		if inRanges(nameprepProhibited, r) {
			return "", false
		}
		if inRanges(nameprepRandAL, r) {
			ral = true
		} else if inRanges(nameprepL, r) {
			l = true
		}
	}
	if ral {
		first, _ := utf8.DecodeRuneInString(s)
		last, _ := utf8.DecodeLastRuneInString(s)
		if l || !inRanges(nameprepRandAL, first) || !inRanges(nameprepRandAL, last) {
			return "", false
		}
	}
	return s, true
}

func nameprepMap(r rune) (string, bool) {
	i := sort.Search(len(nameprepMapKeys), func(i int) bool { return nameprepMapKeys[i] >= r })
	if i < len(nameprepMapKeys) && nameprepMapKeys[i] == r {
		return nameprepMapVals[i], true
	}
	return "", false
}

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

func inRanges(rs []runeRange, r rune) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi >= r })
	return i < len(rs) && rs[i].lo <= r
}

// nfkc32 normalizes b to NFKC as Unicode 3.2 does. Code points unassigned in
// Unicode 3.2 have no decomposition there and block composition and
// reordering, so the text between them is normalized with current data, after
// mapping the few code points whose decomposition was corrected since.
// Unicode 3.2 knows no stream-safe format, so the U+034F that the normalizer
// inserts into runs of more than 30 combining marks is removed (nameprep has
// already removed every original U+034F).
func nfkc32(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	seg := make([]byte, 0, len(b))
	flush := func() {
		if len(seg) > 0 {
			// Normalized apart from out: composition must not cross the
			// unassigned code point before seg.
			out = append(out, norm.NFKC.Bytes(seg)...)
			seg = seg[:0]
		}
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case inRanges(unassigned32, r):
			flush()
			out = append(out, b[i:i+size]...)
		default:
			if m, ok := nfkc32Exceptions[r]; ok {
				seg = append(seg, m...)
			} else {
				seg = append(seg, b[i:i+size]...)
			}
		}
		i += size
	}
	flush()
	if strings.Contains(string(out), "\u034f") {
		return strings.ReplaceAll(string(out), "\u034f", "")
	}
	return string(out)
}

// punycode is RFC 3492's encoder (Python's "punycode" codec): the basic code
// points in order, a "-" when there are any, then the deltas of the others.
func punycode(s string) string {
	const (
		base, tmin, tmax = 36, 1, 26
		skew, damp       = 38, 700
		initialBias      = 72
		initialN         = 128
	)
	rs := []rune(s)
	out := make([]byte, 0, len(s)+8)
	for _, r := range rs {
		if r < 0x80 {
			out = append(out, byte(r))
		}
	}
	b := len(out)
	h := b
	if b > 0 {
		out = append(out, '-')
	}
	adapt := func(delta, numPoints int, first bool) int {
		if first {
			delta /= damp
		} else {
			delta /= 2
		}
		delta += delta / numPoints
		k := 0
		for delta > ((base-tmin)*tmax)/2 {
			delta /= base - tmin
			k += base
		}
		return k + (base-tmin+1)*delta/(delta+skew)
	}
	digit := func(d int) byte {
		if d < 26 {
			return byte('a' + d)
		}
		return byte('0' + d - 26)
	}
	n, delta, bias := initialN, 0, initialBias
	for h < len(rs) {
		m := int(^uint32(0) >> 1)
		for _, r := range rs {
			if int(r) >= n && int(r) < m {
				m = int(r)
			}
		}
		delta += (m - n) * (h + 1)
		n = m
		for _, r := range rs {
			if int(r) < n {
				delta++
			}
			if int(r) == n {
				q := delta
				for k := base; ; k += base {
					t := k - bias
					if t < tmin {
						t = tmin
					} else if t > tmax {
						t = tmax
					}
					if q < t {
						break
					}
					out = append(out, digit(t+(q-t)%(base-t)))
					q = (q - t) / (base - t)
				}
				out = append(out, digit(q))
				bias = adapt(delta, h+1, h == b)
				delta = 0
				h++
			}
		}
		delta++
		n++
	}
	return string(out)
}
