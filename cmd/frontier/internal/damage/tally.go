package damage

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// Row is the figures of the cases of one damage kind on one file.
type Row struct {
	Damage string `json:"damage"`
	File   string `json:"file"`
	Cases  int    `json:"cases"`
	// Intact sums the requests each case's damage left whole; Resumed
	// those of them the resume handed out; Lost those it did not.
	Intact  int `json:"intact"`
	Resumed int `json:"resumed"`
	Lost    int `json:"lost"`
	// VerifyAgreed and VerifyDisagreed count the cases where verify's
	// verdict (and counts) matched what the resume did, or not.
	VerifyAgreed    int `json:"verify_agreed"`
	VerifyDisagreed int `json:"verify_disagreed"`
	Panics          int `json:"panics"`
	Hangs           int `json:"hangs"`
	// Failed counts the cases with any failed check.
	Failed int `json:"failed"`
}

// Tally sums results by damage kind and file.
type Tally struct {
	rows map[[2]string]*Row
}

// FileLabel is the name a report gives a file: its path in the job, but
// one name for all the queue store's segments and one for all queue files.
func FileLabel(rel, kind string) string {
	switch kind {
	case KindSegment:
		return "requests.queue/queue.*.log"
	case KindQueueFile:
		return "requests.queue/<queue files>"
	}
	return filepath.ToSlash(rel)
}

// Add counts r.
func (t *Tally) Add(r *Result) {
	if t.rows == nil {
		t.rows = map[[2]string]*Row{}
	}
	k := [2]string{r.Case.Damage, FileLabel(r.Case.File, r.Case.Kind)}
	row := t.rows[k]
	if row == nil {
		row = &Row{Damage: k[0], File: k[1]}
		t.rows[k] = row
	}
	row.Cases++
	row.Intact += r.Intact
	row.Lost += len(r.LostIntact)
	row.Resumed += r.Intact - len(r.LostIntact)
	if r.Panic != "" {
		row.Panics++
	}
	if r.Hang != "" {
		row.Hangs++
	}
	if r.Panic == "" && r.Hang == "" {
		if r.VerifyAgreed {
			row.VerifyAgreed++
		} else {
			row.VerifyDisagreed++
		}
	}
	if r.Failed() {
		row.Failed++
	}
}

// Rows returns the rows sorted by damage kind (in the order of Kinds),
// then file.
func (t *Tally) Rows() []Row {
	order := map[string]int{}
	for i, k := range Kinds {
		order[k] = i
	}
	var out []Row
	for _, r := range t.rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Damage != out[j].Damage {
			return order[out[i].Damage] < order[out[j].Damage]
		}
		return out[i].File < out[j].File
	})
	return out
}

// Print writes the rows as a table with a total.
func (t *Tally) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "damage\tfile\tcases\tintact\tresumed\tlost\tverify ok\tverify wrong\tpanics\thangs\tfailed\t")
	var total Row
	for _, r := range t.Rows() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Damage, r.File, r.Cases, r.Intact, r.Resumed, r.Lost,
			r.VerifyAgreed, r.VerifyDisagreed, r.Panics, r.Hangs, r.Failed)
		total.Cases += r.Cases
		total.Intact += r.Intact
		total.Resumed += r.Resumed
		total.Lost += r.Lost
		total.VerifyAgreed += r.VerifyAgreed
		total.VerifyDisagreed += r.VerifyDisagreed
		total.Panics += r.Panics
		total.Hangs += r.Hangs
		total.Failed += r.Failed
	}
	fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", "total", strings.Repeat("-", 3), total.Cases, total.Intact, total.Resumed, total.Lost,
		total.VerifyAgreed, total.VerifyDisagreed, total.Panics, total.Hangs, total.Failed)
	tw.Flush()
}
