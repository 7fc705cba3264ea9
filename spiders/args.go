package spiders

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// argValues are a spider's arguments, checked by spec.check, read by its
// build function.
type argValues struct {
	spider string
	values map[string]string
}

func (a argValues) bad(name, msg string, cause error) error {
	return &ArgumentError{Spider: a.spider, Argument: name, Message: name + ": " + msg, Err: ErrBadArgument, Cause: cause}
}

// list returns the value of name split on commas and whitespace.
func (a argValues) list(name string) []string {
	return strings.FieldsFunc(a.values[name], func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// urls returns the URLs of the argument name, each an absolute http or https
// URL made safe as framework.NewRequest makes it, in order, each once.
func (a argValues) urls(name string) ([]string, error) {
	var out []string
	for _, raw := range a.list(name) {
		u, msg, err := webURL(raw)
		if msg != "" {
			return nil, a.bad(name, fmt.Sprintf("%q %s", raw, msg), err)
		}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	if len(out) == 0 {
		return nil, &ArgumentError{Spider: a.spider, Argument: name, Message: name + ": no URL in " + fmt.Sprintf("%q", a.values[name]), Err: ErrMissingArgument}
	}
	return out, nil
}

// webURL returns raw as an absolute http(s) URL made safe, or a message
// saying why it is not one (after the quoted URL: "is not a URL: ...") and
// the error underneath, if any.
func webURL(raw string) (u, msg string, cause error) {
	i := strings.Index(raw, "://")
	if i < 0 {
		// Schemes written without "//" that are sometimes given by mistake.
		lower := strings.ToLower(raw)
		for _, s := range []string{"mailto:", "javascript:", "data:", "tel:", "about:", "urn:"} {
			if strings.HasPrefix(lower, s) {
				return "", "is not an http(s) URL", nil
			}
		}
		return "", "is not a URL: no scheme; did you mean " + guessScheme(raw) + raw + "?", nil
	}
	switch scheme := strings.ToLower(raw[:i]); scheme {
	case "http", "https":
	default:
		msg := fmt.Sprintf("is not an http(s) URL: scheme %q", raw[:i])
		if c := registry.Closest(scheme, []string{"http", "https"}, 1); len(c) > 0 && scheme != "ftp" && scheme != "file" {
			msg += "; did you mean " + c[0] + raw[i:] + "?"
		}
		return "", msg, nil
	}
	r, err := framework.NewRequest(raw)
	if err != nil {
		return "", "is not a URL: " + strings.TrimPrefix(err.Error(), framework.ErrInvalidURL.Error()+": "), err
	}
	if framework.Hostname(r.URL) == "" {
		return "", "is not a URL: no host", nil
	}
	return r.URL, "", nil
}

// guessScheme returns the scheme to suggest for a URL written without one:
// http:// for the loopback host, https:// for anything else.
func guessScheme(raw string) string {
	host := framework.Hostname("http://" + raw)
	if host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1" {
		return "http://"
	}
	return "https://"
}

// domains returns the domains of the argument name, lower-cased and
// IDNA-encoded as request URLs' hosts are, each once. A domain written as a
// URL, or with a port, is refused with the domain to write instead.
func (a argValues) domains(name string) ([]string, error) {
	var out []string
	for _, raw := range a.list(name) {
		d := strings.TrimPrefix(strings.TrimPrefix(raw, "*"), ".")
		switch {
		case strings.Contains(d, "://"):
			return nil, a.bad(name, fmt.Sprintf("%q is a URL, not a domain; did you mean %s?", raw, framework.Hostname(d)), nil)
		case strings.ContainsAny(d, "/?#@"):
			return nil, a.bad(name, fmt.Sprintf("%q is not a domain; did you mean %s?", raw, framework.Hostname("http://"+d)), nil)
		}
		host := framework.Hostname("http://" + d + "/")
		if host == "" {
			return nil, a.bad(name, fmt.Sprintf("%q is not a domain", raw), nil)
		}
		if bracketed := strings.HasPrefix(d, "["); bracketed && !strings.HasSuffix(d, "]") || !bracketed && strings.Contains(d, ":") {
			return nil, a.bad(name, fmt.Sprintf("%q has a port; a domain has none: did you mean %s?", raw, host), nil)
		}
		safe, err := framework.NewRequest("http://" + d + "/")
		if err != nil {
			return nil, a.bad(name, fmt.Sprintf("%q is not a domain", raw), err)
		}
		if host = framework.Hostname(safe.URL); !slices.Contains(out, host) {
			out = append(out, host)
		}
	}
	return out, nil
}

// boolean returns the argument name as a boolean, def when it is absent or
// blank.
func (a argValues) boolean(name string, def bool) (bool, error) {
	v := strings.ToLower(strings.TrimSpace(a.values[name]))
	switch v {
	case "":
		return def, nil
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, a.bad(name, fmt.Sprintf("%q is neither true nor false", a.values[name]), nil)
}

// regexp returns the argument name compiled, nil when it is absent or blank.
func (a argValues) regexp(name string) (*regexp.Regexp, error) {
	v := a.values[name]
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	re, err := regexp.Compile(v)
	if err != nil {
		return nil, a.bad(name, fmt.Sprintf("%q is not a regular expression (Go's RE2 syntax): %v", v, err), err)
	}
	return re, nil
}
