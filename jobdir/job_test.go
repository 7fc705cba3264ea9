package jobdir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesDirAndManifest(t *testing.T) {
	// Scrapy's test_missing_jobdir: a nested missing path is created.
	dir := filepath.Join(t.TempDir(), "a", "b", "job")
	j, err := Open(dir, Options{PriorityQueue: "frontier.pqueues.DownloaderAware"})
	if err != nil {
		t.Fatal(err)
	}
	if !j.Created() || j.Dir() != dir {
		t.Fatalf("Created=%v Dir=%q", j.Created(), j.Dir())
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("job directory not created: %v", err)
	}
	j.Close()
	m, ok, err := ReadManifest(dir)
	if err != nil || !ok {
		t.Fatalf("ReadManifest: %v %v", ok, err)
	}
	if m.Format != FormatVersion || m.PriorityQueue != "frontier.pqueues.DownloaderAware" || !strings.HasPrefix(m.CreatedBy, "frontier ") || m.Created.IsZero() {
		t.Fatalf("manifest %+v", m)
	}
	j, err = Open(dir, Options{PriorityQueue: "frontier.pqueues.DownloaderAware"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Created() || j.Manifest() != m {
		t.Fatalf("reopen: Created=%v manifest %+v, want %+v", j.Created(), j.Manifest(), m)
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		pq      string
		wantErr error
		wantMsg []string
	}{
		{
			name: "other priority queue",
			setup: func(t *testing.T, dir string) {
				j, err := Open(dir, Options{PriorityQueue: "frontier.pqueues.Scrapy"})
				if err != nil {
					t.Fatal(err)
				}
				j.Close()
			},
			pq:      "frontier.pqueues.DownloaderAware",
			wantErr: ErrPriorityQueueMismatch,
			wantMsg: []string{"frontier.pqueues.Scrapy", "frontier.pqueues.DownloaderAware"},
		},
		{
			name: "future format",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, ManifestFile), `{"format": 99, "priority_queue": "pq", "created_by": "frontier v9.0.0"}`)
			},
			pq:      "pq",
			wantErr: ErrFutureFormat,
			wantMsg: []string{"format 99", "frontier v9.0.0", "newer frontier"},
		},
		{
			name:    "corrupt manifest",
			setup:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, ManifestFile), `{"format": 1, "prio`) },
			pq:      "pq",
			wantErr: ErrCorruptManifest,
			wantMsg: []string{ManifestFile},
		},
		{
			name: "scrapy queue",
			setup: func(t *testing.T, dir string) {
				os.MkdirAll(filepath.Join(dir, QueueDir), 0o755)
				writeFile(t, filepath.Join(dir, QueueDir, "active.json"), `{"example.com": [0]}`)
			},
			pq:      "pq",
			wantErr: ErrScrapyJob,
			wantMsg: []string{"active.json", "requests.seen is imported"},
		},
		{
			name:    "frontier files without manifest",
			setup:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, InFlightFile), "") },
			pq:      "pq",
			wantErr: ErrMissingManifest,
			wantMsg: []string{InFlightFile, ManifestFile},
		},
		{
			name: "scrapy pickled state",
			setup: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, StateFile), "\x80\x04\x95\x05\x00}\x94.")
			},
			pq:      "pq",
			wantErr: ErrCorruptState,
			wantMsg: []string{"pickle", StateFile},
		},
		{
			name:    "corrupt state",
			setup:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, StateFile), `{"a": [1, 2}`) },
			pq:      "pq",
			wantErr: ErrCorruptState,
			wantMsg: []string{"at byte 12", StateFile},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			j, err := Open(dir, Options{PriorityQueue: tt.pq})
			if err == nil {
				j.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			// A refused Open leaves the lock free.
			if _, held, _ := ReadLock(dir); held {
				t.Error("lock held after a refused Open")
			}
		})
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSpiderState ports Scrapy's test_spiderstate: state stored at close
// comes back in a new run; without a file it is empty.
func TestSpiderState(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{PriorityQueue: "pq"})
	if err != nil {
		t.Fatal(err)
	}
	if got := j.State(); got == nil || len(got) != 0 {
		t.Fatalf("fresh state %v, want empty map", got)
	}
	dt := time.Date(2026, 5, 6, 7, 8, 9, 0, time.FixedZone("x", 3600))
	state := map[string]any{
		"one":    1,
		"dt":     dt,
		"pi":     3.25,
		"big":    int64(1) << 60,
		"nested": map[string]any{"list": []any{"a", true, nil, 2.5}},
	}
	if err := j.SaveState(state); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, err = Open(dir, Options{PriorityQueue: "pq"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	want := map[string]any{
		"one":    int64(1),
		"dt":     dt.Format(time.RFC3339Nano), // JSON holds times as RFC 3339 text
		"pi":     3.25,
		"big":    int64(1) << 60,
		"nested": map[string]any{"list": []any{"a", true, nil, 2.5}},
	}
	if got := j.State(); !reflect.DeepEqual(got, want) {
		t.Fatalf("state after reopen\n got %#v\nwant %#v", got, want)
	}
	if err := j.SaveState(map[string]any{"f": func() {}}); !errors.Is(err, ErrUnserializableState) {
		t.Fatalf("SaveState(func) = %v", err)
	}
	if st, _ := LoadState(dir); !reflect.DeepEqual(st, want) {
		t.Fatal("a failed SaveState changed the file")
	}
}

func TestSaveStateLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	// A crash inside WriteFileAtomic leaves a temporary file; Open removes it.
	writeFile(t, filepath.Join(dir, StateFile+tmpSuffix+"123"), "{partial")
	j, err := Open(dir, Options{PriorityQueue: "pq"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := j.SaveState(map[string]any{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), tmpSuffix) {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestDecodeStateTruncatedEverywhere(t *testing.T) {
	full, err := EncodeState(map[string]any{"one": 1, "s": "text", "l": []any{1.5, map[string]any{"k": false}}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := DecodeState(full)
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(full); cut++ {
		got, err := DecodeState(full[:cut])
		if err == nil {
			// Only the trailing newline may go.
			if cut != len(full)-1 || !reflect.DeepEqual(got, want) {
				t.Fatalf("cut at %d of %d decoded as %v", cut, len(full), got)
			}
			continue
		}
		if !errors.Is(err, ErrCorruptState) {
			t.Fatalf("cut at %d: %v does not wrap ErrCorruptState", cut, err)
		}
	}
}

func TestDecodeState(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]any
		wantErr string
	}{
		{`{}`, map[string]any{}, ""},
		{`{"a": 1e3, "b": -7, "c": 1.5}`, map[string]any{"a": 1000.0, "b": int64(-7), "c": 1.5}, ""},
		{`[]`, nil, "want a JSON object, got an array"},
		{`null`, nil, "got null"},
		{`{} {}`, nil, "data after the JSON object"},
		{``, nil, "truncated"},
		{`{"a":}`, nil, "at byte"},
	}
	for _, tt := range tests {
		got, err := DecodeState([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrCorruptState) {
				t.Errorf("DecodeState(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeState(%q) = %#v, %v", tt.in, got, err)
		}
	}
}

func TestManifestTruncatedEverywhere(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{PriorityQueue: "pq"})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	full, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	for cut := 0; cut < len(full)-1; cut++ {
		if m, err := ParseManifest(full[:cut]); err == nil {
			t.Fatalf("cut at %d parsed as %+v", cut, m)
		} else if !errors.Is(err, ErrCorruptManifest) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
}
