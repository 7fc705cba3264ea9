package urlnorm

import (
	"fmt"
	"strings"
)

// checkBracketedHost is Python's _check_bracketed_host: the text between
// brackets must be an IPvFuture ("v1.x") or an IPv6 address as Python's
// ipaddress module parses it (an IPv4 address is refused).
func checkBracketedHost(host string) error {
	if strings.HasPrefix(host, "v") {
		i := 1
		for i < len(host) && isHexDigit(host[i]) {
			i++
		}
		if i == 1 || i >= len(host) || host[i] != '.' || i+1 >= len(host) {
			return fmt.Errorf("%w: IPvFuture address %q is invalid", ErrInvalid, host)
		}
		return nil
	}
	if validIPv4(host) {
		return fmt.Errorf("%w: an IPv4 address cannot be in brackets: %q", ErrInvalid, host)
	}
	if !validIPv6(host) {
		return fmt.Errorf("%w: %q does not appear to be an IPv4 or IPv6 address", ErrInvalid, host)
	}
	return nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// validIPv4 is Python's IPv4Address parsing: four decimal octets of at most
// three ASCII digits, no leading zeros, each at most 255.
func validIPv4(s string) bool {
	if s == "" || strings.IndexByte(s, '/') >= 0 {
		return false
	}
	octets := 0
	for _, o := range strings.Split(s, ".") {
		octets++
		if o == "" || len(o) > 3 || (len(o) > 1 && o[0] == '0') {
			return false
		}
		v := 0
		for i := 0; i < len(o); i++ {
			if o[i] < '0' || o[i] > '9' {
				return false
			}
			v = v*10 + int(o[i]-'0')
		}
		if v > 255 {
			return false
		}
	}
	return octets == 4
}

// validIPv6 is Python's IPv6Address parsing: an optional "%scope" suffix (not
// empty, no second "%"), at most one "::", hextets of at most four hex
// digits, and an optional IPv4 address as the last 32 bits.
func validIPv6(s string) bool {
	if strings.IndexByte(s, '/') >= 0 {
		return false
	}
	if k := strings.IndexByte(s, '%'); k >= 0 {
		scope := s[k+1:]
		if scope == "" || strings.IndexByte(scope, '%') >= 0 {
			return false
		}
		s = s[:k]
	}
	if s == "" {
		return false
	}
	parts := strings.Split(s, ":")
	if len(parts) < 3 {
		return false
	}
	if last := parts[len(parts)-1]; strings.IndexByte(last, '.') >= 0 {
		if !validIPv4(last) {
			return false
		}
		parts = append(parts[:len(parts)-1], "0", "0")
	}
	const hextets = 8
	if len(parts) > hextets+1 {
		return false
	}
	skip := -1
	for i := 1; i < len(parts)-1; i++ {
		if parts[i] == "" {
			if skip >= 0 {
				return false
			}
			skip = i
		}
	}
	var hi, lo int
	if skip >= 0 {
		hi, lo = skip, len(parts)-skip-1
		if parts[0] == "" {
			hi--
			if hi != 0 {
				return false
			}
		}
		if parts[len(parts)-1] == "" {
			lo--
			if lo != 0 {
				return false
			}
		}
		if hextets-(hi+lo) < 1 {
			return false
		}
	} else {
		if len(parts) != hextets || parts[0] == "" || parts[len(parts)-1] == "" {
			return false
		}
		hi, lo = len(parts), 0
	}
	check := func(h string) bool {
		for i := 0; i < len(h); i++ {
			if !isHexDigit(h[i]) {
				return false
			}
		}
		return len(h) >= 1 && len(h) <= 4
	}
	for i := 0; i < hi; i++ {
		if !check(parts[i]) {
			return false
		}
	}
	for i := len(parts) - lo; i < len(parts); i++ {
		if !check(parts[i]) {
			return false
		}
	}
	return true
}
