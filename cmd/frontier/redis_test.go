package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/redistest"
	"github.com/frontier-go/frontier/registry"
)

// redisCrawl fills a crawl "shop" on srv: 2 hosts x 2 priorities x 3
// requests, one leased by the returned scheduler, host b paused, and a
// Bloom dupefilter holding 4 fingerprints.
func redisCrawl(t *testing.T, srv *redistest.Server) *redisfrontier.Scheduler {
	t.Helper()
	s := framework.NewSettings()
	code := framework.Source{Kind: framework.SourceCode}
	s.Set("REDIS_URL", srv.URL(), code)
	s.Set("SCHEDULER_PERSIST", true, code)
	s.Set("REDIS_PREFETCH", 1, code)
	s.Set("REDIS_WORKER_ID", "worker-1", code)
	s.Set("DUPEFILTER_BLOOM_CAPACITY", 1000, code)
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	c := framework.NewCrawler(s, reg, framework.NewSpider("shop"))
	cfg, err := redisfrontier.ConfigFrom(c)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := redisfrontier.New(context.Background(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sc.Close("finished") })
	var rs []*framework.Request
	for _, h := range []string{"a", "b"} {
		for _, p := range []int{0, 5} {
			for i := range 3 {
				r, err := framework.NewRequest(fmt.Sprintf("http://%s.example/%d/%d", h, p, i))
				if err != nil {
					t.Fatal(err)
				}
				r.Priority = p
				rs = append(rs, r)
			}
		}
	}
	if err := sc.EnqueueBatch(rs, nil); err != nil {
		t.Fatal(err)
	}
	if r, err := sc.Next(); err != nil || r == nil {
		t.Fatalf("no request leased: %v", err)
	}
	if err := sc.PauseSlot("b.example", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	df, err := redisfrontier.NewBloomDupeFilter(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := df.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer df.Close("finished")
	if _, err := df.(*redisfrontier.BloomDupeFilter).RequestsSeen(rs[:4]); err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestRedisInspectAndExport(t *testing.T) {
	srv := redistest.Start(t)
	redisCrawl(t, srv)
	url := "REDIS_URL=" + srv.URL()

	code, out, errOut := runCmd(t, "-s", url, "redis", "inspect", "shop", "--json")
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, errOut)
	}
	var rep redisfrontier.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, out)
	}
	if rep.Pending != 11 || rep.Leased != 1 || rep.Fingerprints != 12 || len(rep.Queues) != 4 {
		t.Errorf("pending %d, leased %d, fingerprints %d, queues %d; want 11, 1, 12, 4", rep.Pending, rep.Leased, rep.Fingerprints, len(rep.Queues))
	}
	if len(rep.Queues) == 4 && (rep.Queues[0].Host != "a.example" || rep.Queues[0].Priority != 5 || rep.Queues[0].Pending != 2) {
		t.Errorf("first queue %+v, want a.example priority 5 with 2 pending (one leased)", rep.Queues[0])
	}
	if len(rep.Leases) != 1 || rep.Leases[0].Owner != "worker-1" || rep.Leases[0].Host != "a.example" || !rep.Leases[0].Expires.After(time.Now()) {
		t.Errorf("leases %+v, want one of worker-1 on a.example expiring later", rep.Leases)
	}
	if len(rep.Paused) != 1 || rep.Paused[0].Host != "b.example" {
		t.Errorf("paused %+v, want b.example", rep.Paused)
	}
	if rep.Bloom == nil || rep.Bloom.Estimate < 3 || rep.Bloom.Estimate > 5 {
		t.Errorf("bloom %+v, want about 4 fingerprints", rep.Bloom)
	}
	if rep.MemoryBytes <= 0 || rep.Keys == 0 {
		t.Errorf("memory %d bytes in %d keys", rep.MemoryBytes, rep.Keys)
	}

	code, out, errOut = runCmd(t, "-s", url, "redis", "inspect", "shop")
	if code != 0 || !strings.Contains(out, "worker-1") || !strings.Contains(out, "b.example until") {
		t.Errorf("inspect: exit %d, output lacks the lease's owner or the paused host:\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCmd(t, "-s", url, "redis", "export", "shop")
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	var lines []redisLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l redisLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 12 {
		t.Fatalf("export wrote %d lines, want 12", len(lines))
	}
	if l := lines[0]; l.State != "leased" || l.Owner != "worker-1" || l.Request.URL != "http://a.example/5/0" {
		t.Errorf("first line %+v, want the lease of http://a.example/5/0 by worker-1", l)
	}
	if l := lines[1]; l.State != "pending" || l.Request.URL != "http://a.example/5/1" || l.Request.Priority != 5 {
		t.Errorf("second line %+v, want pending http://a.example/5/1", l)
	}
	if !strings.Contains(errOut, "11 pending and 1 leased") {
		t.Errorf("export summary %q", errOut)
	}

	code, _, errOut = runCmd(t, "-s", url, "redis", "inspect", "nosuch")
	if code == 0 || !strings.Contains(errOut, "no crawl of spider") {
		t.Errorf("inspect of a missing crawl: exit %d, %q", code, errOut)
	}
}

// TestBenchRedis runs bench scheduler on Redis as a user would, with two
// worker processes sharing the crawl, and checks its figures: every
// request in and out once, Redis's CPU time per request, its memory.
func TestBenchRedis(t *testing.T) {
	bin := buildFrontier(t)
	srv := redistest.Start(t)
	const n = 3000
	cmd := exec.Command(bin, "bench", "scheduler", "--redis", srv.URL(), "-n", strconv.Itoa(n), "--dup-ratio", "0",
		"--hosts", "50", "--priorities", "3", "--workers", "2", "--json")
	cmd.Dir = t.TempDir()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	var res redisBenchResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("bench printed %q: %v", out, err)
	}
	if res.Accepted != n || res.Dequeued != n || res.Workers != 2 {
		t.Errorf("accepted %d, dequeued %d by %d workers; want %d by 2", res.Accepted, res.Dequeued, res.Workers, n)
	}
	if res.EnqueuePerS <= 0 || res.DequeuePerS <= 0 || res.RoundTripPerS <= 0 {
		t.Errorf("rates %v/s, %v/s, %v/s round trip: want all positive", res.EnqueuePerS, res.DequeuePerS, res.RoundTripPerS)
	}
	// Redis's clock for its CPU time ticks in microseconds and a request
	// takes it microseconds: a phase of thousands of requests cannot read 0.
	if res.ServerEnqueueMicros <= 0 || res.ServerDequeueMicros <= 0 {
		t.Errorf("Redis CPU per enqueue %v µs, per dequeue %v µs: want both positive", res.ServerEnqueueMicros, res.ServerDequeueMicros)
	}
	if res.QueueBytesPerReq < res.RecordBytes || res.ExactBytesPerFP < 20 {
		t.Errorf("%.1f bytes per pending request for %.1f-byte records, %.1f per fingerprint: less than the data itself",
			res.QueueBytesPerReq, res.RecordBytes, res.ExactBytesPerFP)
	}
}
