package jobdir

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"path/filepath"
	"slices"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/internal/recordio"
)

// InFlightFile is the name of the in-flight journal in a job directory.
const InFlightFile = "requests.inflight"

// Record types of the in-flight journal (the first payload byte).
const (
	ifEpoch   = 'E' // uvarint epoch: delivery IDs of this run are epoch<<40 | n
	ifDeliver = 'D' // uvarint ID, then the request record: handed out, in flight
	ifAck     = 'A' // uvarint IDs: finished
	ifGhost   = 'G' // uvarint IDs: handed out before a crash whose pop from its queue may not be durable
	ifSkip    = 'S' // uvarint IDs: ghosts popped from their queue again and dropped
	ifFlushed = 'F' // the queues were flushed: every pop before this record is durable
)

// idBits is how many low bits of a delivery ID count within one epoch (one
// opening of the job); the bits above are the epoch.
const idBits = 40

// compactMin is the size below which the in-flight journal is never rewritten.
const compactMin = 4 << 20

// Delivery is a request handed out from a disk queue: its delivery ID and
// its record (framework.EncodeRequest's bytes, opaque here).
type Delivery struct {
	ID     uint64
	Record []byte
}

// InFlightState is what an in-flight journal says after a crash or a stop.
type InFlightState struct {
	// Epoch is the newest epoch recorded (0 for an empty journal).
	Epoch uint64
	// InFlight are the requests handed out and never reported finished, in
	// the order they were handed out; they must be handed out again.
	InFlight []Delivery
	// Ghosts are delivery IDs handed out before a crash whose removal from
	// their disk queue may not have become durable: when a queue returns one
	// of them again, it must be dropped. Sorted.
	Ghosts []uint64
	// Valid is how many bytes of the file were read; Dropped how many bytes of
	// torn tail followed them.
	Valid, Dropped int64
	// Corrupt are the damaged stretches of the file that valid records
	// follow (not a crash's doing): they were skipped and the records after
	// them applied.
	Corrupt []recordio.Region
	// Records counts the records read.
	Records int
	// Lost is true when the journal of a job opened before was missing
	// (Job.OpenInFlight): the requests in flight at its last stop are lost.
	Lost bool
}

// DecodeInFlight decodes an in-flight journal file. A torn tail is not an
// error (see Valid and Dropped); a whole record that does not decode is an
// error wrapping [ErrCorruptJournal] with its offset.
func DecodeInFlight(data []byte) (InFlightState, error) {
	var st InFlightState
	index := map[uint64]int{} // ID -> position in st.InFlight
	ghosts := map[uint64]bool{}
	var pending []uint64 // IDs handed out since the last flushed marker
	rep, err := scanFrames(data, func(off int64, p []byte) error {
		st.Records++
		typ, body := p[0], p[1:]
		switch typ {
		case ifEpoch:
			e, n := binary.Uvarint(body)
			if n <= 0 || n != len(body) || e == 0 || e >= 1<<(64-idBits) {
				return fmt.Errorf("%w: bad epoch record at offset %d", ErrCorruptJournal, off)
			}
			st.Epoch = max(st.Epoch, e)
		case ifDeliver:
			id, n := binary.Uvarint(body)
			if n <= 0 || id == 0 {
				return fmt.Errorf("%w: bad delivery record at offset %d", ErrCorruptJournal, off)
			}
			rec := body[n:]
			// The epoch record may be lost to damage: IDs carry their epoch.
			st.Epoch = max(st.Epoch, id>>idBits)
			if i, ok := index[id]; ok {
				st.InFlight[i].Record = rec
			} else {
				index[id] = len(st.InFlight)
				st.InFlight = append(st.InFlight, Delivery{ID: id, Record: rec})
			}
			pending = append(pending, id)
		case ifAck, ifGhost, ifSkip:
			return eachUvarint(body, off, func(id uint64) {
				switch typ {
				case ifAck:
					if i, ok := index[id]; ok {
						st.InFlight[i].Record = nil
						delete(index, id)
					}
				case ifGhost:
					ghosts[id] = false
				case ifSkip:
					if _, ok := ghosts[id]; ok {
						ghosts[id] = true
					}
				}
			})
		case ifFlushed:
			if len(body) != 0 {
				return fmt.Errorf("%w: bad flushed record at offset %d", ErrCorruptJournal, off)
			}
			pending = pending[:0]
			for id, skipped := range ghosts {
				if skipped {
					delete(ghosts, id)
				}
			}
		default:
			return fmt.Errorf("%w: unknown record type %q at offset %d", ErrCorruptJournal, typ, off)
		}
		return nil
	})
	st.Valid, st.Dropped, st.Corrupt = rep.Valid(int64(len(data))), rep.Torn.Len, rep.Corrupt
	if err != nil {
		return st, err
	}
	live := st.InFlight[:0]
	for _, d := range st.InFlight {
		if d.Record != nil {
			live = append(live, d)
		}
	}
	st.InFlight = live
	for _, id := range pending {
		ghosts[id] = false
	}
	for id := range ghosts {
		st.Ghosts = append(st.Ghosts, id)
	}
	slices.Sort(st.Ghosts)
	return st, nil
}

// InFlightLoss tells whether a resume of a job opened before loses the
// in-flight journal whose bytes are data (exists false: there is no file),
// and why ("" when it does not). Every opened job's journal starts with its
// epoch record (its first open writes it whole, atomically), so a file
// missing, empty, or holding no whole record is lost. foreign is true when
// the file is not an in-flight journal at all (a whole record it never
// writes: another file in its place, or garbage): a resume keeps it aside
// and starts a new journal.
func InFlightLoss(data []byte, exists bool) (why string, foreign bool) {
	if !exists {
		return "missing", false
	}
	if len(data) == 0 {
		return "empty (cut to nothing)", false
	}
	st, err := DecodeInFlight(data)
	if err != nil {
		return fmt.Sprintf("not an in-flight journal (%v)", err), true
	}
	if st.Records == 0 {
		return fmt.Sprintf("holds no whole record in its %d bytes (cut short or damaged)", len(data)), true
	}
	return "", false
}

func eachUvarint(b []byte, off int64, fn func(uint64)) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty ID list at offset %d", ErrCorruptJournal, off)
	}
	for len(b) > 0 {
		id, n := binary.Uvarint(b)
		if n <= 0 || id == 0 {
			return fmt.Errorf("%w: bad ID list at offset %d", ErrCorruptJournal, off)
		}
		fn(id)
		b = b[n:]
	}
	return nil
}

// InFlightJournal makes the scheduler's in-flight bookkeeping durable, for
// any disk queue: a request handed out from a disk queue is recorded with its
// record (Deliver) and stays in flight until it is reported finished (Ack).
// After a crash, every request recorded and not acknowledged is handed out
// again, and a queue that returns one of them again (its pop had not become
// durable) has it dropped, so that nothing else is delivered twice.
//
// Appends are buffered and written by Flush, which orders them around the
// flush of the queues: deliveries and skips before it (a pop is never durable
// before its delivery record), acknowledgements after it (a request is never
// durably finished before the requests it produced are durably queued).
//
// Methods are not safe for concurrent use.
type InFlightJournal struct {
	log      *appendLog
	epoch    uint64
	seq      uint64
	inflight map[uint64]string // records in flight, for compaction
	ghosts   map[uint64]struct{}
	pre      []byte   // delivery and skip frames, written before the queues flush
	acks     []uint64 // written after
	skips    []uint64
	unmarked bool // deliveries or skips written with no flushed marker after them yet
	compact  int64
	logger   zerolog.Logger
}

// OpenInFlight opens the in-flight journal at path, recovers its state,
// starts a new epoch and rewrites the journal compacted (atomically). The
// returned state lists what must be handed out again and the dropped tail.
func OpenInFlight(path string, policy FsyncPolicy, logger zerolog.Logger) (*InFlightJournal, InFlightState, error) {
	data, err := readJournal(path)
	if err != nil {
		return nil, InFlightState{}, err
	}
	st, err := DecodeInFlight(data)
	if err != nil {
		return nil, st, fmt.Errorf("%s: %w", path, err)
	}
	if st.Dropped > 0 {
		logger.Warn().Str("file", path).Int64("offset", st.Valid).Int64("dropped_bytes", st.Dropped).
			Msg("Dropped the torn tail of the in-flight journal (writes a crash interrupted)")
	}
	if len(st.Corrupt) > 0 {
		reportCorrupt(logger, path, st.Corrupt, "in-flight journal",
			"a delivery lost there is a request lost; an acknowledgement lost there brings a finished request back")
		if _, err := MoveAside(filepath.Dir(path), path, true); err != nil {
			return nil, st, err
		}
	}
	j := &InFlightJournal{
		epoch:    st.Epoch + 1,
		inflight: make(map[uint64]string, len(st.InFlight)),
		ghosts:   make(map[uint64]struct{}, len(st.Ghosts)),
		logger:   logger,
	}
	if j.epoch >= 1<<(64-idBits) {
		return nil, st, fmt.Errorf("%w: %s: epoch %d exhausted", ErrCorruptJournal, path, st.Epoch)
	}
	for _, d := range st.InFlight {
		j.inflight[d.ID] = string(d.Record)
	}
	for _, id := range st.Ghosts {
		j.ghosts[id] = struct{}{}
	}
	if err := j.rewrite(path, policy, st.InFlight); err != nil {
		return nil, st, err
	}
	return j, st, nil
}

// rewrite replaces the journal with its live contents: the epoch, the
// ghosts, the requests in flight (in the given order) and a flushed marker.
func (j *InFlightJournal) rewrite(path string, policy FsyncPolicy, order []Delivery) error {
	ghosts := make([]uint64, 0, len(j.ghosts))
	for id := range j.ghosts {
		ghosts = append(ghosts, id)
	}
	slices.Sort(ghosts)
	b := EncodeInFlight(j.epoch, order, ghosts)
	if err := WriteFileAtomic(path, b, 0o644); err != nil {
		return err
	}
	l, err := openAppendLog(path, policy)
	if err != nil {
		return err
	}
	if j.log != nil {
		// The old file is already replaced; its descriptor has nothing left
		// to write.
		j.log.f.Close()
	}
	j.log = l
	j.compact = max(compactMin, 4*int64(len(b)))
	return nil
}

// EncodeInFlight returns a compacted in-flight journal: the epoch, the
// ghosts, the deliveries in order, and a flushed marker (the deliveries' pops
// are durable; the ghosts say which may not be).
func EncodeInFlight(epoch uint64, inflight []Delivery, ghosts []uint64) []byte {
	b := appendFrame(nil, binary.AppendUvarint([]byte{ifEpoch}, epoch))
	b = appendIDFrames(b, ifGhost, ghosts)
	for _, d := range inflight {
		p := binary.AppendUvarint([]byte{ifDeliver}, d.ID)
		b = appendFrame(b, append(p, d.Record...))
	}
	return appendFrame(b, []byte{ifFlushed})
}

// appendIDFrames appends frames of type typ listing ids, split so that no
// frame exceeds a few megabytes. Each frame is built in place in b, which
// grows once for all of them.
func appendIDFrames(b []byte, typ byte, ids []uint64) []byte {
	size := (len(ids)>>18 + 1) * (recordio.Overhead + 1)
	for _, id := range ids {
		size += (bits.Len64(id|1) + 6) / 7
	}
	b = slices.Grow(b, size)
	for len(ids) > 0 {
		n := min(len(ids), 1<<18)
		f, start := recordio.Begin(b)
		f = append(f, typ)
		for _, id := range ids[:n] {
			f = binary.AppendUvarint(f, id)
		}
		var err error
		if b, err = recordio.End(f, start, recordio.Meta{}); err != nil {
			// 1<<18 IDs of at most 10 bytes each are within frame limits.
			panic("jobdir: " + err.Error())
		}
		ids = ids[n:]
	}
	return b
}

// NewID returns a delivery ID no other request of this job has had.
func (j *InFlightJournal) NewID() uint64 {
	j.seq++
	return j.epoch<<idBits | j.seq
}

// Deliver records that the request with delivery ID id and record rec was
// handed out. rec is copied.
func (j *InFlightJournal) Deliver(id uint64, rec []byte) {
	j.inflight[id] = string(rec)
	appendDelivery(j, id, rec)
	j.spill()
}

// DeliverString is Deliver for a record held in a string, which is kept as
// it is (not copied).
func (j *InFlightJournal) DeliverString(id uint64, rec string) {
	j.inflight[id] = rec
	appendDelivery(j, id, rec)
	j.spill()
}

// preWriteAt is the size from which the buffered delivery records are
// written out at once, without waiting for the next flush: a delivery
// record may always reach the file early (WriteDeliveries does the same
// before a disk queue is written), and a bounded buffer stays in the CPU
// caches instead of doubling up to tens of megabytes between flushes.
const preWriteAt = 1 << 20

// spill writes the buffered delivery records when they pass preWriteAt.
// A failed write leaves them buffered: the next Flush or WriteDeliveries
// writes them again and returns the error if it persists.
func (j *InFlightJournal) spill() {
	if len(j.pre) >= preWriteAt {
		_ = j.WriteDeliveries()
	}
}

// appendDelivery appends a delivery frame to the buffered records.
func appendDelivery[R []byte | string](j *InFlightJournal, id uint64, rec R) {
	b, start := recordio.Begin(j.pre)
	b = append(b, ifDeliver)
	b = binary.AppendUvarint(b, id)
	b = append(b, rec...)
	b, err := recordio.End(b, start, recordio.Meta{})
	if err != nil {
		// Only an oversized payload fails, and the record codec bounds records.
		panic("jobdir: " + err.Error())
	}
	j.pre = b
}

// IsGhost reports whether id was handed out before a crash and may still be
// in its queue: a pop returning it must be dropped with Skip.
func (j *InFlightJournal) IsGhost(id uint64) bool {
	_, ok := j.ghosts[id]
	return ok
}

// Skip records that a ghost was popped from its queue and dropped.
func (j *InFlightJournal) Skip(id uint64) {
	if _, ok := j.ghosts[id]; !ok {
		return
	}
	delete(j.ghosts, id)
	j.skips = append(j.skips, id)
}

// Ack records that the request with delivery ID id is finished. It reports
// false when id is not in flight.
func (j *InFlightJournal) Ack(id uint64) bool {
	if _, ok := j.inflight[id]; !ok {
		return false
	}
	delete(j.inflight, id)
	j.acks = append(j.acks, id)
	return true
}

// InFlight returns the number of requests handed out and not acknowledged.
func (j *InFlightJournal) InFlight() int { return len(j.inflight) }

// Ghosts returns the number of ghosts not yet popped again.
func (j *InFlightJournal) Ghosts() int { return len(j.ghosts) }

// WriteDeliveries writes the buffered delivery and skip records now, without
// the flushed marker: the scheduler calls it before writing to a disk queue,
// which may make earlier pops durable as it writes.
func (j *InFlightJournal) WriteDeliveries() error {
	if j.log == nil {
		return ErrClosed
	}
	if len(j.skips) > 0 {
		j.pre = appendIDFrames(j.pre, ifSkip, j.skips)
		j.skips = j.skips[:0]
	}
	if len(j.pre) == 0 {
		return nil
	}
	if err := j.log.write(j.pre, false); err != nil {
		return err
	}
	j.pre = j.pre[:0]
	j.unmarked = true
	return nil
}

// Flush writes the buffered records around queues, the flush of the disk
// queues: deliveries and skips first, then queues(), then, when it
// succeeded, a flushed marker and the acknowledgements. Each write is one
// call, fsynced when the policy says so (force: always). When queues fails,
// its error is returned and the acknowledgements stay buffered.
func (j *InFlightJournal) Flush(queues func() error, force bool) error {
	if err := j.WriteDeliveries(); err != nil {
		return err
	}
	if j.unmarked {
		// Deliveries written before (WriteDeliveries) are fsynced now when
		// the policy says so: before the queues, which may make their pops
		// durable.
		if err := j.log.write(nil, force); err != nil {
			return err
		}
	}
	if queues != nil {
		if err := queues(); err != nil {
			return err
		}
	}
	var post []byte
	// The flushed marker says that the pops before it are durable. Under
	// interval, between two ticks, the queues were handed to the operating
	// system but not fsynced: after a power cut the marker could survive
	// without the pops (the system writes back in any order), and a
	// request both in flight and still queued would be handed out twice.
	// The marker waits for the next tick, which fsyncs the queues first;
	// until then the deliveries stay ghosts, which costs nothing but their
	// IDs (a ghost is dropped only when its queue returns it). A forced
	// flush (close) fsyncs the queues it closed.
	mark := j.unmarked && (force || !j.log.sync.policy.Tick.Between())
	if mark {
		post = appendFrame(post, []byte{ifFlushed})
	}
	if len(j.acks) > 0 {
		post = appendIDFrames(post, ifAck, j.acks)
	}
	if err := j.log.write(post, force); err != nil {
		return err
	}
	if mark {
		j.unmarked = false
	}
	j.acks = j.acks[:0]
	if j.log.size > j.compact && !j.unmarked && (j.log.sync.policy.Mode != FsyncInterval || !j.log.sync.dirty) {
		// The compacted journal ends with a flushed marker, which says the
		// pops before it are durable: under interval, it waits for a flush
		// that fsynced the queues.
		return j.Compact()
	}
	return nil
}

// Compact rewrites the journal with only what is live. Call it after a
// successful Flush (Flush does when the file has grown large).
func (j *InFlightJournal) Compact() error {
	if j.log == nil {
		return ErrClosed
	}
	if len(j.pre) > 0 || len(j.acks) > 0 || len(j.skips) > 0 || j.unmarked {
		return fmt.Errorf("jobdir: compact %s: unflushed records", j.log.path)
	}
	order := make([]Delivery, 0, len(j.inflight))
	for id, rec := range j.inflight {
		order = append(order, Delivery{ID: id, Record: []byte(rec)})
	}
	slices.SortFunc(order, func(a, b Delivery) int { return compareUint64(a.ID, b.ID) })
	return j.rewrite(j.log.path, j.log.sync.policy, order)
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Close writes nothing buffered (call Flush first), fsyncs and closes the file.
func (j *InFlightJournal) Close() error {
	if j.log == nil {
		return nil
	}
	err := j.log.close()
	j.log = nil
	return err
}

// inFlightPath returns the in-flight journal's path in dir.
func inFlightPath(dir string) string { return filepath.Join(dir, InFlightFile) }
