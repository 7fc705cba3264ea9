package schedulers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/disk"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/lazyfs"
)

// The power-loss harness. It is the crash harness (crash_test.go) on a
// filesystem that loses what was not fsynced (internal/lazyfs): a child
// process runs enqueues, dequeues, finishes, flushes and checkpoints against a
// job directory on the mount and prints each operation once acknowledged;
// the parent kills it with SIGKILL at a random moment, then cuts the power
// (DropAll: every unsynced write lost; KeepRandom: a random subset kept, in
// any order, pages torn). It resumes a copy of what survived, drains it, and
// compares with what the child was told, then runs the next child on the
// same job (a chain of cuts).
//
// An acknowledgement is guaranteed to survive a cut when the policy says so:
// under always, every flush that returned; under interval, a flush followed
// in the same run by a flush that started at least JOBDIR_FSYNC_INTERVAL after
// it ended; under never, none (only what a previous cut left, which is on
// disk). A guaranteed loss fails the test; the others are counted and printed.
// What must hold under every policy: the job reopens, nothing is handed out
// twice by a resume, what survived an earlier cut and was not touched since
// is still there, and spider.state holds at least what the last returned
// Checkpoint saved.
//
// FRONTIER_POWERLOSS_CUTS sets the cuts per policy and cut mode (default 10).

const (
	plEnvDir   = "FRONTIER_POWERLOSS_CHILD"
	plEnvSeed  = "FRONTIER_POWERLOSS_SEED"
	plEnvKind  = "FRONTIER_POWERLOSS_KIND"
	plEnvFsync = "FRONTIER_POWERLOSS_FSYNC"
	plEnvBase  = "FRONTIER_POWERLOSS_BASE"

	// plFsyncInterval is JOBDIR_FSYNC_INTERVAL in the children: short, so
	// that a run of a few hundred milliseconds sees it elapse.
	plFsyncInterval = 25 * time.Millisecond
	plCutsPerChain  = 2
)

// plKinds are the crash kinds (priority queue, disk queue, segment size,
// layout) the power-loss chains rotate through: both priority queues, both
// layouts, and a small segment size that makes the store checkpoint and
// compact.
var plKinds = []int{0, 1, 5, 6, 4}

// plKindsFor returns the kinds a policy is tested with. Under interval the
// files layout makes its queue files durable with syncfs(2) on Linux, which
// the kernel does not forward to a FUSE filesystem (only to virtiofs): on
// lazyfs those files would look never synced, so interval is tested with the
// queue store only. (always fsyncs each file; never syncs nothing.)
func plKindsFor(policy string) []int {
	if policy == "interval" {
		return []int{0, 1, 4}
	}
	return plKinds
}

// plCrawler is the crash harness's crawler with the policy under test.
func plCrawler(dir string, kind int, policy string) (*framework.Crawler, error) {
	c, err := harnessCrawler(dir, kind)
	if err != nil {
		return nil, err
	}
	code := framework.Source{Kind: framework.SourceCode}
	c.Settings.Set("JOBDIR_FSYNC", policy, code)
	c.Settings.Set("JOBDIR_FSYNC_INTERVAL", plFsyncInterval.String(), code)
	return c, nil
}

// TestPowerLossHelperProcess is the power-loss child; it runs only when the
// parent sets FRONTIER_POWERLOSS_CHILD.
func TestPowerLossHelperProcess(t *testing.T) {
	dir := os.Getenv(plEnvDir)
	if dir == "" {
		t.Skip("power-loss harness child")
	}
	say := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	fail := func(err error) {
		say("ERR %v", err)
		os.Exit(3)
	}
	seed, _ := strconv.ParseUint(os.Getenv(plEnvSeed), 10, 64)
	kind, _ := strconv.Atoi(os.Getenv(plEnvKind))
	base, _ := strconv.Atoi(os.Getenv(plEnvBase))
	c, err := plCrawler(dir, kind, os.Getenv(plEnvFsync))
	if err != nil {
		fail(err)
	}
	s, err := New(context.Background(), c)
	if err != nil {
		fail(err)
	}
	if err := s.Open(context.Background()); err != nil {
		fail(err)
	}
	say("ready")
	rng := rand.New(rand.NewPCG(seed, 11))
	var acks []string
	// flush says when the flush started and ended, then what it
	// acknowledged; checkpoint also saves spider.state.
	flush := func(checkpoint bool) {
		start := time.Now().UnixNano()
		var err error
		if checkpoint {
			err = s.Checkpoint()
		} else {
			err = s.Flush()
		}
		if err != nil {
			fail(err)
		}
		say("L %d %d", start, time.Now().UnixNano())
		for _, a := range acks {
			say("%s", a)
		}
		acks = acks[:0]
	}
	state := 0
	if v, ok := c.Spider.State["n"].(int64); ok {
		state = int(v)
	}
	var inflight []*framework.Request
	for n := 0; ; {
		switch op := rng.IntN(100); {
		case op < 40:
			for k := rng.IntN(5) + 1; k > 0; k-- {
				n++
				u := fmt.Sprintf("http://host%d.example/%d", rng.IntN(6), base+n)
				say("e %s", u)
				r := framework.MustRequest(u)
				r.Priority = rng.IntN(4)
				if rng.IntN(10) == 0 {
					r.Meta = map[string]any{framework.MetaIsStartRequest: true}
				}
				ok, err := s.Enqueue(r)
				if err != nil {
					fail(err)
				}
				if !ok {
					fail(fmt.Errorf("new URL %s filtered", u))
				}
				acks = append(acks, "E "+u)
			}
		case op < 70:
			r, err := s.Next()
			if err != nil {
				fail(err)
			}
			if r != nil {
				say("d %s %t", r.URL, r.Redelivered)
				acks = append(acks, "D "+r.URL)
				inflight = append(inflight, r)
			}
		case op < 88:
			if len(inflight) == 0 {
				continue
			}
			i := rng.IntN(len(inflight))
			r := inflight[i]
			inflight = append(inflight[:i], inflight[i+1:]...)
			say("f %s", r.URL)
			if err := s.Finish(r, nil); err != nil {
				fail(err)
			}
			acks = append(acks, "F "+r.URL)
		case op < 97:
			flush(false)
		default:
			state++
			c.Spider.State["n"] = state
			flush(true)
			say("C %d", state)
		}
	}
}

// plFlush is one acknowledged flush of a run.
type plFlush struct{ start, end int64 }

// plRun is what the parent learnt from one child.
type plRun struct {
	flushes []plFlush
	// ack maps an acknowledged operation ("E u", "D u", "F u") to the
	// index of its flush.
	ack         map[string]int
	enqueued    map[string]bool // said e (acknowledged or not)
	delivered   map[string]bool // said d
	redelivered map[string]bool // said d, marked Redelivered
	finishing   map[string]bool // said f
	checkpoint  int             // last acknowledged spider.state n
	ops         int
	story       map[string][]string // what the child said about each URL, with the flush count
}

// storyOf returns what the child said about u, for failure messages.
func (r *plRun) storyOf(u string) string { return strings.Join(r.story[u], "; ") }

func parsePLRun(lines []string) (*plRun, error) {
	r := &plRun{ack: map[string]int{}, enqueued: map[string]bool{}, delivered: map[string]bool{}, redelivered: map[string]bool{}, finishing: map[string]bool{}, story: map[string][]string{}}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			return nil, fmt.Errorf("child printed %q", l)
		}
		if f[0] != "L" && f[0] != "C" {
			r.story[f[1]] = append(r.story[f[1]], fmt.Sprintf("%s after flush #%d", l, len(r.flushes)-1))
		}
		switch f[0] {
		case "ERR":
			return nil, fmt.Errorf("child failed: %s", l)
		case "L":
			start, _ := strconv.ParseInt(f[1], 10, 64)
			end, _ := strconv.ParseInt(f[2], 10, 64)
			r.flushes = append(r.flushes, plFlush{start, end})
		case "E", "D", "F":
			r.ack[f[0]+" "+f[1]] = len(r.flushes) - 1
			r.ops++
		case "e":
			r.enqueued[f[1]] = true
		case "d":
			r.delivered[f[1]] = true
			r.redelivered[f[1]] = r.redelivered[f[1]] || len(f) > 2 && f[2] == "true"
		case "f":
			r.finishing[f[1]] = true
		case "C":
			n, _ := strconv.Atoi(f[1])
			r.checkpoint = n
		default:
			return nil, fmt.Errorf("child printed %q", l)
		}
	}
	return r, nil
}

// timeline lists the run's flushes relative to the first, for failure
// messages.
func (r *plRun) timeline() string {
	var b strings.Builder
	for i, f := range r.flushes {
		fmt.Fprintf(&b, "#%d %d-%d ", i, f.start-r.flushes[0].start, f.end-r.flushes[0].start)
	}
	return b.String()
}

// guaranteed reports whether the policy promises that what flush i
// acknowledged survives a power cut after this run.
func (r *plRun) guaranteed(policy string, i int) bool {
	switch policy {
	case "always":
		return true
	case "interval":
		for _, b := range r.flushes[i+1:] {
			if b.start >= r.flushes[i].end+int64(plFsyncInterval) {
				return true
			}
		}
	}
	return false
}

// acked returns whether op was acknowledged, and whether its survival is
// guaranteed.
func (r *plRun) acked(policy, op string) (acked, guaranteed bool) {
	i, ok := r.ack[op]
	if !ok {
		return false, false
	}
	return true, r.guaranteed(policy, i)
}

// plLoss counts what cuts lost within what the policy allows.
type plLoss struct {
	cuts, ops                       int
	enqueues, deliveries, finishes  int // acknowledged, not guaranteed, lost
	unackedKept, seenLost, repeated int
	oldDelivered                    int // lost: enqueue guaranteed, handed out since
	resurrected, refused            int
}

func (l *plLoss) add(o plLoss) {
	l.cuts += o.cuts
	l.ops += o.ops
	l.enqueues += o.enqueues
	l.deliveries += o.deliveries
	l.finishes += o.finishes
	l.unackedKept += o.unackedKept
	l.seenLost += o.seenLost
	l.repeated += o.repeated
	l.oldDelivered += o.oldDelivered
	l.resurrected += o.resurrected
	l.refused += o.refused
}

// plSurvivors is what a resume of a copy of the job finds: every request it
// hands out, and which of the given URLs the duplicate filter says it saw.
type plSurvivors struct {
	got   map[string]int
	seen  map[string]bool
	state int
}

// resumeCopy copies the job directory and resumes the copy in this process:
// it drains it and asks its duplicate filter about probe.
func resumeCopy(t *testing.T, dir string, kind int, policy string, probe []string) (plSurvivors, error) {
	cp := filepath.Join(t.TempDir(), "job")
	if err := copyTree(dir, cp); err != nil {
		return plSurvivors{}, err
	}
	c, err := plCrawler(cp, kind, policy)
	if err != nil {
		return plSurvivors{}, err
	}
	s, err := New(context.Background(), c)
	if err != nil {
		return plSurvivors{}, err
	}
	if err := s.Open(context.Background()); err != nil {
		return plSurvivors{}, fmt.Errorf("%w: %w", errRefused, err)
	}
	sv := plSurvivors{got: map[string]int{}, seen: map[string]bool{}}
	if v, ok := c.Spider.State["n"].(int64); ok {
		sv.state = int(v)
	}
	corrupt := 0
	for s.HasPending() {
		r, err := s.Next()
		var cre *disk.CorruptRecordError
		if err != nil && policy == "never" && errors.As(err, &cre) && corrupt < 1000 {
			// Under never a cut may keep a later write and drop an earlier
			// one, leaving a hole in a queue file: the queue reports the
			// records it skips and goes on; those requests count as lost,
			// which never allows.
			corrupt++
			t.Logf("never: %v", err)
			continue
		}
		if err != nil {
			s.Close("")
			return plSurvivors{}, fmt.Errorf("drain after the cut: %w", err)
		}
		if r == nil {
			break
		}
		sv.got[r.URL]++
	}
	for _, u := range probe {
		ok, err := s.Enqueue(framework.MustRequest(u))
		if err != nil {
			s.Close("")
			return plSurvivors{}, err
		}
		sv.seen[u] = !ok
	}
	return sv, s.Close("")
}

// errRefused is a resume's error when the job does not open after a cut.
var errRefused = errors.New("the job does not reopen after the cut")

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
}

func TestPowerLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("power-loss harness: -short")
	}
	if why := lazyfs.Available(); why != "" {
		if _, err := os.Stat("/dev/fuse"); err == nil && os.Getenv("CI") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	cuts := 10
	if v := os.Getenv("FRONTIER_POWERLOSS_CUTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("FRONTIER_POWERLOSS_CUTS=%q", v)
		}
		cuts = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("FRONTIER_POWERLOSS_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d, %d cuts per policy and cut mode", seed, cuts)
	for _, policy := range []string{"always", "interval", "never"} {
		for _, keep := range []bool{false, true} {
			name := policy + "/DropAll"
			if keep {
				name = policy + "/KeepRandom"
			}
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, uint64(len(name))*31+boolSeed(keep)))
				var total plLoss
				start := time.Now()
				for chain := 0; chain*plCutsPerChain < cuts; chain++ {
					n := min(plCutsPerChain, cuts-chain*plCutsPerChain)
					kinds := plKindsFor(policy)
					total.add(powerLossChain(t, policy, keep, kinds[chain%len(kinds)], n, rng))
				}
				t.Logf("%s: %d cuts in %v, %d acknowledged operations; lost within the policy: %d enqueues, %d deliveries (neither pending nor in flight), %d of them with a guaranteed enqueue, %d finishes (came back); %d unacknowledged enqueues kept; %d seen by the duplicate filter but not in the job; %d deliveries repeated; %d lost requests back after a later cut; %d times the job did not reopen (a bug)",
					name, total.cuts, time.Since(start).Round(time.Millisecond), total.ops, total.enqueues, total.deliveries+total.oldDelivered, total.oldDelivered, total.finishes, total.unackedKept, total.seenLost, total.repeated, total.resurrected, total.refused)
			})
		}
	}
}

func boolSeed(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// powerLossChain runs cuts children on one job directory, cutting the power
// after each, and checks each cut's survivors.
func powerLossChain(t *testing.T, policy string, keep bool, kind, cuts int, rng *rand.Rand) plLoss {
	t.Helper()
	backing := t.TempDir()
	dir := "job"
	var loss plLoss
	// before is what the previous cut left: the requests a resume hands out.
	before := map[string]bool{}
	checkpoint := 0
	for cut := 0; cut < cuts; cut++ {
		lfs := lazyfs.Mount(t, backing)
		lines := runPowerLossChild(t, filepath.Join(lfs.Dir(), dir), kind, policy, cut, rng)
		mode := lazyfs.DropAll
		if keep {
			mode = lazyfs.KeepRandom(rng.Uint64())
		}
		if err := lfs.PowerCut(mode); err != nil {
			t.Fatal(err)
		}
		run, err := parsePLRun(lines)
		if err != nil {
			t.Fatalf("%s, kind %d, cut %d: %v", mode, kind, cut, err)
		}
		var probe []string
		for u := range run.enqueued {
			probe = append(probe, u)
		}
		sort.Strings(probe)
		sv, err := resumeCopy(t, filepath.Join(backing, dir), kind, policy, probe)
		if err != nil {
			t.Fatalf("%s %s, kind %d (%s, %s), cut %d: %v", policy, mode, kind, crashKinds[kind].pq, crashKinds[kind].layout, cut, err)
		}
		if run.checkpoint > checkpoint {
			checkpoint = run.checkpoint
		}
		l, err := checkCut(policy, before, run, sv, checkpoint)
		if err != nil {
			if u, _, ok := strings.Cut(err.Error(), " "); ok {
				err = fmt.Errorf("%w\nwhat the child said about it: %s", err, run.storyOf(u))
			}
			c := lfs.Counters()
			t.Fatalf("%s %s, kind %d (%s, %s), cut %d (%d bytes written, %d synced, %d dropped, %d kept): %v\nflushes (start, end, ns since the first): %v\nthe cut lost:\n  %s",
				policy, mode, kind, crashKinds[kind].pq, crashKinds[kind].layout, cut, c.Written, c.Synced, c.Dropped, c.Kept, err,
				run.timeline(), strings.Join(lfs.Lost(), "\n  "))
		}
		loss.add(l)
		before = map[string]bool{}
		for u := range sv.got {
			before[u] = true
		}
	}
	return loss
}

// checkCut compares what a resume found after a cut with what the child was
// told. before is what the previous cut left.
func checkCut(policy string, before map[string]bool, run *plRun, sv plSurvivors, checkpoint int) (plLoss, error) {
	l := plLoss{cuts: 1, ops: run.ops}
	for u, n := range sv.got {
		if n > 1 && policy != "never" {
			// Under interval too, the in-flight journal's flushed marker is
			// written only by a flush that fsynced the queues (a tick): a
			// pop it vouches for is durable, so nothing is handed out
			// twice by one resume, as under always.
			return l, fmt.Errorf("%s handed out %d times by one resume", u, n)
		}
		if n > 1 {
			l.repeated++ // never: a delivery the cut made both pending and in flight
		}
		if !before[u] && !run.enqueued[u] {
			if policy == "always" {
				return l, fmt.Errorf("%s handed out by the resume but never enqueued since the previous cut, whose resume did not have it", u)
			}
			// A request an earlier cut lost (its bucket's journal record
			// dropped, its records kept) is back once a later run declares
			// its bucket again.
			l.resurrected++
		}
	}
	if sv.state < checkpoint {
		return l, fmt.Errorf("spider.state holds n=%d, but a Checkpoint that saved n=%d returned", sv.state, checkpoint)
	}
	urls := map[string]bool{}
	for u := range before {
		urls[u] = true
	}
	for u := range run.enqueued {
		urls[u] = true
	}
	for u := range urls {
		back := sv.got[u] > 0
		if finished, sure := run.acked(policy, "F "+u); finished {
			if back && sure && policy != "always" && run.redelivered[u] {
				// An earlier cut kept its delivery's flushed marker but not
				// its pop: the queue still held it when the journal handed
				// it out again, and hands it out once more now.
				l.repeated++
				continue
			}
			if back && sure {
				return l, fmt.Errorf("%s came back, but its finish was acknowledged by flush #%d, which the policy makes durable", u, run.ack["F "+u])
			}
			if back {
				l.finishes++
			}
			continue
		}
		if run.finishing[u] || back {
			continue // maybe finished, maybe not; or there
		}
		// Neither finished nor there: lost, unless nothing promised it.
		enq, enqSure := run.acked(policy, "E "+u)
		del, delSure := run.acked(policy, "D "+u)
		switch {
		case before[u] && !run.delivered[u]:
			return l, fmt.Errorf("%s, left by the previous cut and not touched since, is lost", u)
		case delSure || (enqSure || before[u]) && (!run.delivered[u] || policy != "never"):
			// Under always a delivery's record is fsynced before its pop;
			// under interval a pop is written only at a tick, after the
			// tick has fsynced the record of its delivery. Under never the
			// system writes back in any order: a request handed out since
			// the last cut is not promised, however old its enqueue.
			return l, fmt.Errorf("%s is lost, but its enqueue (flush #%d) or delivery (flush #%d) was acknowledged by a flush the policy makes durable", u, ackIndex(run, "E "+u), ackIndex(run, "D "+u))
		case run.delivered[u] && (enqSure || before[u]):
			l.oldDelivered++
		case del || (before[u] && run.delivered[u]):
			l.deliveries++
		case enq:
			l.enqueues++
		case sv.seen[u] && policy == "always":
			return l, fmt.Errorf("%s is not in the job, but its fingerprint is (a fingerprint made durable before its request)", u)
		case sv.seen[u]:
			l.seenLost++
		}
	}
	for u := range run.enqueued {
		if _, ok := run.ack["E "+u]; !ok && sv.got[u] > 0 {
			l.unackedKept++
		}
	}
	return l, nil
}

// ackIndex is the flush that acknowledged op, -1 for none.
func ackIndex(r *plRun, op string) int {
	if i, ok := r.ack[op]; ok {
		return i
	}
	return -1
}

// runPowerLossChild runs one child on dir and kills it after a random time,
// returning what it printed.
func runPowerLossChild(t *testing.T, dir string, kind int, policy string, cut int, rng *rand.Rand) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPowerLossHelperProcess$")
	cmd.Env = append(os.Environ(),
		plEnvDir+"="+dir,
		plEnvSeed+"="+strconv.FormatUint(rng.Uint64(), 10),
		plEnvKind+"="+strconv.Itoa(kind),
		plEnvFsync+"="+policy,
		plEnvBase+"="+strconv.Itoa(cut*1_000_000),
	)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l, ok := <-lines:
		if !ok || l != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s, kind %d, cut %d: child said %q instead of ready", policy, kind, cut, l)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("%s, kind %d, cut %d: child not ready", policy, kind, cut)
	}
	var out []string
	kill := time.After(time.Duration(rng.IntN(150_000)) * time.Microsecond)
	for killed := false; ; {
		select {
		case l, ok := <-lines:
			if !ok {
				cmd.Wait()
				return out
			}
			out = append(out, l)
		case <-kill:
			if !killed {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
	}
}
