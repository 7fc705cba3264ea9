package schedulers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory, or skips the
// test when mounting is not permitted.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s): the full-disk case needs one", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestSchedulerDiskFull runs a job on a file system that fills up: the
// flush that cannot write fails with an error naming the file and the cause,
// nothing acknowledged before is damaged, and once space is freed the job
// goes on and resumes with every acknowledged request.
func TestSchedulerDiskFull(t *testing.T) {
	for _, pq := range priorityQueues {
		t.Run(pq, func(t *testing.T) {
			fs := mountTmpfs(t, 1<<20)
			filler := filepath.Join(fs, "filler")
			dir := filepath.Join(fs, "job")
			opts := map[string]any{"SCHEDULER_PRIORITY_QUEUE": pq, "DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter"}
			s := openJob(t, dir, opts)
			closed := false
			defer func() {
				if !closed {
					s.Close("")
				}
			}()
			// Leave a little room only.
			f, err := os.Create(filler)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			for {
				if _, err := f.Write(buf); err != nil {
					break
				}
			}
			f.Close()
			os.Truncate(filler, mustSize(t, filler)-48<<10)

			var acked []string
			var flushErr error
			for i := 0; flushErr == nil && i < 10_000; i += 20 {
				var batch []string
				for k := 0; k < 20; k++ {
					u := fmt.Sprintf("http://host%d.example/%d/%s", (i+k)%7, i+k, strings.Repeat("x", 100))
					ok, err := s.Enqueue(framework.MustRequest(u))
					if err != nil {
						flushErr = err // a disk queue may write while buffering
						break
					}
					if ok {
						batch = append(batch, u)
					}
				}
				if flushErr == nil {
					if flushErr = s.Flush(); flushErr == nil {
						acked = append(acked, batch...)
					}
				}
			}
			if !errors.Is(flushErr, syscall.ENOSPC) {
				t.Fatalf("the disk never filled up, or another error: %v", flushErr)
			}
			if !strings.Contains(flushErr.Error(), dir) {
				t.Errorf("error %q does not name the file", flushErr)
			}
			t.Logf("%d requests acknowledged, then: %v", len(acked), flushErr)

			// Space comes back: the job goes on.
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(); err != nil {
				t.Fatalf("Flush after space was freed: %v", err)
			}
			extra := framework.MustRequest("http://after.example/")
			if ok, err := s.Enqueue(extra); !ok || err != nil {
				t.Fatal(ok, err)
			}
			acked = append(acked, extra.URL)
			closed = true
			if err := s.Close("shutdown"); err != nil {
				t.Fatal(err)
			}

			s = openJob(t, dir, opts)
			defer closeJob(t, s)
			got := map[string]int{}
			for _, r := range drain(t, s) {
				got[r.URL]++
			}
			for _, u := range acked {
				if got[u] != 1 {
					t.Fatalf("%s delivered %d times after the resume", u, got[u])
				}
			}
			if n := s.c.Stats.Get("scheduler/disk/dropped_bytes"); n != 0 {
				t.Fatalf("%d bytes dropped as corrupt", n)
			}
		})
	}
}

func mustSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
