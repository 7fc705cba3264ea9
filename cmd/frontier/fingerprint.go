package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"

	"github.com/frontier-go/frontier/builtin/fingerprinters"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/framework/urlnorm"
)

// runFingerprint prints the canonical URL and Scrapy's fingerprint of a
// request, for checking a job's fingerprints by hand.
func runFingerprint(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("fingerprint", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	method := fs.String("method", "GET", "request method")
	body := fs.String("body", "", "request body")
	var headers, include multiFlag
	fs.Var(&headers, "header", "request header `'Name: value'` (repeatable)")
	fs.Var(&include, "include-header", "header `NAME` that takes part in the fingerprint (repeatable)")
	keep := fs.Bool("keep-fragments", false, "keep the URL fragment")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: frontier fingerprint URL [--method M] [--body B] [--header 'Name: value']... [--include-header NAME]... [--keep-fragments]")
		fs.PrintDefaults()
	}
	urls, err := parseInterleaved(fs, args)
	if err != nil {
		return errUsage
	}
	if len(urls) != 1 {
		fs.Usage()
		return errUsage
	}
	r, err := framework.NewRequest(urls[0])
	if err != nil {
		return err
	}
	r.Method = strings.ToUpper(*method)
	if *body != "" {
		r.Body = []byte(*body)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("--header %q: want 'Name: value'", h)
		}
		if r.Headers == nil {
			r.Headers = http.Header{}
		}
		r.Headers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	canonical, err := urlnorm.Canonicalize(r.URL, *keep)
	if err != nil {
		return err
	}
	fp, err := fingerprinters.Fingerprint(r, fingerprinters.Options{IncludeHeaders: include, KeepFragments: *keep})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "url          %s\ncanonical    %s\nfingerprint  %s\n", r.URL, canonical, fp)
	return nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
