package damage

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestUndamagedResumesEverything checks the oracle: a resume of each
// undamaged job hands out exactly what was pending and in flight, and
// verify says OK.
func TestUndamagedResumesEverything(t *testing.T) {
	for _, cfg := range Configs(60, 10) {
		t.Run(cfg.String(), func(t *testing.T) {
			job, err := Build(context.Background(), t.TempDir(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(job.InFlight) == 0 || len(job.Pending) == 0 || job.Items == 0 {
				t.Fatalf("job holds %d pending, %d in flight, %d items: want some of each", len(job.Pending), len(job.InFlight), job.Items)
			}
			for u := range job.Expected() {
				if !job.Oracle.Recoverable(u, job.InFlight[u], nil) {
					t.Errorf("the oracle finds no record of %s (in flight: %v)", u, job.InFlight[u])
				}
			}
			none := Case{File: "none", Damage: "none", apply: func(string) error { return nil }}
			res := Run(context.Background(), job, none, RunOptions{Scratch: t.TempDir(), Timeout: time.Minute})
			for _, f := range res.Failures {
				t.Error(f)
			}
			if res.Resumed != res.Expected || res.Duplicates != 0 || res.Lost != 0 {
				t.Errorf("resumed %d of %d, %d duplicates, %d lost", res.Resumed, res.Expected, res.Duplicates, res.Lost)
			}
			if !res.VerifyOK() {
				t.Errorf("verify of the undamaged job: %s", findings(res.Verify))
			}
		})
	}
}

// TestCorruption damages every file of every job in every way and checks
// each resume (issue 10, item 5).
func TestCorruption(t *testing.T) {
	// Every kind of file, every damage kind, both priority queues, both
	// layouts, closed and killed; a few offsets and seeds each (the bench
	// damage command runs them all, at random).
	requests, opts := 40, CaseOptions{MaxTruncations: 5, Flips: 2, FlipBits: 2, FilesPerKind: 3, Seed: 1}
	if testing.Short() {
		opts = CaseOptions{MaxTruncations: 3, Flips: 1, FlipBits: 1, FilesPerKind: 2, Seed: 1}
	}
	for _, cfg := range Configs(requests, 10) {
		t.Run(cfg.String(), func(t *testing.T) {
			t.Parallel()
			job, err := Build(context.Background(), t.TempDir(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			scratch := t.TempDir()
			for _, c := range Cases(job.Oracle, opts) {
				res := Run(context.Background(), job, c, RunOptions{Scratch: scratch, Timeout: 30 * time.Second})
				for _, f := range res.Failures {
					t.Errorf("%s: %s: %s", cfg, c, f)
				}
			}
		})
	}
}

func ExampleCases() {
	o := &Oracle{Files: []*FileInfo{{Rel: "lock", Kind: KindLock, Size: 0}, {Rel: "spider.state", Kind: KindState, Size: 10, Header: -1}}}
	for _, c := range Cases(o, CaseOptions{Flips: 1, Seed: 1}) {
		fmt.Println(c.Damage, c.File)
	}
	// Output:
	// delete lock
	// swap lock
	// delete spider.state
	// truncate spider.state
	// truncate spider.state
	// truncate spider.state
	// flip spider.state
	// garbage spider.state
	// swap spider.state
}

// The oracle's answer follows the damage: a request whose only record
// frame is touched is not recoverable; damage elsewhere leaves it so.
func TestOracleRecoverable(t *testing.T) {
	for _, layout := range []string{LayoutStore, LayoutFiles} {
		t.Run(layout, func(t *testing.T) {
			job, err := Build(context.Background(), t.TempDir(), Config{PriorityQueue: ScrapyPQ, Layout: layout, Requests: 30, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for u := range job.Pending {
				copies := job.Oracle.Queued[u]
				if len(copies) != 1 {
					continue
				}
				frame := copies[0][0]
				mid := Span{File: frame.File, Off: (frame.Off + frame.End) / 2, End: (frame.Off+frame.End)/2 + 1}
				if job.Oracle.Recoverable(u, false, []Span{mid}) {
					t.Errorf("%s: a flipped byte at %d of %s, inside its frame, leaves it recoverable", u, mid.Off, mid.File)
				}
				after := Span{File: frame.File, Off: frame.End, End: frame.End + 1}
				other := Span{File: "requests.fingerprints", Off: 0, End: 1 << 20}
				if !job.Oracle.Recoverable(u, false, []Span{after, other}) {
					t.Errorf("%s: damage after its frame and in the fingerprints makes it unrecoverable", u)
				}
				checked++
			}
			for u := range job.InFlight {
				d := job.Oracle.Journaled[u]
				if len(d) == 0 || job.Oracle.Recoverable(u, true, []Span{{File: "requests.inflight", Off: 0, End: 1 << 30}}) {
					t.Errorf("%s in flight: journal copies %v, recoverable without the journal", u, d)
				}
				checked++
			}
			if checked == 0 {
				t.Fatal("no request checked")
			}
		})
	}
}
