package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/builtin/schedulers"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
	"github.com/frontier-go/frontier/registry"
)

// stoppedJob leaves a job directory with 10 pending requests and 2 in flight.
func stoppedJob(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "job")
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Lookup("scrapy.squeues.PickleLifoDiskQueue"); err != nil {
		reg.MustRegister(registry.Entry{Name: "scrapy.squeues.PickleLifoDiskQueue", Kind: registry.KindQueue, Factory: framework.QueueFactory(queues.LifoDiskFactory)})
		reg.MustRegister(registry.Entry{Name: "scrapy.squeues.PickleFifoDiskQueue", Kind: registry.KindQueue, Factory: framework.QueueFactory(queues.FifoDiskFactory)})
	}
	s := framework.NewSettings()
	s.Set("JOBDIR", dir, framework.Source{Kind: framework.SourceCode})
	c := framework.NewCrawler(s, reg, nil)
	sch, err := schedulers.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		sch.Enqueue(framework.MustRequest(fmt.Sprintf("https://h%d.example/%d", i%2, i)))
	}
	sch.Next()
	sch.Next()
	c.Spider.State["k"] = true
	if err := sch.Close("shutdown"); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestJobdirCommand(t *testing.T) {
	dir := stoppedJob(t)
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"inspect", dir}, 0, []string{"pending        10 requests", "in flight      2", "fingerprints   12", "spider state   1 keys: k", "h0.example"}},
		{[]string{"inspect", "--json", dir}, 0, []string{`"pending": 10`, `"in_flight": 2`}},
		{[]string{"export", dir}, 0, []string{`"state":"in_flight"`, `"state":"pending"`, `"url":"https://h1.example/11"`}},
		{[]string{"verify", dir}, 0, []string{"OK, a resume takes everything"}},
		{[]string{"verify", filepath.Join(dir, "missing")}, 1, nil},
		{[]string{"inspect"}, 2, nil},
		{[]string{"frobnicate", dir}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := jobdirCommand(tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
	// export writes one line per request.
	var stdout, stderr bytes.Buffer
	jobdirCommand([]string{"export", dir}, &stdout, &stderr)
	if n := strings.Count(stdout.String(), "\n"); n != 12 {
		t.Fatalf("export wrote %d lines", n)
	}
	// Through the command table too.
	stdout.Reset()
	if code := run([]string{"jobdir", "verify", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("frontier jobdir verify: exit %d: %s", code, stderr.String())
	}
}

func TestJobdirImportSeen(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "requests.seen")
	os.WriteFile(src, []byte("7873d70c33756a15fed7649ba909e064bf9c5844\nc03485502caa9106f874b4bd2ad9e98a3a6dc36c\n47adb8"), 0o644)
	var stdout, stderr bytes.Buffer
	if code := jobdirCommand([]string{"import-seen", dir, src}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "imported 2 fingerprints") || !strings.Contains(stdout.String(), "torn last line: true") {
		t.Fatal(stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, jobdir.FingerprintsFile)); err != nil {
		t.Fatal(err)
	}
}
