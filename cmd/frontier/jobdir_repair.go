package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/builtin/dupefilters"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/cmd/frontier/internal/jobtools"
	"github.com/frontier-go/frontier/crawl"
	"github.com/frontier-go/frontier/engine/feed"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

func newJobdirRepairCommand(e *env) *cobra.Command {
	var asJSON bool
	var out string
	c := &cobra.Command{
		Use:   "repair DIR",
		Short: "Write the salvaged job: what a resume would keep, the damaged files kept aside",
		Long: `Repair verifies a job directory, copies every file verify names into
DIR/damaged-<UTC time>/ (damaged files are never deleted), then opens the job
as a resume does and closes it cleanly: indexes are rebuilt from the data,
corrupt stretches skipped and the records after them kept, torn tails cut,
files that are not what their name says kept aside, the feed commit log and
its feed files recovered, a damaged manifest's priority queue rewritten from
the queue's data. It then verifies the job again and prints what was lost
for good (the LOSS lines of the first verify).

The job is opened with the priority queue, queue layout, disk queue and
dupefilter its files show; -s NAME=VALUE overrides them (and the rest of the
settings, as for a crawl). A job locked by a live process is refused.

With --out, DIR is left as it is and the repaired job is written to OUT (a
new directory).

Exit status:
  0  the job was OK: nothing to repair
  1  repaired, but something was lost for good (the LOSS lines), or the
     job could not be repaired
  2  usage error
  3  repaired, nothing lost`,
		Example: `  frontier jobdir repair /tmp/job
  frontier jobdir repair /tmp/job --out /tmp/job-repaired --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := repairJob(cmd.Context(), e, args[0], out)
			if rep == nil {
				return err
			}
			if asJSON {
				if perr := printJSON(e.stdout, rep); perr != nil {
					return perr
				}
			} else {
				printRepair(e.stdout, rep)
			}
			if err != nil {
				return err
			}
			switch {
			case rep.Before.Verdict == jobtools.VerdictOK:
				return nil
			case len(rep.Lost) > 0 || rep.After.Verdict != jobtools.VerdictOK:
				return errReported
			}
			return errLossless
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	c.Flags().StringVar(&out, "out", "", "write the repaired job to `DIR` (a new directory), leaving the original as it is")
	return c
}

// repairReport is what jobdir repair did.
type repairReport struct {
	Dir string `json:"dir"`
	// From is the job repaired into Dir, when --out copied it.
	From string `json:"from,omitempty"`
	// Before is verify's report before the repair, After after it.
	Before *jobtools.Verification `json:"before"`
	// KeptAside are the copies of the damaged files, under damaged-<UTC>/.
	KeptAside []string `json:"kept_aside,omitempty"`
	// Settings are the settings the job was opened with.
	Settings []string `json:"settings,omitempty"`
	// ManifestRewritten names the priority queue a damaged manifest was
	// given, when it was.
	ManifestRewritten string `json:"manifest_rewritten,omitempty"`
	// FingerprintsRebuilt counts the fingerprints of requests the job holds
	// that the damaged fingerprint file had lost, recomputed;
	// Fingerprints is how many the file holds after.
	FingerprintsRebuilt int `json:"fingerprints_rebuilt,omitempty"`
	Fingerprints        int `json:"fingerprints,omitempty"`
	// Feeds are the feed files recovered from the commit log.
	Feeds []string `json:"feeds,omitempty"`
	// Pending and InFlight are what the repaired job holds.
	Pending  int `json:"pending"`
	InFlight int `json:"in_flight"`
	// Lost are the findings of Before that lost something for good.
	Lost  []jobtools.Finding     `json:"lost"`
	After *jobtools.Verification `json:"after,omitempty"`
	// Error says why the repair stopped, when it did.
	Error string `json:"error,omitempty"`
}

// repairJob repairs the job in dir (or a copy of it in out) and reports
// what it did; the error says why it stopped (rep then says how far it got).
func repairJob(ctx context.Context, e *env, dir, out string) (*repairReport, error) {
	if out != "" {
		if err := copyJob(dir, out); err != nil {
			return nil, err
		}
		dir, out = out, dir
	}
	insp, err := jobtools.Inspect(dir)
	if err != nil {
		return nil, err
	}
	if insp.Running {
		return nil, fmt.Errorf("jobdir repair: %s is locked by PID %d on %s, which is running: stop it first (a repair rewrites the job's files)", dir, insp.Lock.PID, insp.Lock.Host)
	}
	rep := &repairReport{Dir: dir, From: out}
	if rep.Before, err = jobtools.Verify(dir, nil); err != nil {
		return nil, err
	}
	for _, f := range rep.Before.Findings {
		if f.Lost() {
			rep.Lost = append(rep.Lost, f)
		}
	}
	if rep.Before.Verdict == jobtools.VerdictOK {
		rep.After = rep.Before
		rep.Pending, rep.InFlight = insp.Pending, insp.InFlight
		return rep, nil
	}
	fail := func(err error) (*repairReport, error) {
		rep.Error = err.Error()
		return rep, err
	}
	if rep.KeptAside, err = keepFindingsAside(dir, rep.Before); err != nil {
		return fail(err)
	}
	if rep.ManifestRewritten, err = repairManifest(dir, rep.Before); err != nil {
		return fail(err)
	}
	rep.Settings = resumeSettings(dir, insp)
	set := append(append([]string{}, rep.Settings...), e.overrides...)
	if e.logLevel != "" {
		set = append(set, "LOG_LEVEL="+e.logLevel)
	}
	f, err := crawl.Open(ctx, crawl.Options{SettingsFile: e.settingsFile, Set: set})
	if err != nil {
		return fail(fmt.Errorf("jobdir repair: the job does not open as a resume opens it: %w", err))
	}
	fpr, fprErr := f.Crawler().Fingerprinter(ctx)
	if err := f.Close(); err != nil {
		return fail(fmt.Errorf("jobdir repair: close the job: %w", err))
	}
	if fingerprintsDamaged(dir, rep.Before) {
		if fprErr != nil {
			return fail(fmt.Errorf("jobdir repair: rebuild the fingerprints: %w", fprErr))
		}
		if rep.FingerprintsRebuilt, rep.Fingerprints, err = rebuildFingerprints(dir, fpr); err != nil {
			return fail(err)
		}
	}
	if rep.Feeds, err = repairFeeds(dir); err != nil {
		return fail(err)
	}
	if rep.After, err = jobtools.Verify(dir, nil); err != nil {
		return fail(err)
	}
	if insp, err = jobtools.Inspect(dir); err == nil {
		rep.Pending, rep.InFlight = insp.Pending, insp.InFlight
	}
	return rep, nil
}

// fingerprintsDamaged reports whether verify found the RFP dupefilter's
// fingerprint file of dir damaged or missing.
func fingerprintsDamaged(dir string, v *jobtools.Verification) bool {
	if _, err := os.Stat(filepath.Join(dir, dupefilters.BloomFile)); err == nil {
		return false
	}
	for _, f := range v.Findings {
		if f.File == filepath.Join(dir, jobdir.FingerprintsFile) {
			return true
		}
	}
	return false
}

// rebuildFingerprints rewrites the fingerprint file of dir with what it
// still holds and the fingerprints of every request pending or in flight,
// recomputed with fpr (the job's REQUEST_FINGERPRINTER_CLASS): those cannot
// have been lost, whatever the damage. It returns how many it added and
// the file's count after.
func rebuildFingerprints(dir string, fpr framework.Fingerprinter) (added, total int, err error) {
	var fps []framework.Fingerprint
	_, err = jobtools.EachRequest(dir, func(_ jobtools.Line, r *framework.Request) error {
		if r.DontFilter {
			return nil
		}
		fp, err := fpr.Fingerprint(r)
		if err != nil {
			return fmt.Errorf("fingerprint %s: %w", r.URL, err)
		}
		fps = append(fps, fp)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("jobdir repair: rebuild the fingerprints: %w", err)
	}
	added, total, err = dupefilters.RebuildSeenFile(filepath.Join(dir, jobdir.FingerprintsFile), fps)
	if err != nil {
		return 0, 0, fmt.Errorf("jobdir repair: %w", err)
	}
	return added, total, nil
}

// copyJob copies the job directory src to dst, which must not exist yet.
func copyJob(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return usageErrorf("--out %s exists: name a new directory", dst)
	}
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("jobdir repair: copy %s: %w", path, err)
		}
		return os.WriteFile(to, b, 0o644)
	})
}

// keepFindingsAside copies every file of dir that verify names (every file
// of a directory it names) into dir/damaged-<UTC>/, before the resume
// changes them.
func keepFindingsAside(dir string, v *jobtools.Verification) ([]string, error) {
	seen := map[string]bool{}
	var kept []string
	keep := func(path string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		dst, err := jobdir.MoveAside(dir, path, true)
		if err != nil {
			return err
		}
		kept = append(kept, dst)
		return nil
	}
	for _, f := range v.Findings {
		rel, err := filepath.Rel(dir, f.File)
		if err != nil || !filepath.IsLocal(rel) || strings.HasPrefix(rel, jobdir.DamagedDirPrefix) {
			continue // a feed file (the resume keeps what it cuts), or a copy
		}
		err = filepath.WalkDir(f.File, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil // missing: nothing to keep
			}
			if r, _ := filepath.Rel(dir, path); strings.HasPrefix(r, jobdir.DamagedDirPrefix) {
				return nil
			}
			return keep(path)
		})
		if err != nil {
			return kept, err
		}
	}
	sort.Strings(kept)
	return kept, nil
}

// repairManifest rewrites a manifest whose priority queue verify found
// damaged with the one the queue's data shows; it returns that name.
func repairManifest(dir string, v *jobtools.Verification) (string, error) {
	for _, f := range v.Findings {
		if f.File != filepath.Join(dir, jobdir.ManifestFile) || f.Kind != jobtools.KindCorrupt {
			continue
		}
		m, _, err := jobdir.ReadManifest(dir)
		pq := jobtools.InferPriorityQueue(dir)
		if err != nil || pq == "" {
			return "", nil
		}
		m.PriorityQueue = pq
		if err := jobdir.WriteManifest(dir, m); err != nil {
			return "", fmt.Errorf("jobdir repair: rewrite the manifest: %w", err)
		}
		return pq, nil
	}
	return "", nil
}

// resumeSettings are the settings that open the job in dir as it was run:
// its priority queue, queue layout, disk queue and dupefilter, as its
// files show them.
func resumeSettings(dir string, insp *jobtools.Report) []string {
	set := []string{"JOBDIR=" + dir}
	pq := ""
	if m, ok, err := jobdir.ReadManifest(dir); err == nil && ok {
		pq = m.PriorityQueue
	}
	if !queues.IsBuiltinPriorityQueue(pq) {
		if inferred := jobtools.InferPriorityQueue(dir); inferred != "" {
			pq = inferred
		}
	}
	if pq != "" {
		set = append(set, "SCHEDULER_PRIORITY_QUEUE="+pq)
	}
	if insp.QueueLayout != "" {
		set = append(set, "JOBDIR_QUEUE_LAYOUT="+insp.QueueLayout)
	}
	lifo, fifo := 0, 0
	for _, b := range insp.Buckets {
		switch b.Kind {
		case "lifo":
			lifo++
		case "fifo":
			fifo++
		}
	}
	if insp.Store != nil {
		for _, u := range insp.Store.Unclaimed {
			if u.Kind == "fifo" {
				fifo++
			} else {
				lifo++
			}
		}
	}
	switch {
	case fifo > lifo:
		set = append(set, "SCHEDULER_DISK_QUEUE=scrapy.squeues.PickleFifoDiskQueue")
	case lifo > 0:
		set = append(set, "SCHEDULER_DISK_QUEUE=scrapy.squeues.PickleLifoDiskQueue")
	}
	if capacity, rate, err := dupefilters.ReadBloomCheckpoint(filepath.Join(dir, dupefilters.BloomFile)); err == nil {
		set = append(set, "DUPEFILTER_CLASS=frontier.dupefilters.Bloom",
			"DUPEFILTER_BLOOM_CAPACITY="+strconv.FormatUint(capacity, 10),
			"DUPEFILTER_BLOOM_ERROR_RATE="+strconv.FormatFloat(rate, 'g', -1, 64))
	}
	return set
}

// repairFeeds recovers the feed commit log of dir, when it has one: its
// feed files are opened as a resumed crawl opens them (cut back to the last
// intact commit, what is cut kept aside) and closed, which writes the log
// afresh.
func repairFeeds(dir string) ([]string, error) {
	path := filepath.Join(dir, feed.LogName)
	rep, err := feed.ReadLog(path)
	if errors.Is(err, fs.ErrNotExist) {
		// A lost log cannot be rebuilt (nothing else names the feed files):
		// the repair reports it lost, and the manifest stops promising one.
		if m, ok, merr := jobdir.ReadManifest(dir); merr == nil && ok && m.Feeds {
			m.Feeds = false
			if err := jobdir.WriteManifest(dir, m); err != nil {
				return nil, fmt.Errorf("jobdir repair: %w", err)
			}
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("jobdir repair: %w", err)
	}
	var specs []feed.Spec
	var names []string
	for _, fd := range rep.Feeds {
		specs = append(specs, feed.Spec{Path: fd.Path, Format: fd.Format})
		names = append(names, fd.Path)
	}
	s, err := feed.Open(specs, feed.Options{Job: &framework.JobConfig{Dir: dir}, Stdout: io.Discard})
	if err != nil {
		return nil, fmt.Errorf("jobdir repair: the feeds do not open as a resume opens them: %w", err)
	}
	if err := s.Close(); err != nil {
		return nil, fmt.Errorf("jobdir repair: close the feeds: %w", err)
	}
	return names, nil
}

func printRepair(w io.Writer, rep *repairReport) {
	if rep.From != "" {
		fmt.Fprintf(w, "copied %s to %s\n", rep.From, rep.Dir)
	}
	if rep.Before.Verdict == jobtools.VerdictOK {
		fmt.Fprintf(w, "%d files, %d records read: OK, nothing to repair\n", rep.Before.Files, rep.Before.Records)
		return
	}
	fmt.Fprintln(w, "before:")
	printVerify(w, rep.Before)
	for _, k := range rep.KeptAside {
		fmt.Fprintf(w, "kept    %s\n", k)
	}
	if rep.ManifestRewritten != "" {
		fmt.Fprintf(w, "rewrote %s: priority queue %s, as the queue's data shows\n", filepath.Join(rep.Dir, jobdir.ManifestFile), rep.ManifestRewritten)
	}
	if rep.Fingerprints > 0 || rep.FingerprintsRebuilt > 0 {
		fmt.Fprintf(w, "rebuilt %s: %d fingerprints, %d of them recomputed from the requests pending or in flight\n",
			filepath.Join(rep.Dir, jobdir.FingerprintsFile), rep.Fingerprints, rep.FingerprintsRebuilt)
	}
	for _, f := range rep.Feeds {
		fmt.Fprintf(w, "feed    %s recovered from the commit log\n", f)
	}
	if rep.Error != "" {
		fmt.Fprintf(w, "repair stopped: %s\n", rep.Error)
		return
	}
	fmt.Fprintln(w, "after:")
	printVerify(w, rep.After)
	fmt.Fprintf(w, "repaired: %d requests pending, %d in flight", rep.Pending, rep.InFlight)
	if len(rep.Lost) > 0 {
		fmt.Fprintf(w, "; LOST for good: what the %d LOSS or REFUSE lines before say\n", len(rep.Lost))
	} else {
		fmt.Fprintln(w, "; nothing lost")
	}
}
