package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/cmd/frontier/internal/damage"
)

// benchDamageFlags are bench damage's flags.
type benchDamageFlags struct {
	cases, requests, flips, flipBits, show int
	seed                                   uint64
	timeout                                time.Duration
	asJSON                                 bool
	// file and config, when set, keep only the cases whose file path,
	// or whose job configuration (as printed: "dapq/files/killed"),
	// contains them.
	file, config string
}

func newBenchDamageCommand(e *env) *cobra.Command {
	var f benchDamageFlags
	c := &cobra.Command{
		Use:   "damage",
		Short: "Damage job directories at random and check what resumes and what verify says",
		Long: `Damage builds a job directory through the scheduler for each priority queue
(Scrapy's and the downloader-aware one), each layout (store and files), closed
and left as a killed process leaves it; lists the damage cases of each of its
files (delete, truncate at every interesting offset, flip bits at random
offsets, replace with garbage, swap with another file); runs --cases of them
chosen at random (all with --cases 0); and prints, per damage kind and file,
the cases, the requests the damage left intact, how many of those the resume
handed out and lost, how often "jobdir verify" agreed with the resume, and the
panics and hangs. It prints the seed first and each failing case with its own
seed, so that a run can be made again. The exit status is 1 if a case failed.

This is the large randomized variant of the corruption tests, which run a
small fixed selection in CI.`,
		Example: `  frontier bench damage
  frontier bench damage --cases 2000 --seed 7 --requests 400`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return benchDamage(cmd.Context(), e, f) },
	}
	fl := c.Flags()
	fl.IntVar(&f.cases, "cases", 500, "damage cases to run, chosen at random over every job and file (0: all)")
	fl.Uint64Var(&f.seed, "seed", 0, "seed of every random choice (0: from the clock)")
	fl.IntVar(&f.requests, "requests", 200, "requests enqueued in each job")
	fl.IntVar(&f.flips, "flips", 20, "bit-flip cases listed per file")
	fl.IntVar(&f.flipBits, "flip-bits", 4, "most bits a bit-flip case flips")
	fl.IntVar(&f.show, "show", 20, "failing cases printed in full")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long verify or a resume may take before the case counts as a hang")
	fl.StringVar(&f.file, "file", "", `run only the cases of files whose path contains this (e.g. "buckets.journal")`)
	fl.StringVar(&f.config, "config", "", `run only the cases of jobs whose configuration contains this (e.g. "/files/", "dapq/store/killed")`)
	fl.BoolVar(&f.asJSON, "json", false, `print one JSON object: {"seed": S, "rows": [...]}`)
	return c
}

// benchDamageCase is a case to run and the job it damages.
type benchDamageCase struct {
	job *damage.Job
	c   damage.Case
}

func benchDamage(ctx context.Context, e *env, f benchDamageFlags) error {
	if f.seed == 0 {
		f.seed = uint64(time.Now().UnixNano())
	}
	fmt.Fprintf(e.stderr, "bench damage: seed %d, %d requests per job\n", f.seed, f.requests)
	scratch, err := os.MkdirTemp("", "frontier-bench-damage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	var all []benchDamageCase
	for i, cfg := range damage.Configs(f.requests, f.seed) {
		job, err := damage.Build(ctx, filepath.Join(scratch, fmt.Sprintf("job%d", i)), cfg)
		if err != nil {
			return err
		}
		opts := damage.CaseOptions{Flips: f.flips, FlipBits: f.flipBits, Seed: f.seed + uint64(i)}
		for _, c := range damage.Cases(job.Oracle, opts) {
			if !strings.Contains(c.File, f.file) || !strings.Contains(cfg.String(), f.config) {
				continue
			}
			all = append(all, benchDamageCase{job: job, c: c})
		}
	}
	rng := rand.New(rand.NewPCG(f.seed, 0xbe7c4))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if f.cases > 0 && f.cases < len(all) {
		all = all[:f.cases]
	}
	var tally damage.Tally
	p := e.progress("bench damage: cases")
	shown, failed := 0, 0
	for i, bc := range all {
		res := damage.Run(ctx, bc.job, bc.c, damage.RunOptions{Scratch: scratch, Timeout: f.timeout})
		tally.Add(res)
		if res.Failed() {
			failed++
			if shown < f.show {
				shown++
				p.done()
				fmt.Fprintf(e.stderr, "FAIL %s: %s\n", bc.job.Config, bc.c)
				for _, msg := range res.Failures {
					fmt.Fprintf(e.stderr, "    %s\n", firstLines(msg, 12))
				}
			}
		}
		p.update(int64(i+1), int64(len(all)))
	}
	p.done()
	if f.asJSON {
		if err := printJSON(e.stdout, map[string]any{"seed": f.seed, "requests": f.requests, "rows": tally.Rows()}); err != nil {
			return err
		}
	} else {
		tally.Print(e.stdout)
		fmt.Fprintf(e.stdout, "%d cases, %d failed (seed %d)\n", len(all), failed, f.seed)
	}
	if failed > 0 {
		return errReported
	}
	return nil
}

// firstLines returns the first n lines of s (a hang's goroutine dump is
// long).
func firstLines(s string, n int) string {
	for i, c := range s {
		if c == '\n' {
			if n--; n == 0 {
				return s[:i] + "\n    …"
			}
		}
	}
	return s
}
