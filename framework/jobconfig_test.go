package framework

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontier-go/frontier/internal/recordio"
	"github.com/frontier-go/frontier/registry"
)

func TestJobConfigFromSettings(t *testing.T) {
	cmd := func(name string) Source { return Source{Kind: SourceCommandLine, Name: name} }
	for _, tc := range []struct {
		name string
		set  map[string]any
		want *JobConfig
		errs []string // each error names the setting, the value and its source
	}{
		{"no JOBDIR", nil, nil, nil},
		{"defaults", map[string]any{"JOBDIR": "crawls/1"}, &JobConfig{
			Dir: "crawls/1", Fsync: FsyncPolicy{Mode: recordio.FsyncInterval, Interval: time.Second},
			FlushInterval: 200 * time.Millisecond, SegmentBytes: 64 << 20, QueueLayout: LayoutStore,
		}, nil},
		{"every setting", map[string]any{
			"JOBDIR": "j", "JOBDIR_FSYNC": "ALWAYS", "JOBDIR_FSYNC_INTERVAL": "3s", "JOBDIR_FLUSH_INTERVAL": 0.05,
			"JOBDIR_SEGMENT_BYTES": 4096, "JOBDIR_QUEUE_LAYOUT": "files",
		}, &JobConfig{
			Dir: "j", Fsync: FsyncPolicy{Mode: recordio.FsyncAlways, Interval: 3 * time.Second},
			FlushInterval: 50 * time.Millisecond, SegmentBytes: 4096, QueueLayout: LayoutFiles,
		}, nil},
		{"zeros mean the defaults", map[string]any{
			"JOBDIR": "j", "JOBDIR_FSYNC_INTERVAL": 0, "JOBDIR_FLUSH_INTERVAL": 0, "JOBDIR_SEGMENT_BYTES": 0,
		}, &JobConfig{
			Dir: "j", Fsync: FsyncPolicy{Interval: time.Second}, FlushInterval: 200 * time.Millisecond,
			SegmentBytes: 64 << 20, QueueLayout: LayoutStore,
		}, nil},
		{"every bad value at once", map[string]any{
			"JOBDIR": "j", "JOBDIR_FSYNC": "sometimes", "JOBDIR_FLUSH_INTERVAL": "-1s",
			"JOBDIR_SEGMENT_BYTES": -5, "JOBDIR_QUEUE_LAYOUT": "folders",
		}, nil, []string{
			`JOBDIR_FSYNC="sometimes" (from -s JOBDIR_FSYNC on the command line): want interval, always or never`,
			`JOBDIR_FLUSH_INTERVAL=-1s (from -s JOBDIR_FLUSH_INTERVAL on the command line)`,
			`JOBDIR_SEGMENT_BYTES=-5 (from -s JOBDIR_SEGMENT_BYTES on the command line)`,
			`JOBDIR_QUEUE_LAYOUT="folders" (from -s JOBDIR_QUEUE_LAYOUT on the command line): want "store" or "files"`,
		}},
		{"not a duration", map[string]any{"JOBDIR": "j", "JOBDIR_FSYNC_INTERVAL": "soon"}, nil, []string{"JOBDIR_FSYNC_INTERVAL", "soon"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSettings()
			for k, v := range tc.set {
				s.Set(k, v, cmd(k))
			}
			got, err := JobConfigFromSettings(s)
			if len(tc.errs) > 0 {
				if !errors.Is(err, ErrSetting) {
					t.Fatalf("err = %v, want ErrSetting", err)
				}
				for _, w := range tc.errs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%v\ndoes not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != nil && got.Fsync.Mode == recordio.FsyncInterval {
				// The job's files share one fsync clock under interval.
				if got.Fsync.Tick == nil {
					t.Fatalf("interval policy without a shared tick: %+v", got)
				}
				got.Fsync.Tick = nil
			}
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestJobConfigValidate(t *testing.T) {
	c := JobConfig{Dir: "j"}
	if err := c.Validate(); err != nil || c.FlushInterval != DefaultFlushInterval || c.QueueLayout != LayoutStore {
		t.Fatalf("%v %+v", err, c)
	}
	bad := JobConfig{FlushInterval: -time.Second, Fsync: FsyncPolicy{Mode: 7}}
	err := bad.Validate()
	for _, w := range []string{"JOBDIR=", "JOBDIR_FSYNC=7", "JOBDIR_FLUSH_INTERVAL=-1s"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%v does not name %s", err, w)
		}
	}
}

// Crawler.Job reads the settings once and creates the directory.
func TestCrawlerJob(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "job")
	s := NewSettings()
	s.Set("JOBDIR", dir, Source{Kind: SourceCode})
	c := NewCrawler(s, registry.New(), nil)
	job, err := c.Job()
	if err != nil || job == nil || job.Dir != dir {
		t.Fatal(job, err)
	}
	if fi, err := filepath.Glob(dir); err != nil || len(fi) != 1 {
		t.Fatalf("%s not created: %v", dir, err)
	}
	s.Set("JOBDIR", "elsewhere", Source{Kind: SourceCode})
	if again, _ := c.Job(); again != job {
		t.Fatal("Job read the settings again")
	}
	none, err := NewCrawler(NewSettings(), registry.New(), nil).Job()
	if none != nil || err != nil {
		t.Fatal(none, err)
	}
}
