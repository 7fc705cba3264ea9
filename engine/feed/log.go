package feed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/frontier-go/frontier/internal/recordio"
)

// LogName is the commit log's file name in the job directory.
const LogName = "feeds.log"

// logVersion is the commit record format this build writes. A reader
// refuses a record of a higher version (ErrFutureLog); fields a reader does
// not know are skipped, so a field can be added without a new version when
// ignoring it is harmless.
const logVersion = 1

// DefaultCompactBytes is the commit log size past which a Commit compacts
// the log to its last record, when Options.CompactBytes is 0.
const DefaultCompactBytes = 1 << 20

// jsonState is how far a JSON feed's array has got.
type jsonState uint8

const (
	// jsonNone: nothing written; the next item opens the array with "[".
	jsonNone jsonState = iota
	// jsonOpen: "[" written, no item yet.
	jsonOpen
	// jsonItems: "[" and at least one item written; the next one follows ",".
	jsonItems
)

// entry is what a commit record keeps of one feed file.
type entry struct {
	// Path is the feed file's absolute path.
	Path   string
	Format Format
	// Length is the committed length of the file in bytes: what lies after
	// it was written after the last commit and is cut when the job resumes.
	Length int64
	// Items is how many items the job committed to this feed.
	Items int64
	// Header is a CSV feed's columns; HeaderWritten says whether the header
	// line is in the file (below Length).
	Header        []string
	HeaderWritten bool
	// JSON is how far a JSON feed's array has got at Length.
	JSON jsonState
}

// record is one commit record: the state of every feed file after a
// commit, and the requests the commit finished.
type record struct {
	// Seq numbers the commits of a job, from 1.
	Seq uint64
	// Items is how many items the job committed, over all its runs (an
	// item counts once however many feeds it went to).
	Items int64
	Feeds []entry
	// Done holds the delivery identifiers of the requests whose output this
	// commit (or, carried forward, an earlier one) made durable and whose
	// finish may not be durable yet.
	Done []uint64
}

// Record field numbers (protowire). Documented in docs/feeds.md.
const (
	recVersion = 1 // varint
	recSeq     = 2 // varint
	recItems   = 3 // varint
	recFeed    = 4 // bytes, repeated: a feed entry
	recDone    = 5 // bytes: sorted IDs as uvarint deltas

	feedPath          = 1 // bytes
	feedFormat        = 2 // bytes
	feedLength        = 3 // varint
	feedItems         = 4 // varint
	feedHeader        = 5 // bytes, repeated: a CSV column
	feedHeaderWritten = 6 // varint 0/1
	feedJSON          = 7 // varint jsonState
)

// appendRecord appends r's payload to b.
func appendRecord(b []byte, r record) []byte {
	b = protowire.AppendTag(b, recVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, logVersion)
	b = protowire.AppendTag(b, recSeq, protowire.VarintType)
	b = protowire.AppendVarint(b, r.Seq)
	b = protowire.AppendTag(b, recItems, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(r.Items))
	var e []byte
	for _, f := range r.Feeds {
		e = e[:0]
		e = protowire.AppendTag(e, feedPath, protowire.BytesType)
		e = protowire.AppendString(e, f.Path)
		e = protowire.AppendTag(e, feedFormat, protowire.BytesType)
		e = protowire.AppendString(e, string(f.Format))
		e = protowire.AppendTag(e, feedLength, protowire.VarintType)
		e = protowire.AppendVarint(e, uint64(f.Length))
		e = protowire.AppendTag(e, feedItems, protowire.VarintType)
		e = protowire.AppendVarint(e, uint64(f.Items))
		for _, h := range f.Header {
			e = protowire.AppendTag(e, feedHeader, protowire.BytesType)
			e = protowire.AppendString(e, h)
		}
		e = protowire.AppendTag(e, feedHeaderWritten, protowire.VarintType)
		e = protowire.AppendVarint(e, protowire.EncodeBool(f.HeaderWritten))
		e = protowire.AppendTag(e, feedJSON, protowire.VarintType)
		e = protowire.AppendVarint(e, uint64(f.JSON))
		b = protowire.AppendTag(b, recFeed, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	if len(r.Done) > 0 {
		ids := slices.Clone(r.Done)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		var d []byte
		prev := uint64(0)
		for _, id := range ids {
			d = protowire.AppendVarint(d, id-prev)
			prev = id
		}
		b = protowire.AppendTag(b, recDone, protowire.BytesType)
		b = protowire.AppendBytes(b, d)
	}
	return b
}

// decodeRecord parses a commit record's payload. Errors wrap ErrCorruptLog
// or ErrFutureLog.
func decodeRecord(b []byte) (record, error) {
	var r record
	version := uint64(0)
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch {
		case num == recVersion && typ == protowire.VarintType:
			version = v
		case num == recSeq && typ == protowire.VarintType:
			r.Seq = v
		case num == recItems && typ == protowire.VarintType:
			if int64(v) < 0 {
				return fmt.Errorf("item count %d out of range", v)
			}
			r.Items = int64(v)
		case num == recFeed && typ == protowire.BytesType:
			e, err := decodeEntry(data)
			if err != nil {
				return err
			}
			r.Feeds = append(r.Feeds, e)
		case num == recDone && typ == protowire.BytesType:
			prev := uint64(0)
			for len(data) > 0 {
				d, n := protowire.ConsumeVarint(data)
				if n < 0 {
					return fmt.Errorf("done identifiers: %w", protowire.ParseError(n))
				}
				if len(r.Done) > 0 && (d == 0 || prev+d < prev) {
					return errors.New("done identifiers out of order")
				}
				prev += d
				r.Done = append(r.Done, prev)
				data = data[n:]
			}
		case num == recVersion || num == recSeq || num == recItems || num == recFeed || num == recDone:
			return fmt.Errorf("field %d has wire type %d", num, typ)
		}
		return nil
	})
	switch {
	case version > logVersion:
		return record{}, fmt.Errorf("%w: record version %d, this build reads up to %d", ErrFutureLog, version, logVersion)
	case err != nil:
		return record{}, fmt.Errorf("%w: %w", ErrCorruptLog, err)
	case version == 0:
		return record{}, fmt.Errorf("%w: record without a version", ErrCorruptLog)
	}
	return r, nil
}

// decodeEntry parses one feed entry of a record.
func decodeEntry(b []byte) (entry, error) {
	var e entry
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error {
		switch {
		case num == feedPath && typ == protowire.BytesType:
			e.Path = string(data)
		case num == feedFormat && typ == protowire.BytesType:
			e.Format = Format(data)
		case num == feedLength && typ == protowire.VarintType:
			e.Length = int64(v)
		case num == feedItems && typ == protowire.VarintType:
			e.Items = int64(v)
		case num == feedHeader && typ == protowire.BytesType:
			e.Header = append(e.Header, string(data))
		case num == feedHeaderWritten && typ == protowire.VarintType:
			e.HeaderWritten = protowire.DecodeBool(v)
		case num == feedJSON && typ == protowire.VarintType:
			if v > uint64(jsonItems) {
				return fmt.Errorf("feed JSON state %d", v)
			}
			e.JSON = jsonState(v)
		case num >= feedPath && num <= feedJSON:
			return fmt.Errorf("feed field %d has wire type %d", num, typ)
		}
		return nil
	})
	switch {
	case err != nil:
		return entry{}, err
	case e.Path == "" || !filepath.IsAbs(e.Path):
		return entry{}, fmt.Errorf("feed path %q is not absolute", e.Path)
	case !validFormat(e.Format):
		return entry{}, fmt.Errorf("feed %s: format %q", e.Path, e.Format)
	case e.Length < 0 || e.Items < 0:
		return entry{}, fmt.Errorf("feed %s: length %d, items %d", e.Path, e.Length, e.Items)
	}
	return e, nil
}

// eachField calls fn for every field of the protobuf message b: its number,
// wire type, and its value (varint and fixed types) or bytes (bytes type).
func eachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, data []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v uint64
		var data []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(b)
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			data, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, data); err != nil {
			return err
		}
	}
	return nil
}

// appendFrame appends r as one frame of the commit log. Only a record past
// recordio.MaxPayload (64 MiB: millions of done identifiers in one commit)
// is an error.
func appendFrame(b []byte, r record) ([]byte, error) {
	b, start := recordio.Begin(b)
	b = appendRecord(b, r)
	b, err := recordio.End(b, start, recordio.Meta{ID: r.Seq, Seq: logVersion})
	if err != nil {
		return b, fmt.Errorf("feed: commit record %d with %d done identifiers: %w", r.Seq, len(r.Done), err)
	}
	return b, nil
}

// scan is what reading a commit log found.
type scan struct {
	// Last is the last valid record, ok false when there is none.
	Last record
	ok   bool
	// End is where the last valid frame ends; Frames counts valid frames.
	End    int64
	Frames int
	// Torn is the size of the bytes after the last valid frame (a write cut
	// short by a crash), TornAt their offset.
	Torn, TornAt int64
	// Corrupt lists offsets of damaged bytes followed by valid frames.
	Corrupt []int64
}

// readLog parses a commit log's bytes: it finds the last valid frame that
// decodes as a commit record. Invalid bytes after it are a torn tail;
// invalid bytes before a valid frame are damage, reported in Corrupt and
// skipped, as is a whole frame that is not a commit record (another
// file's frame copied in: no crash writes one). Only a record of a newer
// format version is an error.
func readLog(b []byte) (scan, error) {
	var s scan
	for off := 0; off < len(b); {
		fr, n, err := recordio.Next(b[off:])
		if err == nil {
			r, derr := decodeRecord(fr.Payload)
			switch {
			case errors.Is(derr, ErrFutureLog):
				return s, fmt.Errorf("record at offset %d: %w", off, derr)
			case derr != nil:
				s.Corrupt = append(s.Corrupt, int64(off))
			default:
				s.Last, s.ok = r, true
			}
			off += n
			s.End, s.Frames = int64(off), s.Frames+1
			continue
		}
		next := resync(b, off+1)
		if next < 0 {
			s.Torn, s.TornAt = int64(len(b)-off), int64(off)
			break
		}
		s.Corrupt = append(s.Corrupt, int64(off))
		off = next
	}
	return s, nil
}

// resync returns the offset of the first valid frame at or after from, or -1.
func resync(b []byte, from int) int {
	for i := from; i+recordio.Overhead < len(b); i++ {
		if _, _, err := recordio.Next(b[i:]); err == nil {
			return i
		}
	}
	return -1
}

// removeTemp removes the temporary files a crash during a log compaction
// left in dir.
func removeTemp(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), LogName+".tmp-") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// LogReport is what [ReadLog] found in a commit log.
type LogReport struct {
	// Frames counts the whole records read; Items is the committed item
	// count of the last one (what a resume continues from), OK false when
	// there is none.
	Frames int
	Items  int64
	OK     bool
	// Torn is the size of the bytes after the last whole record, at
	// TornAt: a commit a crash interrupted, or damage that looks like one.
	Torn, TornAt int64
	// TornShort is true when the torn bytes are a record cut short, as a
	// crash during its write leaves it; false when they are as long as the
	// record they start claims (its checksum fails: damage), or no record.
	TornShort bool
	// Corrupt lists the offsets of damaged bytes that whole records follow.
	Corrupt []int64
	// Feeds are the feed files of the last record.
	Feeds []LogFeed
}

// LogFeed is what the last commit record says of one feed file.
type LogFeed struct {
	Path   string
	Format Format
	// Length is the file's committed length; Items the items committed to it.
	Length, Items int64
}

// ReadLog reads the commit log at path without changing it, for
// inspection tools. An error wraps ErrCorruptLog or ErrFutureLog when the
// last whole record does not decode (a resume refuses the job then).
func ReadLog(path string) (LogReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return LogReport{}, fmt.Errorf("feed: %w", err)
	}
	sc, err := readLog(b)
	rep := LogReport{Frames: sc.Frames, Torn: sc.Torn, TornAt: sc.TornAt, Corrupt: sc.Corrupt}
	if sc.Torn > 0 {
		_, _, terr := recordio.Next(b[sc.TornAt:])
		rep.TornShort = errors.Is(terr, recordio.ErrShort)
	}
	if err != nil {
		return rep, fmt.Errorf("feed: %s: %w", path, err)
	}
	if sc.ok {
		rep.OK, rep.Items = true, sc.Last.Items
		for _, e := range sc.Last.Feeds {
			rep.Feeds = append(rep.Feeds, LogFeed{Path: e.Path, Format: e.Format, Length: e.Length, Items: e.Items})
		}
	}
	return rep, nil
}
