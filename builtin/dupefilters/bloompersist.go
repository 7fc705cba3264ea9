package dupefilters

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/internal/recordio"
	"github.com/frontier-go/frontier/jobdir"
)

// The Bloom filter's job-directory files (docs/jobdir.md):
//
//   - requests.bloom, the checkpoint: the magic "FRBLOOM\x00\x01" (the last
//     byte is the format version), the capacity (uint64) and the error rate
//     (float64 bits), both big-endian, the filter as bits-and-blooms writes
//     it (m, k, then the bit array), and a CRC-32C of all that precedes. It
//     is only ever replaced whole, atomically (temporary file, fsync,
//     rename, directory fsync).
//   - requests.bloom.log, the fingerprints added since the checkpoint, in the
//     fingerprint file's format (requests.fingerprints: a magic then
//     internal/recordio frames of 20-byte fingerprints), appended by Flush.
//
// The rules are the fingerprint file's. New fingerprints are buffered and
// written only by Flush and Close, which the scheduler calls after flushing
// its queues, so a fingerprint is never durable before its request. The
// checkpoint is written by a Flush (after the log is written) when the log
// has grown past a bound, and by Close; it then holds only flushed
// fingerprints. Once it is durable the log is emptied. Opening loads the
// checkpoint and replays the log onto it: a torn tail is cut, a corrupt
// frame in the middle is skipped (its fingerprints are forgotten: their
// requests may be crawled again, never lost), and replaying fingerprints the
// checkpoint already holds (a crash between checkpoint and emptying) changes
// nothing.
//
// A job started with RFPDupeFilter (requests.fingerprints, no Bloom files)
// is resumed by importing its fingerprints into the filter, checkpointed at
// once. The reverse is not done: RFPDupeFilter ignores the Bloom files, and
// requests recorded only there may be crawled again.
const (
	// BloomFile is the Bloom filter's checkpoint in a job directory.
	BloomFile = "requests.bloom"
	// BloomLogFile holds the fingerprints added since the checkpoint.
	BloomLogFile = "requests.bloom.log"

	bloomMagic = "FRBLOOM\x00\x01"
)

// ErrBloomFile marks a Bloom checkpoint that cannot be used.
var ErrBloomFile = errors.New("dupefilters: bad Bloom filter checkpoint")

// bloomDisk is a BloomDupeFilter's job-directory side.
type bloomDisk struct {
	dir     string
	policy  jobdir.FsyncPolicy
	journal *seenFile
	pending []framework.Fingerprint
	closed  bool
}

// checkpointMin and checkpointMax bound the log's size (bytes) past which
// a Flush checkpoints: the size of the bit array, within these bounds, so
// that a checkpoint costs about what the log it replaces did.
const (
	checkpointMin = 1 << 20
	checkpointMax = 64 << 20
)

func (f *BloomDupeFilter) recordNew(fp framework.Fingerprint) {
	if f.disk.journal != nil {
		f.disk.pending = append(f.disk.pending, fp)
	}
}

// openDisk loads the checkpoint, replays the log, or imports an RFP job's
// fingerprint file.
func (f *BloomDupeFilter) openDisk() error {
	d := &f.disk
	if d.dir == "" || d.journal != nil {
		return nil
	}
	start := time.Now()
	cpPath := filepath.Join(d.dir, BloomFile)
	// A crash during a checkpoint leaves its temporary file: the checkpoint
	// it was to replace is whole.
	if leftovers, _ := filepath.Glob(filepath.Join(d.dir, BloomFile+".tmp-*")); len(leftovers) > 0 {
		for _, p := range leftovers {
			os.Remove(p)
		}
	}
	logPath := filepath.Join(d.dir, BloomLogFile)
	hadCheckpoint, err := f.loadCheckpoint(cpPath)
	if err != nil {
		return err
	}
	_, logErr := os.Stat(logPath)
	fresh := !hadCheckpoint && errors.Is(logErr, os.ErrNotExist)
	journal, set, rep, err := openSeenFile(logPath, d.policy)
	if err != nil {
		return err
	}
	if rep.Dropped > 0 {
		f.log.Warn().Str("file", logPath).Int64("offset", rep.DroppedAt).Int64("dropped_bytes", rep.Dropped).Bool("torn_tail", rep.TornTail).
			Msg("Dropped unreadable bytes of the Bloom filter's log; their requests may be crawled again")
		if f.stats != nil {
			f.stats.Inc(StatDroppedBytes, rep.Dropped)
		}
	}
	set.Each(func(fp framework.Fingerprint) bool { f.filter.Add(fp[:]); return true })
	d.journal = journal
	if fresh {
		if err := f.importRFP(); err != nil {
			journal.close()
			d.journal = nil
			return err
		}
	}
	n := f.ApproximateCount()
	if n > 0 {
		f.log.Info().Uint64("fingerprints", n).Int("replayed", rep.Fingerprints).Dur("took", time.Since(start)).
			Msgf("Loaded a Bloom filter of about %d fingerprints from %s", n, d.dir)
	}
	if f.stats != nil {
		f.stats.Set(StatLoaded, int64(n))
	}
	return nil
}

// importRFP loads an RFP job's requests.fingerprints into the filter and
// checkpoints it, so that a job started with RFPDupeFilter resumes with
// this filter.
func (f *BloomDupeFilter) importRFP() error {
	path := filepath.Join(f.disk.dir, jobdir.FingerprintsFile)
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dupefilters: import %s into the Bloom filter: %w", path, err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return fmt.Errorf("dupefilters: import %s into the Bloom filter: %w", path, err)
	}
	var set *fpSet
	rep, err := readSeenFile(io.NewSectionReader(file, 0, st.Size()), st.Size(), &set)
	if errors.Is(err, errForeign) {
		// Not a fingerprint file: nothing to import; it stays where it is
		// for RFPDupeFilter (which keeps it aside) or a repair.
		f.log.Warn().Str("file", path).Msg("Not a fingerprint file (garbage or another file copied over it): nothing imported into the Bloom filter; requests seen before may be crawled again")
		return f.checkpoint()
	}
	if err != nil {
		return fmt.Errorf("dupefilters: import %s into the Bloom filter: %w", path, err)
	}
	set.Each(func(fp framework.Fingerprint) bool { f.filter.Add(fp[:]); return true })
	if uint64(rep.Fingerprints) > f.capacity {
		f.log.Warn().Int("fingerprints", rep.Fingerprints).Uint64("capacity", f.capacity).
			Msg("The job holds more fingerprints than DUPEFILTER_BLOOM_CAPACITY: the false-positive rate will exceed DUPEFILTER_BLOOM_ERROR_RATE")
	}
	if err := f.checkpoint(); err != nil {
		return err
	}
	f.log.Info().Str("file", path).Int("fingerprints", rep.Fingerprints).
		Msgf("Imported %d fingerprints of %s into the Bloom filter (%s)", rep.Fingerprints, jobdir.FingerprintsFile, BloomFile)
	return nil
}

// loadCheckpoint reads the checkpoint at path into the filter, refusing one
// of other parameters; it reports whether there was one.
func (f *BloomDupeFilter) loadCheckpoint(path string) (bool, error) {
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dupefilters: %w", err)
	}
	defer file.Close()
	capacity, rate, filter, err := readBloomCheckpoint(bufio.NewReaderSize(file, 1<<20))
	if err != nil {
		return false, fmt.Errorf("%w: %s: %w (a checkpoint is written whole, so this is damage from outside: restore it, or delete %s and %s to forget the job's fingerprints)", ErrBloomFile, path, err, BloomFile, BloomLogFile)
	}
	if capacity != f.capacity || rate != f.rate {
		return false, fmt.Errorf("dupefilters: %s holds a Bloom filter for DUPEFILTER_BLOOM_CAPACITY %d, DUPEFILTER_BLOOM_ERROR_RATE %v; this crawl asks for %d, %v: a Bloom filter cannot be resized, so resume the job with its own values",
			path, capacity, rate, f.capacity, f.rate)
	}
	f.filter = filter
	return true, nil
}

// readBloomCheckpoint decodes a checkpoint.
func readBloomCheckpoint(r io.Reader) (capacity uint64, rate float64, filter *bloom.BloomFilter, err error) {
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	tr := io.TeeReader(r, crc)
	head := make([]byte, len(bloomMagic)+16)
	if _, err := io.ReadFull(tr, head); err != nil {
		return 0, 0, nil, fmt.Errorf("header: %w", err)
	}
	if string(head[:len(bloomMagic)]) != bloomMagic {
		return 0, 0, nil, fmt.Errorf("bad magic %q", head[:len(bloomMagic)])
	}
	capacity = binary.BigEndian.Uint64(head[len(bloomMagic):])
	rate = math.Float64frombits(binary.BigEndian.Uint64(head[len(bloomMagic)+8:]))
	filter = &bloom.BloomFilter{}
	n, err := filter.ReadFrom(tr)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("bit array at offset %d: %w", len(head), err)
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(r, sum[:]); err != nil {
		return 0, 0, nil, fmt.Errorf("checksum at offset %d: %w", int64(len(head))+n, err)
	}
	if got := binary.BigEndian.Uint32(sum[:]); got != want {
		return 0, 0, nil, fmt.Errorf("checksum %08x, contents sum to %08x", got, want)
	}
	if extra, _ := io.Copy(io.Discard, r); extra > 0 {
		return 0, 0, nil, fmt.Errorf("%d bytes after the checksum", extra)
	}
	return capacity, rate, filter, nil
}

// checkpoint replaces requests.bloom with the filter, atomically, then
// empties the log. It must hold only flushed fingerprints: it is called
// with nothing pending.
func (f *BloomDupeFilter) checkpoint() error {
	d := &f.disk
	path := filepath.Join(d.dir, BloomFile)
	tmp, err := os.CreateTemp(d.dir, BloomFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("dupefilters: checkpoint %s: %w", path, err)
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("dupefilters: checkpoint %s: %w", path, err)
	}
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	bw := bufio.NewWriterSize(tmp, 1<<20)
	w := io.MultiWriter(bw, crc)
	head := append([]byte(bloomMagic), make([]byte, 16)...)
	binary.BigEndian.PutUint64(head[len(bloomMagic):], f.capacity)
	binary.BigEndian.PutUint64(head[len(bloomMagic)+8:], math.Float64bits(f.rate))
	if _, err := w.Write(head); err != nil {
		return fail(err)
	}
	if _, err := f.filter.WriteTo(w); err != nil {
		return fail(err)
	}
	if _, err := bw.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dupefilters: checkpoint %s: %w", path, err)
	}
	if err := recordio.SyncDir(d.dir); err != nil {
		return fmt.Errorf("dupefilters: checkpoint %s: %w", path, err)
	}
	if d.journal != nil {
		return d.journal.reset()
	}
	return nil
}

// reset empties the fingerprint file down to its magic, durably.
func (sf *seenFile) reset() error {
	if sf.broken != nil {
		return sf.broken
	}
	if err := sf.f.Truncate(int64(len(seenMagic))); err != nil {
		return fmt.Errorf("dupefilters: empty %s: %w", sf.path, err)
	}
	if err := sf.f.Sync(); err != nil {
		return fmt.Errorf("dupefilters: fsync %s: %w", sf.path, err)
	}
	sf.size, sf.seq, sf.unsynced = int64(len(seenMagic)), 0, time.Time{}
	return nil
}

// checkpointDue says whether the log has outgrown the bit array.
func (f *BloomDupeFilter) checkpointDue() bool {
	limit := min(max(int64(f.filter.Cap()/8), checkpointMin), checkpointMax)
	return f.disk.journal.size >= limit
}

// Flush writes the fingerprints recorded since the last Flush to the log in
// one write, fsynced as JOBDIR_FSYNC says, and checkpoints the filter when
// the log has grown past its bound. The scheduler calls it after flushing
// its queues.
func (f *BloomDupeFilter) Flush() error { return f.flush(false) }

func (f *BloomDupeFilter) flush(force bool) error {
	d := &f.disk
	if d.journal == nil {
		if d.closed {
			return fmt.Errorf("dupefilters: %w", framework.ErrClosed)
		}
		return nil
	}
	if err := d.journal.append(d.pending, force); err != nil {
		return err
	}
	d.pending = d.pending[:0]
	if f.checkpointDue() {
		return f.checkpoint()
	}
	return nil
}

func (f *BloomDupeFilter) closeDisk() error {
	d := &f.disk
	if d.journal == nil {
		return nil
	}
	err := f.flush(true)
	if err == nil && d.journal.size > int64(len(seenMagic)) {
		err = f.checkpoint()
	}
	err = errors.Join(err, d.journal.close())
	d.journal, d.pending, d.closed = nil, nil, true
	return err
}

// ReadBloomCheckpoint reads the Bloom filter checkpoint at path without
// changing it and returns the capacity and error rate it was made for; for
// inspection tools. An error wraps ErrBloomFile when the checkpoint is
// damaged (a resume refuses the job then).
func ReadBloomCheckpoint(path string) (capacity uint64, rate float64, err error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("dupefilters: %w", err)
	}
	defer file.Close()
	capacity, rate, _, err = readBloomCheckpoint(bufio.NewReaderSize(file, 1<<20))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %s: %w", ErrBloomFile, path, err)
	}
	return capacity, rate, nil
}
