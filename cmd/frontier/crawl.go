package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/engine"
	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/spiders"
)

// crawlFlags are the flags of crawl (and demo): spider arguments and feeds.
type crawlFlags struct {
	args      []string // -a NAME=VALUE
	appends   []string // -o FILE[:FORMAT]
	overwrite []string // -O FILE[:FORMAT]
}

func (f *crawlFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.args, "arg", "a", nil, "spider argument: -a `NAME=VALUE` (repeatable)")
	fl.StringArrayVarP(&f.appends, "output", "o", nil, "append items to `FILE`, format from its extension (.jsonl, .json, .csv) or FILE:FORMAT (repeatable)")
	fl.StringArrayVarP(&f.overwrite, "overwrite-output", "O", nil, "write items to `FILE`, replacing it when the job starts (a resumed job continues it)")
}

// spiderArgs parses -a NAME=VALUE.
func (f *crawlFlags) spiderArgs() (map[string]string, error) {
	out := map[string]string{}
	for _, a := range f.args {
		name, value, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, usageErrorf("invalid -a %q: want -a NAME=VALUE", a)
		}
		out[strings.TrimSpace(name)] = value
	}
	return out, nil
}

// feeds parses -o and -O.
func (f *crawlFlags) feeds() ([]feed.Spec, error) {
	var specs []feed.Spec
	for _, list := range []struct {
		args      []string
		overwrite bool
	}{{f.appends, false}, {f.overwrite, true}} {
		for _, a := range list.args {
			s, err := feed.ParseSpec(a, list.overwrite)
			if err != nil {
				return nil, usageErrorf("%v", err)
			}
			specs = append(specs, s)
		}
	}
	return specs, nil
}

func newCrawlCommand(e *env) *cobra.Command {
	var f crawlFlags
	cmd := &cobra.Command{
		Use:   "crawl SPIDER",
		Short: "Run a spider",
		Long: `Crawl runs one of frontier's built-in spiders with its arguments (-a), as
"scrapy crawl" does. With -s JOBDIR=DIR the crawl is a job: stop it with
Ctrl-C (it finishes the requests in flight and saves everything), or even
kill it, and run the same command again: it resumes where it stopped, and
fetches again only the pages that were in flight at a kill. Items written
with -o or -O are then exactly once: no item is lost or written twice.

A second Ctrl-C stops at once; the job still resumes.

Spiders:
` + spiderUsage(),
		Example: `  frontier crawl links -a start_urls=https://example.com/ -o pages.jsonl
  frontier crawl links -a start_urls=https://example.com/ -s JOBDIR=crawls/example-1 -O pages.csv
  frontier crawl sitemap -a sitemap_urls=https://example.com/robots.txt -s CLOSESPIDER_PAGECOUNT=100`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return spiders.Names(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			spiderArgs, err := f.spiderArgs()
			if err != nil {
				return err
			}
			sp, err := spiders.New(args[0], spiderArgs)
			if err != nil {
				return err
			}
			specs, err := f.feeds()
			if err != nil {
				return err
			}
			return runCrawl(cmd.Context(), e, sp, specs, nil)
		},
	}
	f.register(cmd)
	return cmd
}

// spiderUsage describes every built-in spider.
func spiderUsage() string {
	var b strings.Builder
	for _, n := range spiders.Names() {
		fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(strings.TrimSpace(spiders.Usage(n)), "\n", "\n    "))
	}
	return b.String()
}

// runCrawl crawls with sp and the checked settings until the crawl ends or
// a signal stops it: the first SIGINT or SIGTERM stops taking requests and
// lets those in flight finish, the second exits at once. set overrides
// settings for this crawl.
func runCrawl(ctx context.Context, e *env, sp *framework.Spider, specs []feed.Spec, set map[string]any) error {
	s := e.settings.Clone()
	for k, v := range set {
		s.Set(k, v, framework.Source{Kind: framework.SourceCode})
	}
	c, err := crawl.NewCrawl(ctx, crawl.Options{Settings: s, Logger: &e.log, Spider: sp}, engine.Options{Feeds: specs})
	if err != nil {
		return err
	}
	stopSignals := forceExitOnSecondSignal(e)
	defer stopSignals()
	stopProgress := e.crawlProgress(c)
	res, err := c.Run(ctx)
	stopProgress()
	if err != nil {
		return err
	}
	jobdir, _ := s.GetString("JOBDIR")
	switch {
	case res.Reason == "shutdown" && jobdir != "":
		e.log.Info().Msgf("Crawl paused: run the same command again to resume the job in %s", jobdir)
	case res.Reason == "shutdown":
		e.log.Info().Msg("Crawl stopped; without a job directory it cannot resume: add -s JOBDIR=DIR to make the next crawl resumable")
	}
	return nil
}

// forceExitOnSecondSignal exits at once on the second SIGINT or SIGTERM
// (the first cancels the command's context): a job directory makes that
// safe, its requests in flight come back when the job resumes.
func forceExitOnSecondSignal(e *env) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				n++
				if n == 1 {
					e.log.Info().Msgf("Received %s, shutting down gracefully. Send again to force", sig)
					continue
				}
				e.log.Info().Msgf("Received %s twice, forcing unclean shutdown", sig)
				os.Exit(1)
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}

// crawlProgress shows, on a terminal, a progress line of the crawl until
// the returned function is called.
func (e *env) crawlProgress(c *crawl.Crawl) (stop func()) {
	if e.live == nil {
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				e.live.Set("")
				return
			case <-t.C:
				p := c.Progress()
				rate := 0.0
				if s := p.Elapsed.Seconds(); s > 0 {
					rate = float64(p.Pages) / s
				}
				e.live.Set(fmt.Sprintf("pages %d  items %d  pending %d  in flight %d  %.0f pages/s  errors %d",
					p.Pages, p.Items, p.Pending, p.InFlight, rate, p.Errors))
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
