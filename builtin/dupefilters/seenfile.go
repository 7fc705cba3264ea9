package dupefilters

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
	"github.com/frontier-go/frontier/jobdir"
)

// The fingerprint file, JOBDIR/requests.fingerprints, format version 1
// (docs/jobdir.md):
//
//	8 bytes  magic "FRSEEN\x00\x01" (the last byte is the format version)
//	frames   internal/recordio frames; each payload is k ≥ 1 fingerprints of
//	         20 bytes, written by one flush; Meta.Seq counts the frames;
//	         Meta.ID is 1 for frames written in set order (see below), else 0
//
// Loading inserts every fingerprint into a hash set far larger than the CPU
// caches; in the order flushes wrote them, each insert waits on memory. A
// clean close therefore rewrites the file in the set's slot order (its
// fingerprints sorted by hash, nearly), which the next load inserts at
// consecutive addresses, three to four times faster. The rewrite is atomic
// and only an optimisation: any file loads.
//
// The file is only appended to. A torn or corrupt frame is skipped and
// reported; the fingerprints it held are forgotten, which is harmless: a
// request whose fingerprint is lost can only be crawled twice, never lost.
const (
	seenMagic = "FRSEEN\x00\x01"
	fpSize    = len(framework.Fingerprint{})
	// blockFPs bounds the fingerprints of one frame (1.25 MiB).
	blockFPs = 64 << 10
)

// SeenFileReport says what reading a fingerprint file found.
type SeenFileReport struct {
	Fingerprints int   // distinct fingerprints loaded
	Frames       int   // whole frames read
	Bytes        int64 // size of the file
	// Dropped is how many bytes were skipped as torn or corrupt, at
	// DroppedAt (the first such offset); TornTail is true when they end the
	// file (a crash during a write).
	Dropped   int64
	DroppedAt int64
	TornTail  bool
	// Valid is the offset just past the last whole frame.
	Valid int64
	// Unordered counts fingerprints in frames not written in set order.
	Unordered int
	// MovedAside is where opening kept a file that was not a fingerprint
	// file (garbage, or another file of the job copied over it), when it
	// did: the job then starts with no fingerprints, and its requests seen
	// before may be crawled again.
	MovedAside string
}

// ErrSeenFile marks a fingerprint file that is not one.
var ErrSeenFile = errors.New("dupefilters: not a fingerprint file")

// errForeign marks, under ErrSeenFile, a file that does not start with the
// fingerprint file's magic at all (garbage, or another file copied over
// it), as opposed to one of a newer format version.
var errForeign = errors.New("bad magic")

// IsForeignSeenFile reports whether err, from reading a fingerprint file,
// says the file is not one at all (not a newer format): opening the job
// moves such a file aside and starts with no fingerprints.
func IsForeignSeenFile(err error) bool { return errors.Is(err, errForeign) }

// readSeenFile reads the fingerprint file r of size bytes into set (created
// when nil, sized from the file) and reports what it found.
func readSeenFile(r io.ReaderAt, size int64, set **fpSet) (SeenFileReport, error) {
	rep := SeenFileReport{Bytes: size}
	head := make([]byte, len(seenMagic))
	if n, _ := r.ReadAt(head, 0); n < len(head) {
		// A file cut inside its magic (a crash while creating it) holds nothing.
		if !bytes.HasPrefix([]byte(seenMagic), head[:n]) {
			return rep, fmt.Errorf("%w: %w", ErrSeenFile, errForeign)
		}
		if *set == nil {
			*set = newFPSet(0)
		}
		rep.Dropped, rep.TornTail = int64(n), n > 0
		return rep, nil
	}
	if string(head) != seenMagic {
		if head[0] == seenMagic[0] && string(head[:6]) == seenMagic[:6] {
			return rep, fmt.Errorf("%w: format version %d; this build reads version %d", ErrSeenFile, head[7], seenMagic[7])
		}
		return rep, fmt.Errorf("%w: %w %q", ErrSeenFile, errForeign, head)
	}
	if *set == nil {
		// Sized from the file: every byte after the magic a fingerprint.
		*set = newFPSet(int((size - int64(len(seenMagic))) / int64(fpSize)))
	}
	s := *set
	w := &window{r: r, size: size}
	// A file of modest size is read at once, so that its set-order frames
	// stay in memory and are added by two goroutines at the end.
	var ordered [][]byte
	whole := false
	if size <= wholeFileMax {
		if f, ok := r.(*os.File); ok {
			if data, unmap, err := mapFile(f, size); err == nil {
				defer unmap() // every fingerprint is copied into the set
				w.buf, w.off, whole = data, 0, true
			}
		}
		if !whole {
			buf := make([]byte, size)
			if n, _ := r.ReadAt(buf, 0); n == len(buf) {
				w.buf, w.off, whole = buf, 0, true
			}
		}
	}
	unordered := make([]byte, 0, min(addAllChunk*fpSize, int(size)))
	off := int64(len(seenMagic))
	rep.Valid = off
	for off < size {
		b, err := w.at(off)
		if err != nil {
			return rep, err
		}
		fr, n, err := recordio.Next(b)
		if err == nil && (len(fr.Payload)%fpSize != 0 || len(fr.Payload) > maxSeenPayload) {
			err = recordio.ErrCorrupt
		}
		if err == nil {
			if fr.ID == setOrder && whole {
				ordered = append(ordered, fr.Payload)
			} else if fr.ID == setOrder {
				s.AddOrdered(fr.Payload)
			} else {
				// Gathered across frames, so that AddAll sorts large chunks.
				if len(unordered)+len(fr.Payload) > cap(unordered) {
					s.AddAll(unordered)
					unordered = unordered[:0]
				}
				unordered = append(unordered, fr.Payload...)
				rep.Unordered += len(fr.Payload) / fpSize
			}
			rep.Frames++
			off += int64(n)
			rep.Valid = off
			continue
		}
		// Torn or corrupt: skip to the next whole frame, if any.
		if rep.Dropped == 0 {
			rep.DroppedAt = off
		}
		skip, found := resyncSeen(b)
		if !found && off+int64(len(b)) >= size {
			rep.Dropped += size - off
			rep.TornTail = true
			break
		}
		rep.Dropped += int64(skip)
		off += int64(skip)
	}
	s.AddAll(unordered)
	s.AddOrderedFrames(ordered)
	rep.Fingerprints = s.Len()
	return rep, nil
}

// wholeFileMax is the size up to which a fingerprint file is read at once
// (13 million fingerprints); larger ones are read through a window.
var wholeFileMax int64 = 256 << 20

// maxSeenPayload is the largest frame payload a fingerprint file holds.
const maxSeenPayload = blockFPs * fpSize

// window reads a file in chunks large enough to hold any frame whole.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64
}

const windowSize = 4 << 20 // windowSize/2 > a frame of maxSeenPayload

// at returns the file's bytes from off: at least windowSize/2 of them (more
// than a frame), or all that are left.
func (w *window) at(off int64) ([]byte, error) {
	need := min(int64(windowSize/2), w.size-off)
	if off >= w.off && off+need <= w.off+int64(len(w.buf)) {
		return w.buf[off-w.off:], nil
	}
	if w.buf == nil {
		w.buf = make([]byte, windowSize)
	}
	w.buf = w.buf[:min(int64(windowSize), w.size-off)]
	n, err := w.r.ReadAt(w.buf, off)
	if n < len(w.buf) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	w.off = off
	return w.buf, nil
}

// resyncSeen returns the offset in b of the first whole frame after b's first
// byte, or, when none starts early enough to fit in b, how far it is safe to
// skip: to where a frame could still start and end within a longer b.
func resyncSeen(b []byte) (int, bool) {
	limit := len(b) - recordio.Overhead - fpSize
	for i := 1; i <= limit; i++ {
		if fr, _, err := recordio.Next(b[i:]); err == nil && len(fr.Payload)%fpSize == 0 && len(fr.Payload) <= maxSeenPayload {
			return i, true
		}
	}
	return max(1, len(b)-(maxSeenPayload+recordio.Overhead)), false
}

// setOrder marks, in Meta.ID, a frame written in set order.
const setOrder = 1

// appendSeenFrames appends fps as frames of at most blockFPs fingerprints,
// numbering them from seq; it returns the next seq. ordered says that fps
// come in set order.
func appendSeenFrames(dst []byte, fps []framework.Fingerprint, seq uint32, ordered bool) ([]byte, uint32) {
	var id uint64
	if ordered {
		id = setOrder
	}
	// One allocation for the whole flush, not a doubling per megabyte.
	dst = slices.Grow(dst, len(fps)*fpSize+(len(fps)+blockFPs-1)/blockFPs*recordio.Overhead)
	for len(fps) > 0 {
		k := min(len(fps), blockFPs)
		b, start := recordio.Begin(dst)
		for i := range fps[:k] {
			b = append(b, fps[i][:]...)
		}
		var err error
		// A payload of 1 to 64K fingerprints is always within frame limits.
		if dst, err = recordio.End(b, start, recordio.Meta{ID: id, Seq: seq}); err != nil {
			panic(err)
		}
		seq++
		fps = fps[k:]
	}
	return dst, seq
}

// seenWriteFPs is how many fingerprints a seenFile frames and writes at a
// time: its write buffer (320 KiB) is kept between appends, instead of one
// of the size of a whole flush allocated for each.
const seenWriteFPs = 16 << 10

// seenFile is an open fingerprint file that fingerprints are appended to.
type seenFile struct {
	path     string
	f        *os.File
	size     int64
	seq      uint32
	policy   recordio.FsyncPolicy
	unsynced time.Time // first write not yet fsynced
	broken   error
	wbuf     []byte // the frames of the last write, kept for the next one
}

// openSeenFile opens (creating when missing) the fingerprint file at path,
// loads it into a new set and cuts a torn tail off, so that appends follow
// whole frames.
func openSeenFile(path string, policy recordio.FsyncPolicy) (*seenFile, *fpSet, SeenFileReport, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, SeenFileReport{}, fmt.Errorf("dupefilters: open %s: %w", path, err)
	}
	fail := func(err error) (*seenFile, *fpSet, SeenFileReport, error) {
		f.Close()
		return nil, nil, SeenFileReport{}, fmt.Errorf("dupefilters: %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	var set *fpSet
	rep, err := readSeenFile(f, st.Size(), &set)
	if errors.Is(err, errForeign) {
		// Not a fingerprint file at all: kept aside, never deleted, and the
		// job goes on with an empty one (fingerprints can only cost a
		// duplicate crawl; refusing the job would strand its requests).
		f.Close()
		dst, merr := jobdir.MoveAside("", path, false)
		if merr != nil {
			return nil, nil, SeenFileReport{}, fmt.Errorf("dupefilters: %s: %w; and it could not be kept aside: %w", path, err, merr)
		}
		sf, set, rep, err := openSeenFile(path, policy)
		rep.MovedAside = dst
		rep.Dropped, rep.DroppedAt = st.Size(), 0
		return sf, set, rep, err
	}
	if err != nil {
		return fail(err)
	}
	sf := &seenFile{path: path, f: f, size: st.Size(), seq: uint32(rep.Frames), policy: policy}
	switch {
	case st.Size() < int64(len(seenMagic)):
		// New (or cut inside its magic): write the magic, durably.
		if err := f.Truncate(0); err != nil {
			return fail(err)
		}
		if _, err := f.WriteAt([]byte(seenMagic), 0); err != nil {
			return fail(err)
		}
		if err := f.Sync(); err != nil {
			return fail(err)
		}
		if err := recordio.SyncDir(filepath.Dir(path)); err != nil {
			return fail(err)
		}
		sf.size = int64(len(seenMagic))
	case rep.TornTail:
		if err := f.Truncate(rep.Valid); err != nil {
			return fail(err)
		}
		sf.size = rep.Valid
	}
	return sf, set, rep, nil
}

// append writes fps, in pieces of at most seenWriteFPs fingerprints framed
// in one reused buffer, and fsyncs as the policy says (force: always). A
// failed write is cut back off the file, with the pieces written before it:
// the file holds all of fps or none.
func (sf *seenFile) append(fps []framework.Fingerprint, force bool) error {
	if sf.broken != nil {
		return sf.broken
	}
	now := time.Now()
	if len(fps) > 0 {
		size, seq := sf.size, sf.seq
		for rest := fps; len(rest) > 0; {
			k := min(len(rest), seenWriteFPs)
			var b []byte
			b, seq = appendSeenFrames(sf.wbuf[:0], rest[:k], seq, false)
			sf.wbuf = b
			n, err := sf.f.WriteAt(b, size)
			if err != nil {
				// Even a write that reports nothing written may have grown
				// the file (tmpfs does): always cut back to the last whole
				// frame before this append.
				if terr := sf.f.Truncate(sf.size); terr != nil {
					sf.broken = fmt.Errorf("dupefilters: %s: a failed write could not be undone (%w), later writes are refused: %w", sf.path, terr, err)
					return sf.broken
				}
				return fmt.Errorf("dupefilters: write %s at offset %d: %w", sf.path, size, err)
			}
			size += int64(n)
			rest = rest[k:]
		}
		sf.size, sf.seq = size, seq
		if sf.unsynced.IsZero() {
			sf.unsynced = now
		}
	}
	if !sf.unsynced.IsZero() && (force || sf.policy.Due(sf.unsynced, now)) {
		if err := sf.f.Sync(); err != nil {
			return fmt.Errorf("dupefilters: fsync %s: %w", sf.path, err)
		}
		sf.unsynced = time.Time{}
	}
	return nil
}

func (sf *seenFile) close() error {
	var err error
	if sf.broken == nil && !sf.unsynced.IsZero() {
		err = sf.f.Sync()
	}
	if cerr := sf.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("dupefilters: close %s: %w", sf.path, err)
	}
	return nil
}

// ReadSeenFile reads the fingerprint file at path without changing it and
// returns its fingerprints' count and what it found; for inspection tools.
func ReadSeenFile(path string) (SeenFileReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return SeenFileReport{}, fmt.Errorf("dupefilters: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return SeenFileReport{}, fmt.Errorf("dupefilters: %w", err)
	}
	var set *fpSet
	// Read, not mapped: the job may be running, and a process opening it
	// may cut the file's torn tail while it is read.
	rep, err := readSeenFile(io.NewSectionReader(f, 0, st.Size()), st.Size(), &set)
	if err != nil {
		return rep, fmt.Errorf("dupefilters: %s: %w", path, err)
	}
	return rep, nil
}

// ScrapyImport says what importing a Scrapy requests.seen found.
type ScrapyImport struct {
	Lines        int // lines read
	Fingerprints int // distinct fingerprints imported that the job did not hold
	Total        int // fingerprints the job holds after the import
	// Salvaged lines were a torn fragment followed by a whole fingerprint
	// (Scrapy appends after a torn line); the fingerprint was kept.
	Salvaged int
	// Invalid lines were skipped; FirstInvalid is the first one's number.
	Invalid, FirstInvalid int
	// TornLastLine is true when the last line was cut short and dropped.
	TornLastLine bool
}

// parseScrapySeen reads a Scrapy requests.seen (40 lowercase or uppercase
// hex characters a line, "\n" or "\r\n") into set.
func parseScrapySeen(r io.Reader, set *fpSet) (ScrapyImport, error) {
	var imp ScrapyImport
	before := set.Len()
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Far longer than a fingerprint: skip the rest of the line.
			imp.Lines++
			imp.invalid()
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return imp, err
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return imp, err
		}
		last := errors.Is(err, io.EOF)
		if len(line) == 0 {
			break
		}
		imp.Lines++
		text := bytes.TrimRight(line, "\r\n")
		fp, ok := parseHexFP(text)
		switch {
		case ok:
		case len(text) > 2*fpSize:
			if fp, ok = parseHexFP(text[len(text)-2*fpSize:]); ok {
				imp.Salvaged++
			}
		}
		switch {
		case ok:
			set.Add(&fp)
		case last:
			imp.TornLastLine = true
		default:
			imp.invalid()
		}
		if last {
			break
		}
	}
	imp.Fingerprints, imp.Total = set.Len()-before, set.Len()
	if imp.Total == 0 && imp.Invalid > 0 {
		return imp, fmt.Errorf("%w: no line holds 40 hex characters (line %d: not a fingerprint)", ErrSeenFile, imp.FirstInvalid)
	}
	return imp, nil
}

func (imp *ScrapyImport) invalid() {
	imp.Invalid++
	if imp.FirstInvalid == 0 {
		imp.FirstInvalid = imp.Lines
	}
}

func parseHexFP(b []byte) (framework.Fingerprint, bool) {
	var fp framework.Fingerprint
	if len(b) != 2*fpSize {
		return fp, false
	}
	_, err := hex.Decode(fp[:], b)
	return fp, err == nil
}

// CountScrapySeen reads a Scrapy requests.seen and reports what an import
// would find, without writing anything.
func CountScrapySeen(r io.Reader) (ScrapyImport, error) {
	return parseScrapySeen(r, newFPSet(0))
}

// ImportScrapySeen converts the Scrapy requests.seen at src into the
// fingerprint file of job directory dir, replacing it atomically; existing
// fingerprints of dir are kept. It returns what the import found.
func ImportScrapySeen(dir, src string) (ScrapyImport, error) {
	return ImportScrapySeenProgress(dir, src, nil)
}

// ImportScrapySeenProgress is ImportScrapySeen calling progress, when not
// nil, from its goroutine with the bytes of src read so far and src's size.
func ImportScrapySeenProgress(dir, src string, progress func(done, total int64)) (ScrapyImport, error) {
	in, err := os.Open(src)
	if err != nil {
		return ScrapyImport{}, fmt.Errorf("dupefilters: import: %w", err)
	}
	defer in.Close()
	dst := filepath.Join(dir, jobdir.FingerprintsFile)
	var set *fpSet
	if f, err := os.Open(dst); err == nil {
		st, serr := f.Stat()
		if serr == nil {
			_, serr = readSeenFile(f, st.Size(), &set)
		}
		f.Close()
		if serr != nil {
			return ScrapyImport{}, fmt.Errorf("dupefilters: import into %s: %w", dst, serr)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return ScrapyImport{}, fmt.Errorf("dupefilters: import: %w", err)
	}
	if set == nil {
		set = newFPSet(0)
		if st, err := in.Stat(); err == nil {
			set.Reserve(int(st.Size() / (2*int64(fpSize) + 1)))
		}
	}
	var r io.Reader = in
	if progress != nil {
		pr := &progressReader{r: in, f: progress, total: -1}
		if st, err := in.Stat(); err == nil {
			pr.total = st.Size()
		}
		r = pr
	}
	imp, err := parseScrapySeen(r, set)
	if err != nil {
		return imp, fmt.Errorf("dupefilters: import %s: %w", src, err)
	}
	if err := writeOrdered(dst, set); err != nil {
		return imp, fmt.Errorf("dupefilters: import %s: %w", src, err)
	}
	return imp, nil
}

// writeOrdered replaces the fingerprint file at path with set's fingerprints
// in set order, atomically.
func writeOrdered(path string, set *fpSet) error {
	fps := make([]framework.Fingerprint, 0, set.Len())
	set.Each(func(fp framework.Fingerprint) bool { fps = append(fps, fp); return true })
	b, _ := appendSeenFrames(append(make([]byte, 0, len(seenMagic)+len(fps)*fpSize+len(fps)/blockFPs*recordio.Overhead+recordio.Overhead), seenMagic...), fps, 0, true)
	return jobdir.WriteFileAtomic(path, b, 0o644)
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r           io.Reader
	f           func(done, total int64)
	done, total int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.f(p.done, p.total)
	return n, err
}

// RebuildSeenFile rewrites the fingerprint file at path, atomically and in
// set order, with the fingerprints it holds (a torn or corrupt frame
// skipped, a file that is not one read as empty) and fps, the fingerprints
// of requests the job still holds, which a repair recomputes: whatever
// damage took, these at least are back. It returns how many of fps the file
// did not hold, and the count it holds after. Keep a damaged file aside
// before rebuilding it.
func RebuildSeenFile(path string, fps []framework.Fingerprint) (added, total int, err error) {
	var set *fpSet
	f, err := os.Open(path)
	switch {
	case err == nil:
		st, serr := f.Stat()
		if serr != nil {
			f.Close()
			return 0, 0, fmt.Errorf("dupefilters: %w", serr)
		}
		_, err = readSeenFile(io.NewSectionReader(f, 0, st.Size()), st.Size(), &set)
		f.Close()
		if err != nil && !errors.Is(err, errForeign) {
			return 0, 0, fmt.Errorf("dupefilters: rebuild %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return 0, 0, fmt.Errorf("dupefilters: rebuild %s: %w", path, err)
	}
	if set == nil {
		set = newFPSet(len(fps))
	}
	for i := range fps {
		if set.Add(&fps[i]) {
			added++
		}
	}
	if err := writeOrdered(path, set); err != nil {
		return added, set.Len(), fmt.Errorf("dupefilters: rebuild %s: %w", path, err)
	}
	return added, set.Len(), nil
}
