package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/cmd/frontier/internal/peers"
	"github.com/frontier-go/frontier/internal/demosite"
)

// newBenchSiteCommand is "frontier bench" itself, as "scrapy bench": a local
// site and a crawl of it for a fixed time, printing pages per minute.
func newBenchSiteCommand(e *env, subs ...*cobra.Command) *cobra.Command {
	var (
		timeout time.Duration
		python  string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure crawl and scheduler throughput",
		Long: `Bench, without a subcommand, does what "scrapy bench" does: it serves a local
site of linked pages and crawls it with the links spider for --timeout (10 s)
at the settings' concurrency, then prints the pages crawled per minute. With
--scrapy it runs "scrapy bench" with that python in the same run and prints the
ratio.

Subcommands measure the scheduler alone (bench scheduler) and a whole crawl
against Scrapy and Colly on the same site (bench crawl).`,
		Example: `  frontier bench
  frontier bench --scrapy /usr/bin/python3
  frontier bench crawl --pages 20000 --scrapy /usr/bin/python3 --colly
  frontier bench scheduler -n 100000`,
		Args: unknownSubcommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return benchSite(cmd.Context(), e, timeout, python)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to crawl (CLOSESPIDER_TIMEOUT)")
	cmd.Flags().StringVar(&python, "scrapy", "", "also run \"scrapy bench\" with this `python` (e.g. /usr/bin/python3 with Debian's python3-scrapy)")
	cmd.AddCommand(subs...)
	return cmd
}

func benchSite(ctx context.Context, e *env, timeout time.Duration, python string) error {
	site := demosite.New(demosite.Bench(1_000_000))
	srv, err := site.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.Close()
	run, err := crawlChild(ctx, srv.URL()+"/", "-s", "CLOSESPIDER_TIMEOUT="+t2s(timeout))
	if err != nil {
		return err
	}
	perMin := float64(site.Unique()) / run.seconds * 60
	fmt.Fprintf(e.stdout, "frontier: crawled %d pages in %.1f s (at %.0f pages/min)\n", site.Unique(), run.seconds, perMin)
	if python == "" {
		return nil
	}
	scrapy, err := peers.ScrapyBench(ctx, python)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "scrapy bench: %.0f pages/min\nratio: %.1fx\n", scrapy, perMin/scrapy)
	return nil
}

func t2s(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// childRun is a crawl run as a child process: its wall time and peak RSS.
type childRun struct {
	seconds float64
	peakRSS int64
}

// crawlChild runs "frontier crawl links" on start in a child process (this
// same binary), so that its time and memory are its own, as the peers'.
func crawlChild(ctx context.Context, start string, extra ...string) (childRun, error) {
	self, err := os.Executable()
	if err != nil {
		return childRun{}, err
	}
	args := append([]string{"crawl", "links", "-a", "start_urls=" + start,
		"-s", "LOG_LEVEL=WARNING", "-s", "STATS_DUMP=false", "-s", "LOGSTATS_INTERVAL=0"}, extra...)
	cmd := exec.CommandContext(ctx, self, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return childRun{}, fmt.Errorf("frontier crawl: %w\n%s", err, stderr.String())
	}
	run := childRun{seconds: time.Since(t0).Seconds()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		run.peakRSS = ru.Maxrss * 1024
	}
	return run, nil
}

// benchCrawlFlags are bench crawl's flags.
type benchCrawlFlags struct {
	pages, concurrency int
	python             string
	colly              bool
}

func newBenchCrawlCommand(e *env) *cobra.Command {
	var f benchCrawlFlags
	cmd := &cobra.Command{
		Use:   "crawl",
		Short: "Crawl a generated loopback site with frontier, Scrapy and Colly",
		Long: `Crawl serves a generated site (--pages pages, 8 links a page) on loopback and
crawls all of it with frontier's links spider with a job directory (a fresh
one, removed after) at --concurrency requests at a time, in a child process.
With --scrapy it then crawls the same site with Scrapy with a job directory,
and with --colly with Colly v2 (no persistence; built from bench/colly), in
the same run. For each it prints pages/s, the pages fetched twice (counted by
the site) and the peak resident memory of the crawling process.

Run it on an otherwise idle machine, several times: a loaded machine slows
Python and Go differently.`,
		Example: `  frontier bench crawl
  frontier bench crawl --pages 200000
  frontier bench crawl --scrapy /usr/bin/python3 --colly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return benchCrawl(cmd.Context(), e, f) },
	}
	fl := cmd.Flags()
	fl.IntVar(&f.pages, "pages", 20000, "pages of the generated site")
	fl.IntVar(&f.concurrency, "concurrency", 64, "requests at a time (per host too: the site is one host)")
	fl.StringVar(&f.python, "scrapy", "", "also crawl with Scrapy with this `python` (e.g. /usr/bin/python3 with Debian's python3-scrapy)")
	fl.BoolVar(&f.colly, "colly", false, "also crawl with Colly v2 (needs the Go toolchain and the module proxy once)")
	return cmd
}

func benchCrawl(ctx context.Context, e *env, f benchCrawlFlags) error {
	site := demosite.New(demosite.Bench(f.pages))
	srv, err := site.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.Close()
	start := srv.URL() + "/"
	tmp, err := os.MkdirTemp("", "frontier-bench-crawl-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	conc := strconv.Itoa(f.concurrency)
	fmt.Fprintf(e.stdout, "site: %d pages, 8 links a page; concurrency %d\n", site.Expected(), f.concurrency)
	fmt.Fprintf(e.stdout, "%-22s %10s %10s %12s %14s\n", "crawler", "pages", "pages/s", "fetched twice", "peak RSS (MB)")
	row := func(name string, pages, dups int64, secs float64, rss int64) {
		rssCol := "-"
		if rss > 0 {
			rssCol = strconv.FormatFloat(float64(rss)/(1<<20), 'f', 1, 64)
		}
		fmt.Fprintf(e.stdout, "%-22s %10d %10.0f %12d %14s\n", name, pages, float64(pages)/secs, dups, rssCol)
	}
	run, err := crawlChild(ctx, start, "-s", "JOBDIR="+filepath.Join(tmp, "frontier"),
		"-s", "CONCURRENT_REQUESTS="+conc, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN="+conc)
	if err != nil {
		return err
	}
	ours := float64(site.Unique()) / run.seconds
	row("frontier (JOBDIR)", site.Unique(), site.Duplicates(), run.seconds, run.peakRSS)
	if f.python != "" {
		site.Reset()
		res, err := peers.Scrapy(ctx, f.python, start, peers.ScrapyOptions{Concurrency: f.concurrency, JobDir: filepath.Join(tmp, "scrapy"), Pages: f.pages})
		if err != nil {
			return err
		}
		row("scrapy (JOBDIR)", site.Unique(), site.Duplicates(), res.Seconds, res.PeakRSS)
		fmt.Fprintf(e.stdout, "  frontier / scrapy: %.1fx\n", ours/(float64(site.Unique())/res.Seconds))
	}
	if f.colly {
		site.Reset()
		res, err := peers.Colly(ctx, start, f.concurrency)
		if err != nil {
			return err
		}
		row("colly (no persistence)", site.Unique(), site.Duplicates(), res.Seconds, res.PeakRSS)
		fmt.Fprintf(e.stdout, "  frontier / colly: %.2fx\n", ours/(float64(site.Unique())/res.Seconds))
	}
	return nil
}
