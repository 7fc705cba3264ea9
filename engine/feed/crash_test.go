package feed

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
)

const maxChildBatch = 20

// The real thing: a child process adds and commits numbered items in
// batches, as the engine's committer does, and is killed with SIGKILL at a
// random moment, several times over one job; each time, the feed must hold
// exactly the items committed, in order, once, and Done must answer for
// the last batch. After the last kill, a clean close leaves a valid file.
func TestSIGKILL(t *testing.T) {
	if os.Getenv("FRONTIER_FEED_CHILD") != "" {
		t.Skip("child")
	}
	kills := 5
	if testing.Short() {
		kills = 2
	}
	for _, f := range formats {
		t.Run(string(f.format), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "items"+f.ext)
			jobDir := filepath.Join(dir, "job")
			rng := rand.New(rand.NewPCG(uint64(len(f.ext)), 3))
			last := -1 // the last item the children reported committed
			for i := range kills {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSIGKILLChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), "FRONTIER_FEED_CHILD="+jobDir, "FRONTIER_FEED_PATH="+path,
					"FRONTIER_FEED_FORMAT="+string(f.format), "FRONTIER_FEED_SEED="+strconv.Itoa(i))
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Duration(80+rng.IntN(250)) * time.Millisecond)
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
				cancel()
				lines := strings.Split(out.String(), "\n")
				for _, line := range lines[:len(lines)-1] { // the last one may be cut
					switch fields := strings.Fields(line); {
					case len(fields) == 2 && fields[0] == "C":
						n, _ := strconv.Atoi(fields[1])
						if n <= last {
							t.Fatalf("kill %d: child committed item %d after %d", i, n, last)
						}
						last = n
					case strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "BAD"):
						t.Fatalf("kill %d: child: %s", i, out.String())
					}
				}
				n, cut := checkFeed(t, f.format, path, jobDir)
				if n-1 < last || n-1 > last+maxChildBatch {
					t.Fatalf("kill %d: the feed holds items 0..%d, the child reported %d committed", i, n-1, last)
				}
				t.Logf("kill %d: %d items committed, uncommitted bytes cut: %t", i, n, cut)
			}
			s := mustOpen(t, []Spec{{Path: path, Format: f.format}}, Options{Job: testJob(jobDir, recordio.FsyncAlways)})
			n := int(s.Items())
			mustClose(t, s)
			if got := numbers(t, f.format, readFile(t, path)); !slices.Equal(got, seq(0, n)) {
				t.Fatalf("after a clean close: %d items, not 0..%d", len(got), n-1)
			}
			if last < 0 {
				t.Error("no child committed anything")
			}
		})
	}
}

// checkFeed opens the job as a resume would and checks that the feed holds
// items 0..n-1 exactly, n the items committed, and that Done answers for
// the last batch; it returns n, and whether Open cut bytes written after
// the last commit. It leaves the job as a crash would.
func checkFeed(t *testing.T, format Format, path, jobDir string) (int, bool) {
	t.Helper()
	var logBuf bytes.Buffer
	s := mustOpen(t, []Spec{{Path: path, Format: format}}, Options{Job: testJob(jobDir, recordio.FsyncNever), Logger: zerolog.New(&logBuf)})
	defer crash(s)
	n := int(s.Items())
	data := readFile(t, path)
	if format == JSON {
		data = map[bool]string{true: "[]", false: data + "\n]"}[data == ""]
	}
	if got := numbers(t, format, data); !slices.Equal(got, seq(0, n)) {
		t.Fatalf("the feed holds %d items %v…, want 0..%d", len(got), got[:min(len(got), 10)], n-1)
	}
	if n > 0 && !s.Done(uint64(n)) {
		t.Fatalf("Done(%d) = false: the last batch is not done", n)
	}
	return n, strings.Contains(logBuf.String(), "cut what was written after the last commit")
}

func testJob(dir string, mode recordio.FsyncMode) *framework.JobConfig {
	c := job(dir, mode)
	c.Fsync.Interval = 2 * time.Millisecond
	return c
}

// TestSIGKILLChild is the child of TestSIGKILL: it resumes the job, checks
// that Done answers for the last batch committed before, then commits
// batches of items until killed, reporting each batch's last item on
// stdout after Commit returns. A batch's delivery identifier is the number
// of items committed once it is.
func TestSIGKILLChild(t *testing.T) {
	jobDir := os.Getenv("FRONTIER_FEED_CHILD")
	if jobDir == "" {
		t.Skip("run by TestSIGKILL")
	}
	seed, _ := strconv.Atoi(os.Getenv("FRONTIER_FEED_SEED"))
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	mode := []recordio.FsyncMode{recordio.FsyncAlways, recordio.FsyncInterval, recordio.FsyncNever}[seed%3]
	spec := []Spec{{Path: os.Getenv("FRONTIER_FEED_PATH"), Format: Format(os.Getenv("FRONTIER_FEED_FORMAT")), Overwrite: true}}
	s, err := Open(spec, Options{Job: testJob(jobDir, mode), CompactBytes: 2048})
	if err != nil {
		fmt.Println("BAD open:", err)
		os.Exit(1)
	}
	next := int(s.Items())
	if next > 0 && !s.Done(uint64(next)) {
		fmt.Println("BAD: the last batch is not done:", next)
		os.Exit(1)
	}
	pad := strings.Repeat("x", 200)
	for {
		k := 1 + rng.IntN(maxChildBatch)
		for i := next; i < next+k; i++ {
			if err := s.Add(map[string]any{"n": i, "pad": pad[:rng.IntN(len(pad))], "nested": map[string]int{"i": i}}); err != nil {
				fmt.Println("BAD add:", err)
				os.Exit(1)
			}
		}
		if err := s.Commit([]uint64{uint64(next + k)}); err != nil {
			fmt.Println("BAD commit:", err)
			os.Exit(1)
		}
		next += k
		fmt.Printf("C %d\n", next-1) // os.Stdout is unbuffered
	}
}
