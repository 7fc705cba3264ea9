package disktest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// RSSMiB returns the process's resident set (Linux; 0 elsewhere).
func RSSMiB() int { return procStatusMiB("VmRSS:") }

// PeakRSSMiB returns the process's peak resident set (Linux; 0 elsewhere).
func PeakRSSMiB() int { return procStatusMiB("VmHWM:") }

func procStatusMiB(field string) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb >> 10
		}
	}
	return 0
}

// CPUTime returns the process's user and system CPU time.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Drain pops from each queue in turn until total requests have come out.
func Drain[Q framework.Queue](b *testing.B, qs []Q, total int) {
	for popped := 0; popped < total; {
		for _, q := range qs {
			r, err := q.Pop()
			if err != nil {
				b.Fatal(err)
			}
			if r != nil {
				popped++
			}
		}
	}
}

// DrainAndClose drains the queues (Drain), then closes them.
func DrainAndClose[Q framework.Queue](b *testing.B, qs []Q, total int) {
	Drain(b, qs, total)
	for _, q := range qs {
		if err := q.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// PushRoundRobin pushes total requests of 100 bytes (Request) to the
// queues in turn, request i to queue i%len(qs).
func PushRoundRobin[Q framework.Queue](b *testing.B, qs []Q, total int) {
	r := &framework.Request{Method: "GET", Callback: "parse"}
	var buf []byte
	for i := range total {
		buf = Request(r, buf, i%len(qs), i)
		if err := qs[i%len(qs)].Push(r); err != nil {
			b.Fatal(err)
		}
	}
}

// Key returns the path, under dir, of a benchmark's queue i: slot i%1000,
// priority i/1000, so that 10,000 queues are 1000 slots x 10 priorities.
func Key(dir string, i int) string {
	return filepath.Join(dir, "host"+strconv.Itoa(i%1000), strconv.Itoa(i/1000))
}

// Requests returns how many requests a benchmark runs: FRONTIER_BENCH_REQUESTS
// when set, def otherwise.
func Requests(def int) int {
	if n, err := strconv.Atoi(os.Getenv("FRONTIER_BENCH_REQUESTS")); err == nil && n > 0 {
		return n
	}
	return def
}

// Request sets r's URL (on host host, ending in i) so that r's record is 100
// bytes long with the callback "parse", building it in buf, which it returns.
func Request(r *framework.Request, buf []byte, host, i int) []byte {
	buf = append(buf[:0], "https://host"...)
	buf = strconv.AppendInt(buf, int64(host), 10)
	buf = append(buf, ".example.com/some/path/"...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, "?q="...)
	for len(buf) < benchURLBytes {
		buf = append(buf, 'x')
	}
	r.URL = string(buf)
	return buf
}

// benchURLBytes makes each record 100 bytes: the version byte, the URL
// field's tag and length, and the callback field.
const benchURLBytes = 100 - 1 - 2 - 2 - len("parse")

// RunRoundTrips runs round trip for FIFO and LIFO over 1 and 10,000 queues,
// of FRONTIER_BENCH_REQUESTS (default 1,000,000) requests.
func RunRoundTrips(b *testing.B, queues string, roundTrip func(b *testing.B, lifo bool, nq, total int)) {
	total := Requests(1_000_000)
	for _, k := range Kinds() {
		for _, nq := range []int{1, 10_000} {
			b.Run(fmt.Sprintf("%s/%s=%d", k.Name, queues, nq), func(b *testing.B) {
				for range b.N {
					roundTrip(b, k.LIFO, nq, total)
				}
			})
		}
	}
}

// Dir returns the directory a benchmark's queues live in: under
// FRONTIER_BENCH_DIR when set (a tmpfs separates the code's cost from the
// disk's), removed when the benchmark ends.
func Dir(b *testing.B) string {
	base := os.Getenv("FRONTIER_BENCH_DIR")
	if base == "" {
		return b.TempDir()
	}
	d, err := os.MkdirTemp(base, "diskbench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// DiskUsage returns the bytes of the regular files under dir.
func DiskUsage(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
