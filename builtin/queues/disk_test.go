package queues

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
	"github.com/frontier-go/frontier/registry"
)

func diskCrawler(t *testing.T, settings map[string]any) *framework.Crawler {
	t.Helper()
	s := framework.NewSettings()
	for k, v := range settings {
		s.Set(k, v, framework.Source{Kind: framework.SourceCommandLine, Name: k})
	}
	return framework.NewCrawler(s, registry.New(), nil)
}

func TestDiskQueueFactorySettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]any
		want     recordio.FsyncPolicy
		flush    time.Duration
		err      string
	}{
		{"defaults", nil, recordio.FsyncPolicy{Mode: recordio.FsyncInterval, Interval: time.Second}, 200 * time.Millisecond, ""},
		{"always", map[string]any{"JOBDIR_FSYNC": "always", "JOBDIR_FLUSH_INTERVAL": "50ms"},
			recordio.FsyncPolicy{Mode: recordio.FsyncAlways, Interval: time.Second}, 50 * time.Millisecond, ""},
		{"never, seconds", map[string]any{"JOBDIR_FSYNC": "never", "JOBDIR_FSYNC_INTERVAL": 2.5},
			recordio.FsyncPolicy{Mode: recordio.FsyncNever, Interval: 2500 * time.Millisecond}, 200 * time.Millisecond, ""},
		{"bad mode", map[string]any{"JOBDIR_FSYNC": "sometimes"}, recordio.FsyncPolicy{}, 0, "JOBDIR_FSYNC"},
		{"bad interval", map[string]any{"JOBDIR_FLUSH_INTERVAL": "soon"}, recordio.FsyncPolicy{}, 0, "JOBDIR_FLUSH_INTERVAL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := diskCrawler(t, tc.settings)
			c.Settings.Set("JOBDIR", t.TempDir(), framework.Source{Kind: framework.SourceCode})
			job, err := c.Job()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, framework.ErrSetting) {
					t.Fatalf("got %v, want an error naming %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, factory := range []framework.QueueFactory{FifoDiskFactory, LifoDiskFactory} {
				q, err := factory(context.Background(), c, framework.QueueConfig{Key: filepath.Join(t.TempDir(), "0"), Job: job})
				if err != nil {
					t.Fatal(err)
				}
				got := q.(*filequeue.Queue).Config()
				if got.Fsync.Mode == recordio.FsyncInterval && got.Fsync.Tick == nil {
					t.Fatalf("interval policy without the job's shared tick: %+v", got.Fsync)
				}
				got.Fsync.Tick = nil
				if got.Fsync != tc.want || got.FlushInterval != tc.flush || got.Spider != c.Spider {
					t.Fatalf("config %+v / %v", got.Fsync, got.FlushInterval)
				}
			}
		})
	}
	if _, err := FifoDiskFactory(context.Background(), diskCrawler(t, nil), framework.QueueConfig{}); !errors.Is(err, filequeue.ErrKey) {
		t.Fatalf("empty key: %v", err)
	}
}
