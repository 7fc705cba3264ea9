package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/builtin/fingerprinters"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/framework/urlnorm"
)

// fingerprintFlags are the request fingerprint's flags.
type fingerprintFlags struct {
	method, body     string
	headers, include []string
	keepFragments    bool
}

func newFingerprintCommand(e *env) *cobra.Command {
	var f fingerprintFlags
	c := &cobra.Command{
		Use:   "fingerprint URL",
		Short: "Print a URL's canonical form and its request fingerprint",
		Long: `Fingerprint prints a request's URL made safe, its canonical form, and the
fingerprint Scrapy's RequestFingerprinter gives it (frontier's are
byte-identical), to check a job's fingerprints by hand. Only the headers named
by --include-header take part in the fingerprint.`,
		Example: `  frontier fingerprint 'https://example.com/a?b=2&a=1'
  frontier fingerprint https://example.com/api --method POST --body '{"q":1}'
  frontier fingerprint https://example.com/ --header 'Accept: text/html' --include-header Accept`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error { return runFingerprint(e, args[0], f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.method, "method", "GET", "request method")
	fl.StringVar(&f.body, "body", "", "request body")
	fl.StringArrayVar(&f.headers, "header", nil, "request header `'Name: value'` (repeatable)")
	fl.StringArrayVar(&f.include, "include-header", nil, "header `NAME` that takes part in the fingerprint (repeatable)")
	fl.BoolVar(&f.keepFragments, "keep-fragments", false, "keep the URL fragment")
	return c
}

// runFingerprint prints the canonical URL and Scrapy's fingerprint of a
// request.
func runFingerprint(e *env, rawURL string, f fingerprintFlags) error {
	r, err := framework.NewRequest(rawURL)
	if err != nil {
		if errors.Is(err, urlnorm.ErrMissingScheme) {
			return fmt.Errorf("invalid URL %q: no scheme; want an absolute URL such as https://example.com/", rawURL)
		}
		return fmt.Errorf("invalid URL %q: %s", rawURL, strings.TrimPrefix(err.Error(), framework.ErrInvalidURL.Error()+": "))
	}
	r.Method = strings.ToUpper(f.method)
	if f.body != "" {
		r.Body = []byte(f.body)
	}
	for _, h := range f.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return usageErrorf("--header %q: want 'Name: value'", h)
		}
		if r.Headers == nil {
			r.Headers = http.Header{}
		}
		r.Headers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	canonical, err := urlnorm.Canonicalize(r.URL, f.keepFragments)
	if err != nil {
		return err
	}
	fp, err := fingerprinters.Fingerprint(r, fingerprinters.Options{IncludeHeaders: f.include, KeepFragments: f.keepFragments})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "url          %s\ncanonical    %s\nfingerprint  %s\n", r.URL, canonical, fp)
	return nil
}
