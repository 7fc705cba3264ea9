package schedulers

import (
	"bufio"
	"context"
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// The crash harness. A child process (this test binary, re-executed) runs a
// random mix of enqueues, dequeues and finishes against a job directory and
// prints each operation once it is acknowledged: an enqueue, a dequeue or a
// finish after the Flush that follows it (it also says when Next returns and
// before Finish, so that the parent knows what may have happened). The parent kills it
// with SIGKILL at a random moment, starts the next child on the same job
// directory (a chain of crashes), and at the end of the chain reopens the job
// and drains it. It checks:
//
//   - nothing acknowledged as enqueued is lost (it is delivered at some point);
//   - nothing acknowledged as finished is ever delivered again;
//   - everything delivered and not finished comes back;
//   - nothing is delivered twice otherwise (twice in one run, or in the
//     final drain);
//   - a request the dupefilter filters after a crash is in the job (a
//     fingerprint is never durable before its request).
//
// The chains rotate through the kinds of crashKinds, and alternate
// JOBDIR_FSYNC=never and interval (whose pops are written only at ticks of
// the job's fsync clock: a kill between ticks brings popped requests back
// from the queues, which the in-flight journal must drop as ghosts).
//
// FRONTIER_CRASH_KILLS sets the number of kill points (default 200).

const (
	crashEnvDir   = "FRONTIER_CRASH_CHILD"
	crashEnvSeed  = "FRONTIER_CRASH_SEED"
	crashEnvKind  = "FRONTIER_CRASH_KIND"
	crashEnvRetry = "FRONTIER_CRASH_RETRY"
	crashEnvBase  = "FRONTIER_CRASH_BASE"
	// crashEnvFsync is the child's JOBDIR_FSYNC (default never): the
	// chains alternate never and interval, whose pops wait for a tick of
	// the job's fsync clock and come back after a kill as ghosts.
	crashEnvFsync = "FRONTIER_CRASH_FSYNC"
)

// crashPolicy returns the JOBDIR_FSYNC of a chain: never for the first
// round of the kinds, interval for the next, and so on.
func crashPolicy(chain int) string {
	if chain/len(crashKinds)%2 == 1 {
		return "interval"
	}
	return "never"
}

// crashKinds are the configurations the chains rotate through: priority
// queue, disk queue, the queue store's segment size (small ones make the
// store roll segments, checkpoint, compact and delete segments as it runs)
// and the queue layout.
var crashKinds = []struct {
	pq, disk string
	segment  int
	layout   string
}{
	{"scrapy.pqueues.DownloaderAwarePriorityQueue", "scrapy.squeues.PickleLifoDiskQueue", 0, "store"},
	{"scrapy.pqueues.ScrapyPriorityQueue", "scrapy.squeues.PickleFifoDiskQueue", 0, "store"},
	{"scrapy.pqueues.DownloaderAwarePriorityQueue", "scrapy.squeues.PickleFifoDiskQueue", 16 << 10, "store"},
	{"scrapy.pqueues.ScrapyPriorityQueue", "scrapy.squeues.PickleLifoDiskQueue", 8 << 10, "store"},
	{"scrapy.pqueues.DownloaderAwarePriorityQueue", "scrapy.squeues.PickleLifoDiskQueue", 4 << 10, "store"},
	{"scrapy.pqueues.DownloaderAwarePriorityQueue", "scrapy.squeues.PickleFifoDiskQueue", 0, "files"},
	{"scrapy.pqueues.ScrapyPriorityQueue", "scrapy.squeues.PickleLifoDiskQueue", 0, "files"},
}

// sha1Fingerprinter fingerprints the URL without its fragment: a request
// enqueued again after a crash gets a fragment, so that the parent tells the
// copies apart while the dupefilter sees the same request.
type sha1Fingerprinter struct{}

func (sha1Fingerprinter) Fingerprint(r *framework.Request) (framework.Fingerprint, error) {
	u, _, _ := strings.Cut(r.URL, "#")
	return sha1.Sum([]byte(u)), nil
}

// harnessCrawler builds the crawler a crash child and the final check use.
func harnessCrawler(dir string, kind int) (*framework.Crawler, error) {
	reg := registry.New()
	for _, f := range []func(*registry.Registry) error{queues.Register, dupefilters.Register, Register} {
		if err := f(reg); err != nil {
			return nil, err
		}
	}
	registerDiskQueues(reg)
	if err := reg.Register(registry.Entry{Name: "test.SHA1URL",
		Factory: framework.FingerprinterFactory(func(context.Context, *framework.Crawler) (framework.Fingerprinter, error) {
			return sha1Fingerprinter{}, nil
		})}); err != nil {
		return nil, err
	}
	s := framework.NewSettings()
	code := framework.Source{Kind: framework.SourceCode}
	k := crashKinds[kind%len(crashKinds)]
	for name, v := range map[string]any{
		"JOBDIR":                      dir,
		"JOBDIR_FSYNC":                "never", // SIGKILL spares the page cache
		"REQUEST_FINGERPRINTER_CLASS": "test.SHA1URL",
		"DUPEFILTER_CLASS":            "scrapy.dupefilters.RFPDupeFilter",
		"SCHEDULER_PRIORITY_QUEUE":    k.pq,
		"SCHEDULER_DISK_QUEUE":        k.disk,
		"SCHEDULER_START_DISK_QUEUE":  "scrapy.squeues.PickleFifoDiskQueue",
		"JOBDIR_SEGMENT_BYTES":        k.segment,
		"JOBDIR_QUEUE_LAYOUT":         k.layout,
	} {
		s.Set(name, v, code)
	}
	if v := os.Getenv(crashEnvFsync); v != "" {
		s.Set("JOBDIR_FSYNC", v, code)
		s.Set("JOBDIR_FSYNC_INTERVAL", "25ms", code) // ticks within a child's life
	}
	return framework.NewCrawler(s, reg, nil), nil
}

// TestCrashHelperProcess is the crash child; it runs only when the parent
// sets FRONTIER_CRASH_CHILD.
func TestCrashHelperProcess(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("crash harness child")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashEnvSeed), 10, 64)
	kind, _ := strconv.Atoi(os.Getenv(crashEnvKind))
	base, _ := strconv.Atoi(os.Getenv(crashEnvBase))
	out := bufio.NewWriterSize(os.Stdout, 0) // unbuffered: every line is one write
	say := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
	fail := func(err error) {
		say("ERR %v", err)
		os.Exit(3)
	}
	_ = out
	c, err := harnessCrawler(dir, kind)
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
	rng := rand.New(rand.NewPCG(seed, 7))
	var unackedE, unackedD, unackedF []string
	flush := func() {
		if err := s.Flush(); err != nil {
			fail(err)
		}
		for _, u := range unackedE {
			say("E %s", u)
		}
		for _, u := range unackedD {
			say("D %s", u)
		}
		for _, u := range unackedF {
			say("F %s", u)
		}
		unackedE, unackedD, unackedF = unackedE[:0], unackedD[:0], unackedF[:0]
	}
	enqueue := func(u string, retry bool) {
		if !retry {
			say("e %s", u)
		}
		r := framework.MustRequest(u)
		r.Priority = rng.IntN(4)
		if rng.IntN(10) == 0 {
			r.Meta = map[string]any{framework.MetaIsStartRequest: true}
		}
		ok, err := s.Enqueue(r)
		if err != nil {
			fail(err)
		}
		switch {
		case !ok && retry:
			say("S %s", u)
		case !ok:
			fail(fmt.Errorf("new URL %s filtered", u))
		default:
			if retry {
				// Its fingerprint was not durable: the request may be in the
				// job already, and is now in it twice (the harmless
				// direction); the retry's URL differs by its fragment.
				say("r %s", u)
			}
			unackedE = append(unackedE, u)
		}
	}
	if f := os.Getenv(crashEnvRetry); f != "" {
		b, _ := os.ReadFile(f)
		for _, u := range strings.Fields(string(b)) {
			enqueue(u+"#retry"+strconv.Itoa(base), true)
		}
	}
	var inflight []*framework.Request
	for n := 0; ; {
		switch op := rng.IntN(100); {
		case op < 40:
			for k := rng.IntN(5) + 1; k > 0; k-- {
				n++
				enqueue(fmt.Sprintf("http://host%d.example/%d", rng.IntN(6), base+n), false)
			}
			if rng.IntN(2) == 0 {
				flush()
			}
		case op < 75:
			r, err := s.Next()
			if err != nil {
				fail(err)
			}
			if r != nil {
				say("d %s %t", r.URL, r.Redelivered)
				unackedD = append(unackedD, r.URL)
				inflight = append(inflight, r)
			}
		case op < 95:
			if len(inflight) == 0 {
				continue
			}
			i := rng.IntN(len(inflight))
			r := inflight[i]
			inflight = append(inflight[:i], inflight[i+1:]...)
			// Said before Finish: a kill between the flush and "F" leaves a
			// request finished without its acknowledgement printed.
			say("f %s", r.URL)
			if err := s.Finish(r, nil); err != nil {
				fail(err)
			}
			unackedF = append(unackedF, r.URL)
			if rng.IntN(2) == 0 {
				flush()
			}
		case op < 97:
			// A flush nobody is told about (as the interval flush): what it
			// wrote is durable but not acknowledged, so after a kill the
			// next child enqueues those requests again and the dupefilter
			// must filter them, the requests being in the job.
			if err := s.Flush(); err != nil {
				fail(err)
			}
		default:
			flush()
		}
	}
}

// crashModel is what the parent knows from the children's acknowledgements.
type crashModel struct {
	enqueued  map[string]bool // acknowledged enqueued
	finished  map[string]bool // acknowledged finished
	finishing map[string]bool // reported finished, maybe not acknowledged
	delivered map[string]int  // times handed out, over all runs
	inflight  map[string]bool // handed out, acknowledged by a flush
	filtered  map[string]int  // filtered on retry: run index
	sent      map[string]bool // enqueued at all (acknowledged or not)
	lastRun   map[string]int  // run that last delivered it
	history   map[string][]string
	// redelivered counts deliveries marked Redelivered.
	redelivered int
}

// story returns what the children said about u, for failure messages.
func (m *crashModel) story(u string) string { return strings.Join(m.history[u], "; ") }

func TestSchedulerCrashHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("crash harness: -short")
	}
	kills := 200
	if v := os.Getenv("FRONTIER_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("FRONTIER_CRASH_KILLS=%q", v)
		}
		kills = n
	}
	const perChain = 10
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d kill points", seed, kills)
	rng := rand.New(rand.NewPCG(seed, 1))
	start := time.Now()
	var total struct{ ops, redelivered, filtered, ghosts int }
	for chain := 0; chain*perChain < kills; chain++ {
		dir := filepath.Join(t.TempDir(), "job")
		m := &crashModel{enqueued: map[string]bool{}, finished: map[string]bool{}, finishing: map[string]bool{}, inflight: map[string]bool{}, delivered: map[string]int{},
			filtered: map[string]int{}, sent: map[string]bool{}, lastRun: map[string]int{}, history: map[string][]string{}}
		for run := 0; run < perChain && chain*perChain+run < kills; run++ {
			lines := runCrashChild(t, dir, chain, run, rng, m)
			for _, l := range lines {
				if l != "" && strings.Contains("EDF", l[:1]) {
					total.ops++
				}
			}
			if err := m.apply(run, lines); err != nil {
				t.Fatalf("chain %d (%s, %s), run %d: %v", chain, crashKinds[chain%len(crashKinds)].pq, crashPolicy(chain), run, err)
			}
		}
		got, ghosts, err := finalDrain(dir, chain)
		if err != nil {
			t.Fatalf("chain %d: final drain: %v", chain, err)
		}
		total.ghosts += ghosts
		if err := m.check(got); err != nil {
			t.Fatalf("chain %d (%s, %s, %s): %v", chain, crashKinds[chain%len(crashKinds)].pq, crashKinds[chain%len(crashKinds)].disk, crashPolicy(chain), err)
		}
		total.filtered += len(m.filtered)
		total.redelivered += m.redelivered
	}
	t.Logf("%d kill points in %v: %d acknowledged operations, %d requests handed out again after a crash, %d filtered on retry, %d ghosts dropped",
		kills, time.Since(start).Round(time.Millisecond), total.ops, total.redelivered, total.filtered, total.ghosts)
}

// runCrashChild runs one child on dir, kills it after a random time, and
// returns the lines it printed.
func runCrashChild(t *testing.T, dir string, chain, run int, rng *rand.Rand, m *crashModel) []string {
	t.Helper()
	// Requests enqueued and not acknowledged, never seen since: enqueued again
	// to see whether the dupefilter remembers them.
	var retry []string
	for u := range m.sent {
		if !m.enqueued[u] && m.delivered[u] == 0 && !strings.Contains(u, "#") && len(retry) < 20 {
			retry = append(retry, u)
		}
	}
	retryFile := filepath.Join(t.TempDir(), "retry")
	if err := os.WriteFile(retryFile, []byte(strings.Join(retry, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$")
	cmd.Env = append(os.Environ(),
		crashEnvDir+"="+dir,
		crashEnvSeed+"="+strconv.FormatUint(rng.Uint64(), 10),
		crashEnvKind+"="+strconv.Itoa(chain),
		crashEnvRetry+"="+retryFile,
		crashEnvBase+"="+strconv.Itoa(run*1_000_000),
		crashEnvFsync+"="+crashPolicy(chain),
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
	var out []string
	select {
	case l, ok := <-lines:
		if !ok || l != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("chain %d run %d: child said %q instead of ready", chain, run, l)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("chain %d run %d: child not ready", chain, run)
	}

	kill := time.After(time.Duration(rng.IntN(40_000)) * time.Microsecond)
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

// apply records a run's acknowledged operations, checking the ones that
// must never happen.
func (m *crashModel) apply(run int, lines []string) error {
	inRun := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			return fmt.Errorf("child printed %q", l)
		}
		u := f[1]
		m.history[u] = append(m.history[u], fmt.Sprintf("run %d: %s", run, l))
		switch f[0] {
		case "ERR":
			return fmt.Errorf("child failed: %s", l)
		case "e":
			m.sent[u] = true
		case "r":
		case "E":
			m.enqueued[u], m.sent[u] = true, true
		case "S":
			base, _, _ := strings.Cut(u, "#")
			m.filtered[base] = run
		case "D":
			m.inflight[u] = true
		case "d":
			if len(f) > 2 && f[2] == "true" {
				m.redelivered++
			}
			delete(m.finishing, u) // handed out again: its finish was not durable
			if m.finished[u] {
				return fmt.Errorf("%s delivered again after it was finished (%s)", u, m.story(u))
			}
			if inRun[u] {
				return fmt.Errorf("%s delivered twice in one run (%s)", u, m.story(u))
			}
			inRun[u] = true
			m.delivered[u]++
			m.lastRun[u] = run
			m.sent[u] = true
		case "f":
			m.finishing[u] = true
		case "F":
			m.finished[u] = true
		default:
			return fmt.Errorf("child printed %q", l)
		}
	}
	return nil
}

// copyBack reports whether a copy of base (enqueued again after a crash)
// came back in the final drain or was finished.
func (m *crashModel) copyBack(base string, got map[string]int) bool {
	for u, n := range got {
		if n > 0 && strings.HasPrefix(u, base+"#") {
			return true
		}
	}
	for u := range m.finishing {
		if strings.HasPrefix(u, base+"#") {
			return true
		}
	}
	return false
}

// check compares the final drain with the model.
func (m *crashModel) check(got map[string]int) error {
	for u, n := range got {
		if n > 1 {
			return fmt.Errorf("%s delivered %d times by the final drain (%s)", u, n, m.story(u))
		}
		if m.finished[u] {
			return fmt.Errorf("%s, finished, came back in the final drain (%s)", u, m.story(u))
		}
	}
	for u := range m.enqueued {
		if !m.finishing[u] && got[u] == 0 {
			return fmt.Errorf("%s, acknowledged as enqueued and not finished, is lost (%s)", u, m.story(u))
		}
	}
	for u := range m.inflight {
		if !m.finishing[u] && got[u] == 0 {
			return fmt.Errorf("%s, handed out and not finished, did not come back (%s)", u, m.story(u))
		}
	}
	for u, run := range m.filtered {
		if got[u] == 0 && m.lastRun[u] < run && !m.finishing[u] && !m.copyBack(u, got) {
			return fmt.Errorf("%s was filtered as seen after a crash but is not in the job (%s)", u, m.story(u))
		}
	}
	return nil
}

// finalDrain opens the job in this process and hands out everything.
func finalDrain(dir string, chain int) (map[string]int, int, error) {
	c, err := harnessCrawler(dir, chain)
	if err != nil {
		return nil, 0, err
	}
	s, err := New(context.Background(), c)
	if err != nil {
		return nil, 0, err
	}
	if err := s.Open(context.Background()); err != nil {
		return nil, 0, err
	}
	got := map[string]int{}
	for s.HasPending() {
		r, err := s.Next()
		if err != nil {
			s.Close("")
			return nil, 0, err
		}
		if r == nil {
			break
		}
		got[r.URL]++
	}
	ghosts := int(c.Stats.Get(StatGhostsSkipped))
	return got, ghosts, s.Close("")
}
