package jobtools

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/frontier-go/frontier/builtin/queues/filequeue"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/jobdir"
)

// Line is one line of Export's output: a request and where it is.
type Line struct {
	// State is "pending" (in the disk queue) or "in_flight" (handed out and
	// not finished at the last stop: a resume hands it out first).
	State    string      `json:"state"`
	Slot     string      `json:"slot,omitempty"`
	Start    bool        `json:"start,omitempty"`
	Delivery uint64      `json:"delivery,omitempty"`
	Request  JSONRequest `json:"request"`
}

// JSONRequest is a request as Export writes it. The body is text when it is
// valid UTF-8 (Body), base64 otherwise (BodyBase64); []byte values in meta
// and cb_kwargs are base64 strings, as encoding/json writes them.
type JSONRequest struct {
	URL        string              `json:"url"`
	Method     string              `json:"method,omitempty"`
	Headers    map[string][]string `json:"headers,omitempty"`
	Body       string              `json:"body,omitempty"`
	BodyBase64 []byte              `json:"body_base64,omitempty"`
	Cookies    []framework.Cookie  `json:"cookies,omitempty"`
	Meta       map[string]any      `json:"meta,omitempty"`
	CbKwargs   map[string]any      `json:"cb_kwargs,omitempty"`
	Flags      []string            `json:"flags,omitempty"`
	Priority   int                 `json:"priority"`
	DontFilter bool                `json:"dont_filter,omitempty"`
	Encoding   string              `json:"encoding,omitempty"`
	Callback   string              `json:"callback,omitempty"`
	Errback    string              `json:"errback,omitempty"`
}

func toJSON(r *framework.Request) JSONRequest {
	j := JSONRequest{
		URL: r.URL, Method: r.Method, Headers: r.Headers, Cookies: r.Cookies, Meta: r.Meta, CbKwargs: r.CbKwargs,
		Flags: r.Flags, Priority: r.Priority, DontFilter: r.DontFilter, Encoding: r.Encoding, Callback: r.Callback, Errback: r.Errback,
	}
	if utf8.Valid(r.Body) {
		j.Body = string(r.Body)
	} else {
		j.BodyBase64 = r.Body
	}
	return j
}

// ExportSummary counts what Export wrote and skipped.
type ExportSummary struct {
	Pending, InFlight int
	// Unreadable counts records that could not be read (a resume drops them).
	Unreadable int
}

// Export writes every request of the job directory dir to w as JSON lines:
// first those in flight at the last stop, then the pending ones bucket by
// bucket (by slot, then priority, highest first), each bucket's in the
// order it pops them. Buckets of the queue store that the bucket journal
// does not list are left out, as a resume drops them. Callback names are
// written as stored, without checking them against a spider.
func Export(dir string, w io.Writer) (ExportSummary, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return EachRequest(dir, func(l Line, _ *framework.Request) error { return enc.Encode(l) })
}

// EachRequest calls fn with every request of the job directory dir that a
// resume would hand out, in Export's order, with its Export line; an error
// from fn stops it.
func EachRequest(dir string, fn func(Line, *framework.Request) error) (ExportSummary, error) {
	var sum ExportSummary
	var rep Report
	if err := rep.readCommon(dir); err != nil {
		return sum, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, jobdir.InFlightFile)); err == nil {
		st, err := jobdir.DecodeInFlight(b)
		if err != nil {
			return sum, err
		}
		for _, d := range st.InFlight {
			r, err := framework.DecodeRequest(d.Record, nil)
			if err != nil {
				sum.Unreadable++
				continue
			}
			if err := fn(Line{State: "in_flight", Slot: r.Slot(), Delivery: d.ID, Request: toJSON(r)}, r); err != nil {
				return sum, err
			}
			sum.InFlight++
		}
	}
	view, err := openView(dir)
	if err != nil {
		return sum, err
	}
	st, err := view.openStore(func(_ string, _, _ int64, records int, _ string) {
		sum.Unreadable += records
	})
	if err != nil {
		return sum, fmt.Errorf("jobtools: %w", err)
	}
	if st != nil {
		defer st.Close()
	}
	order := make([]*viewBucket, len(view.buckets))
	for i := range view.buckets {
		order[i] = &view.buckets[i]
	}
	sortBuckets(order)
	for _, b := range order {
		var werr error
		if b.stored {
			read := 0
			err := st.Records(b.rel, func(delivery uint64, rec []byte) error {
				read++
				r, err := framework.DecodeRequest(rec, nil)
				if err != nil {
					sum.Unreadable++
					return nil
				}
				sum.Pending++
				if werr = fn(Line{State: "pending", Slot: b.Slot, Start: b.Start, Delivery: delivery, Request: toJSON(r)}, r); werr != nil {
					return werr
				}
				return nil
			})
			if werr != nil {
				return sum, werr
			}
			if err != nil {
				// Chunks that cannot be read: a resume drops their records.
				sum.Unreadable += b.pending - read
			}
			continue
		}
		rep, err := filequeue.Verify(b.Path, func(rec filequeue.Record) error {
			r, err := framework.DecodeRequest(rec.Payload, nil)
			if err != nil {
				return err
			}
			sum.Pending++
			if werr == nil {
				werr = fn(Line{State: "pending", Slot: b.Slot, Start: b.Start, Delivery: rec.ID, Request: toJSON(r)}, r)
			}
			return nil
		})
		if werr != nil {
			return sum, werr
		}
		sum.Unreadable += rep.DroppedRecords + rep.Undecodable
		if err != nil {
			return sum, fmt.Errorf("jobtools: bucket %s: %w", b.Path, err)
		}
	}
	return sum, nil
}

func sortBuckets(bs []*viewBucket) {
	slices.SortFunc(bs, func(a, b *viewBucket) int {
		switch {
		case a.Slot != b.Slot:
			return strings.Compare(a.Slot, b.Slot)
		case a.Priority != b.Priority:
			return b.Priority - a.Priority
		case a.Start == b.Start:
			return 0
		case b.Start:
			return -1
		}
		return 1
	})
}

// ToJSON returns r as Export writes it.
func ToJSON(r *framework.Request) JSONRequest { return toJSON(r) }
