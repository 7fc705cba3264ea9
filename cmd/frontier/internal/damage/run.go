package damage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/cmd/frontier/internal/jobtools"
	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/framework"
)

// Result is what one case did.
type Result struct {
	Case   Case
	Config Config

	// Expected are the requests pending or in flight in the undamaged job;
	// Intact those of them whose records the damage left whole (the oracle);
	// Resumed those the resume handed out; LostIntact the intact ones it did
	// not; Lost every expected one it did not.
	Expected, Intact, Resumed int
	LostIntact                []string
	Lost                      int
	// Duplicates counts requests handed out twice, or handed out though
	// they were finished: harmless, counted.
	Duplicates int
	// NextErrors counts the errors Next returned during the drain.
	NextErrors int
	// FingerprintsLost counts requests enqueued again after the drain and
	// accepted: their fingerprints were lost (a possible duplicate).
	FingerprintsLost int
	// ItemsLost is set when the feed's commit log no longer gives the
	// committed item count (or does not open).
	ItemsLost string
	// Refused is the error of a resume that refused the job.
	Refused error
	// Verify is jobdir verify's report of the damaged job (nil if it
	// failed: VerifyErr).
	Verify    *jobtools.Verification
	VerifyErr error
	// Panic and Hang describe a panic or a timeout (with every goroutine's
	// stack).
	Panic, Hang string
	// VerifyAgreed is set when verify's verdict and counts match what the
	// resume did.
	VerifyAgreed bool
	// Failures are the checks that failed, each a sentence.
	Failures []string
}

// Failed reports whether a check failed.
func (r *Result) Failed() bool { return len(r.Failures) > 0 }

// VerifyOK reports whether verify said the job was OK.
func (r *Result) VerifyOK() bool { return r.Verify != nil && r.Verify.OK() }

// LostSomething reports whether the resume lost anything the undamaged
// files held: a request, a fingerprint, a committed item, or the job.
func (r *Result) LostSomething() bool {
	return r.Refused != nil || r.Lost > 0 || r.FingerprintsLost > 0 || r.ItemsLost != ""
}

func (r *Result) fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// RunOptions bounds one case.
type RunOptions struct {
	// Timeout bounds verify and the resume each; a case past it is a hang.
	// 0 means 30 s.
	Timeout time.Duration
	// Scratch is where the case's copy of the job is made (and removed).
	Scratch string
}

// Run copies job to a scratch directory, applies c, runs verify and a
// resume with a full drain, a reopen after a clean close, a fingerprint
// check and the feed's recovery, and checks what they did.
func Run(ctx context.Context, job *Job, c Case, opts RunOptions) *Result {
	res := &Result{Case: c, Config: job.Config}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	root, err := os.MkdirTemp(opts.Scratch, "case-")
	if err != nil {
		res.fail("scratch directory: %v", err)
		return res
	}
	defer os.RemoveAll(root)
	dir := filepath.Join(root, "job")
	feedPath := filepath.Join(root, "items.jsonl")
	if err := copyTree(job.Dir, dir); err != nil {
		res.fail("copy the job: %v", err)
		return res
	}
	if err := copyFile(job.FeedPath, feedPath); err != nil {
		res.fail("copy the feed: %v", err)
		return res
	}
	if err := c.Apply(dir); err != nil {
		res.fail("%v", err)
		return res
	}
	guard(res, opts.Timeout, "verify", func() {
		res.Verify, res.VerifyErr = jobtools.Verify(dir, nil)
	})
	if res.Panic != "" || res.Hang != "" {
		return res
	}
	var got map[string]int
	guard(res, opts.Timeout, "resume", func() {
		got = resume(ctx, res, job, dir)
		feeds(res, job, dir, feedPath)
	})
	if res.Panic != "" || res.Hang != "" {
		return res
	}
	res.judge(job, got)
	return res
}

// guard runs fn under timeout, recording a panic or a hang (with a dump of
// every goroutine) in res. A hung fn is left running: nothing can stop it.
func guard(res *Result, timeout time.Duration, what string, fn func()) {
	done := make(chan string, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				done <- fmt.Sprintf("%s panicked: %v\n%s", what, p, buf)
			}
		}()
		fn()
		done <- ""
	}()
	select {
	case p := <-done:
		if p != "" {
			res.Panic = p
			res.fail("%s", p)
		}
	case <-time.After(timeout):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		res.Hang = fmt.Sprintf("%s did not end within %v; goroutines:\n%s", what, timeout, buf)
		res.fail("%s", res.Hang)
	}
}

// maxErrors is how many Next errors in a row end a drain: a queue that
// keeps failing loudly is allowed (issue 10, item 3), and what it still
// holds counts as not resumed.
const maxErrors = 64

// drain hands out every pending request of f and finishes it, counting
// them in got; it checks that HasPending and Len never promise more than
// Next returns.
func drain(res *Result, f *crawl.Frontier, got map[string]int, stage string) {
	promised := f.Len()
	stats := f.Crawler().Stats
	dropped := stats.Get(disk.StatDroppedRecords)
	handed, errs := 0, 0
	for f.HasPending() {
		r, err := f.Next()
		if err != nil {
			res.NextErrors++
			if errs++; errs >= maxErrors {
				res.fail("%s: Next failed %d times in a row (last: %v) while HasPending is true", stage, errs, err)
				return
			}
			continue
		}
		errs = 0
		if r == nil {
			res.fail("%s: HasPending is true but Next returned no request and no error (a drain loop spins)", stage)
			return
		}
		handed++
		if got != nil {
			got[r.URL]++
		}
		if err := f.Finish(r, nil); err != nil {
			res.fail("%s: Finish(%s): %v", stage, r.URL, err)
			return
		}
	}
	// A queue learns that a record is corrupt when it reads it: Len may
	// count it until then, as long as the skip is counted
	// (scheduler/disk/dropped_records) and Len falls with it.
	skipped := int(stats.Get(disk.StatDroppedRecords) - dropped)
	if promised > handed+res.NextErrors+skipped {
		res.fail("%s: Len promised %d requests, Next returned %d (with %d errors and %d records counted as skipped)", stage, promised, handed, res.NextErrors, skipped)
	}
}

// resume opens the damaged job, drains it, closes it, and opens it again
// (a job that resumed must open again after a clean close, and hold
// nothing once drained).
func resume(ctx context.Context, res *Result, job *Job, dir string) map[string]int {
	got := map[string]int{}
	f, err := openFrontier(ctx, job.Config, dir)
	if err != nil {
		res.Refused = err
		return got
	}
	drain(res, f, got, "resume")
	if err := f.Close(); err != nil {
		res.fail("close after the drain: %v", err)
	}
	f, err = openFrontier(ctx, job.Config, dir)
	if err != nil {
		res.fail("the job does not open again after a drain and a clean close: %v", err)
		return got
	}
	defer f.Close()
	before := len(res.Failures)
	left := map[string]int{}
	drain(res, f, left, "reopen")
	if len(left) > 0 && res.NextErrors == 0 && len(res.Failures) == before {
		res.fail("reopen after a full drain and a clean close handed out %d requests again", len(left))
	}
	fingerprints(res, job, f)
	return got
}

// fingerprints enqueues every request the job saw again into the reopened
// job f: one accepted was not filtered, so its fingerprint was lost.
func fingerprints(res *Result, job *Job, f *crawl.Frontier) {
	for _, u := range job.Seen {
		ok, err := f.Enqueue(framework.MustRequest(u))
		if err != nil {
			res.fail("enqueue %s again: %v", u, err)
			return
		}
		if ok {
			res.FingerprintsLost++
		}
	}
}

// feeds opens the feed log as a resumed crawl does and compares the
// committed item count.
func feeds(res *Result, job *Job, dir, feedPath string) {
	s, err := feed.Open([]feed.Spec{{Path: feedPath, Format: feed.JSONLines}}, feed.Options{Job: &framework.JobConfig{Dir: dir}})
	if err != nil {
		res.ItemsLost = err.Error()
		return
	}
	if n := s.Items(); n != job.Items {
		res.ItemsLost = fmt.Sprintf("the feed log gives %d committed items, %d were committed", n, job.Items)
	}
	if err := s.Close(); err != nil && res.ItemsLost == "" {
		res.ItemsLost = err.Error()
	}
}

// refusable reports whether a resume may refuse the job after damage to a
// file of kind: the manifest says how the queues are laid out, and the
// spider state is the spider's own data with no copy elsewhere; a resume
// that guessed either would misread the job. Every other file is
// rebuildable or holds records a resume can skip.
func refusable(kind string) bool { return kind == KindManifest || kind == KindState }

// judge compares what the resume did with the oracle and verify.
func (res *Result) judge(job *Job, got map[string]int) {
	c := res.Case
	expected := job.Expected()
	res.Expected = len(expected)
	mayRefuse := refusable(c.Kind)
	if c.Damage == Swap {
		for _, d := range c.Damaged {
			if f := job.Oracle.File(d.File); f != nil && refusable(f.Kind) {
				mayRefuse = true
			}
		}
	}
	for u := range expected {
		intact := job.Oracle.Recoverable(u, job.InFlight[u], c.Damaged) && !(mayRefuse && res.Refused != nil)
		if intact {
			res.Intact++
		}
		if got[u] > 0 {
			res.Resumed++
			continue
		}
		res.Lost++
		if intact {
			res.LostIntact = append(res.LostIntact, u)
		}
	}
	for u, n := range got {
		if !expected[u] {
			res.Duplicates += n
		} else {
			res.Duplicates += n - 1
		}
	}
	sort.Strings(res.LostIntact)
	if res.Refused != nil && !mayRefuse {
		res.fail("the resume refused the job: %v", res.Refused)
	} else if len(res.LostIntact) > 0 {
		res.fail("the resume lost %d of %d intact requests (%s)", len(res.LostIntact), res.Intact, sample(res.LostIntact))
	}
	before := len(res.Failures)
	res.judgeVerify()
	res.VerifyAgreed = len(res.Failures) == before
}

// judgeVerify checks verify's verdict against what the resume did:
//
//   - OK only if nothing was lost, but for an undetectable truncation (see
//     Case.Undetectable);
//   - not OK when nothing was lost only for what a resume rebuilds or
//     drops without losing a request (no records counted, nothing fatal);
//   - a refusal is a fatal finding, and a fatal finding a refusal;
//   - the request records it counts dropped are at least the intact
//     requests the resume lost (verify can read and count them) and at
//     most every request the resume lost: the records of a torn or
//     corrupt frame cannot be counted, since its count is not to be
//     trusted, so the requests damage itself destroyed may go uncounted.
func (res *Result) judgeVerify() {
	v := res.Verify
	switch {
	case res.VerifyErr != nil:
		res.fail("verify failed: %v", res.VerifyErr)
		return
	case v.OK() && res.LostSomething():
		if !res.Case.Undetectable || len(res.LostIntact) > 0 || res.Refused != nil {
			res.fail("verify said OK, but the resume %s", res.lossText())
		}
		return
	case v.OK():
		return
	case res.Refused != nil && !v.Fatal:
		res.fail("the resume refused the job (%v), verify did not say it would (%s)", res.Refused, findings(v))
		return
	case res.Refused == nil && v.Fatal:
		res.fail("verify said a resume would refuse the job (%s), it resumed", findings(v))
		return
	case res.Refused != nil:
		return
	}
	dropped := requestRecordsDropped(v)
	switch {
	case !res.LostSomething() && dropped > 0:
		res.fail("verify counts %d dropped requests, the resume lost none (%s)", dropped, findings(v))
	case dropped < len(res.LostIntact):
		res.fail("verify counts %d dropped requests, the resume lost %d intact ones (%s)", dropped, len(res.LostIntact), findings(v))
	case dropped > res.Lost:
		res.fail("verify counts %d dropped requests, the resume lost only %d (%s)", dropped, res.Lost, findings(v))
	}
}

// lossText says what the resume lost.
func (res *Result) lossText() string {
	var parts []string
	if res.Refused != nil {
		parts = append(parts, fmt.Sprintf("refused the job (%v)", res.Refused))
	}
	if res.Lost > 0 {
		parts = append(parts, fmt.Sprintf("lost %d of %d requests", res.Lost, res.Expected))
	}
	if res.FingerprintsLost > 0 {
		parts = append(parts, fmt.Sprintf("lost %d fingerprints", res.FingerprintsLost))
	}
	if res.ItemsLost != "" {
		parts = append(parts, "lost committed items: "+res.ItemsLost)
	}
	return strings.Join(parts, ", ")
}

// requestRecordsDropped sums the records verify says a resume drops from
// the files that hold requests (not the fingerprints, not the feed log).
func requestRecordsDropped(v *jobtools.Verification) int {
	n := 0
	for _, f := range v.Findings {
		switch kindOf(relTo(v.Dir, f.File)) {
		case KindFingerprints, KindFeedLog:
			continue
		}
		n += f.DropRecords
	}
	return n
}

// findings summarises verify's findings in one line.
func findings(v *jobtools.Verification) string {
	var parts []string
	for _, f := range v.Findings {
		parts = append(parts, fmt.Sprintf("%s@%d: %s [%d records]", f.File, f.Offset, f.What, f.DropRecords))
	}
	if len(parts) == 0 {
		return "no findings"
	}
	s := strings.Join(parts, "; ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func sample(us []string) string {
	if len(us) > 3 {
		return strings.Join(us[:3], ", ") + ", …"
	}
	return strings.Join(us, ", ")
}

// relTo returns path relative to the job directory dir when it is inside
// it (verify names files either way).
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}
