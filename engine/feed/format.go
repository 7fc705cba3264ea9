package feed

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/rs/zerolog"
)

// state is a feed's position and format state: the committed one (in the
// last commit record) or the current one (after the items added since).
type state struct {
	length        int64 // bytes in the file up to this state
	items         int64
	header        []string
	headerWritten bool
	json          jsonState
	// newline: the file ends inside a line (a torn line of a file cut
	// short): the next item starts a new line. Never recorded: a commit
	// writes the newline.
	newline bool
}

// feed is one open feed: its file (or standard output), its committed
// state and the bytes added since.
type feed struct {
	spec Spec
	abs  string   // absolute path; "" for standard output
	f    *os.File // nil for standard output
	out  io.Writer
	// fileSize is the file's size: more than committed.length when an
	// append continues before the end of the file (a closed JSON array's
	// "]"), cut by the first write.
	fileSize int64

	committed, cur state
	pend           bytes.Buffer
	csv            *csv.Writer // writes into pend
	dirty          bool        // written since the last fsync
	warnedExtra    bool
	log            zerolog.Logger
}

// entry returns what a commit record keeps of f at st.
func (f *feed) entry(st state) entry {
	return entry{Path: f.abs, Format: f.spec.Format, Length: st.length, Items: st.items,
		Header: st.header, HeaderWritten: st.headerWritten, JSON: st.json}
}

// stateOf returns the state a commit record's entry describes.
func stateOf(e entry) state {
	return state{length: e.Length, items: e.Items, header: e.Header, headerWritten: e.HeaderWritten, json: e.JSON}
}

// add encodes one item into the pending bytes. b is the item's JSON;
// fields its members in order, when a CSV feed or names need them; names
// is FEED_EXPORT_FIELDS (nil: every field).
func (f *feed) add(b []byte, fields []field, names []string) {
	body := b
	if names != nil && f.spec.Format != CSV {
		body = selectFields(fields, names)
	}
	switch f.spec.Format {
	case JSONLines:
		if f.cur.newline {
			f.pend.WriteByte('\n')
			f.cur.newline = false
		}
		f.pend.Write(body)
		f.pend.WriteByte('\n')
	case JSON:
		f.pend.WriteString([...]string{jsonNone: "[\n", jsonOpen: "\n", jsonItems: ",\n"}[f.cur.json])
		f.pend.Write(body)
		f.cur.json = jsonItems
	case CSV:
		f.addCSV(fields, names)
	}
	f.cur.items++
}

// addCSV writes a CSV row, and the header first if the file has none.
func (f *feed) addCSV(fields []field, names []string) {
	if f.csv == nil {
		f.csv = csv.NewWriter(&f.pend)
	}
	if f.cur.newline {
		f.pend.WriteByte('\n')
		f.cur.newline = false
	}
	if !f.cur.headerWritten {
		if f.cur.header == nil {
			f.cur.header = names
		}
		if f.cur.header == nil {
			f.cur.header = make([]string, 0, len(fields))
			for _, fd := range fields {
				f.cur.header = append(f.cur.header, fd.name)
			}
		}
		f.csv.Write(f.cur.header) // into a bytes.Buffer: cannot fail
		f.cur.headerWritten = true
	}
	row := make([]string, len(f.cur.header))
	for i, h := range f.cur.header {
		row[i] = cell(lookup(fields, h))
	}
	if !f.warnedExtra {
		var extra []string
		for _, fd := range fields {
			if !slices.Contains(f.cur.header, fd.name) {
				extra = append(extra, fd.name)
			}
		}
		if extra != nil {
			f.warnedExtra = true
			f.log.Warn().Str("feed", f.spec.Path).Strs("fields", extra).Strs("header", f.cur.header).
				Msg("item fields not in the CSV header are dropped (logged once per feed)")
		}
	}
	f.csv.Write(row)
	f.csv.Flush()
}

// suffix returns what Close writes after the committed length: the JSON
// array's end.
func (f *feed) suffix() string {
	if f.spec.Format != JSON {
		return ""
	}
	return [...]string{jsonNone: "[]\n", jsonOpen: "]\n", jsonItems: "\n]\n"}[f.committed.json]
}

// write writes b at the committed length (or to standard output), cutting
// whatever the file held after it.
func (f *feed) write(b []byte) error {
	if f.f == nil {
		_, err := f.out.Write(b)
		return err
	}
	if len(b) > 0 {
		if _, err := f.f.WriteAt(b, f.committed.length); err != nil {
			return err
		}
		f.dirty = true
	}
	end := f.committed.length + int64(len(b))
	if f.fileSize > end {
		if err := f.f.Truncate(end); err != nil {
			return err
		}
		f.dirty = true
	}
	f.fileSize = end
	return nil
}

// cutBack cuts the file back to its committed length after a failed commit.
func (f *feed) cutBack() error {
	f.pend.Reset()
	f.cur = f.committed
	if f.f == nil {
		return nil
	}
	// Always: a failed write may have written part of its bytes.
	if err := f.f.Truncate(f.committed.length); err != nil {
		return err
	}
	f.fileSize = f.committed.length
	return nil
}

// sync fsyncs the file if it was written since the last fsync.
func (f *feed) sync() error {
	if f.f == nil || !f.dirty {
		return nil
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("feed: fsync %s: %w", f.spec.Path, err)
	}
	f.dirty = false
	return nil
}

// appendState returns the state to continue a file of size bytes that no
// commit record describes (-o): at its end, except for a JSON file, which
// continues before the closing "]" of its array. names is
// FEED_EXPORT_FIELDS, which a CSV file's header must equal.
func appendState(f *os.File, path string, format Format, size int64, names []string) (state, error) {
	st := state{length: size, header: names}
	if size == 0 {
		return st, nil
	}
	switch format {
	case JSONLines:
		last, err := byteAt(f, size-1)
		st.newline = last != '\n'
		return st, err
	case CSV:
		r := csv.NewReader(io.LimitReader(io.NewSectionReader(f, 0, size), 1<<20))
		r.FieldsPerRecord = -1
		header, err := r.Read()
		if err != nil {
			return st, fmt.Errorf("%w: %s: its first line is not a CSV header: %w", ErrCSVHeader, path, err)
		}
		if names != nil && !slices.Equal(header, names) {
			return st, fmt.Errorf("%w: %s has columns %s, FEED_EXPORT_FIELDS is %s: use -O to overwrite it, or another file",
				ErrCSVHeader, path, strings.Join(header, ","), strings.Join(names, ","))
		}
		last, err := byteAt(f, size-1)
		st.header, st.headerWritten, st.newline = header, true, last != '\n'
		return st, err
	}
	first, c, err := nonSpace(f, 0, size, 1)
	if err != nil {
		return st, err
	}
	if first < 0 { // only white space: start afresh
		st.length = 0
		return st, nil
	}
	end, d, err := nonSpace(f, 0, size, -1)
	if err != nil {
		return st, err
	}
	if c != '[' || d != ']' {
		return st, fmt.Errorf(`%w: %s does not start with "[" and end with "]" (a crash of a crawl without a job directory?); `+
			`repair it, use -O to overwrite it, or write a .jsonl feed, which can always be appended to`, ErrAppendJSON, path)
	}
	before, _, err := nonSpace(f, 0, end, -1)
	if err != nil {
		return st, err
	}
	st.length, st.json = before+1, jsonItems
	if before == first {
		st.json = jsonOpen
	}
	return st, nil
}

// byteAt returns the byte at off.
func byteAt(f *os.File, off int64) (byte, error) {
	var b [1]byte
	_, err := f.ReadAt(b[:], off)
	return b[0], err
}

// nonSpace returns the offset and value of the first (dir 1) or last (dir
// -1) byte of f in [from, to) that is not JSON white space; offset -1 when
// there is none.
func nonSpace(f *os.File, from, to int64, dir int) (int64, byte, error) {
	buf := make([]byte, 4096)
	for from < to {
		n := min(int64(len(buf)), to-from)
		off := from
		if dir < 0 {
			off = to - n
		}
		if _, err := f.ReadAt(buf[:n], off); err != nil && !errors.Is(err, io.EOF) {
			return -1, 0, err
		}
		for i := range n {
			j := i
			if dir < 0 {
				j = n - 1 - i
			}
			switch buf[j] {
			case ' ', '\t', '\r', '\n':
			default:
				return off + j, buf[j], nil
			}
		}
		if dir < 0 {
			to = off
		} else {
			from = off + n
		}
	}
	return -1, 0, nil
}
