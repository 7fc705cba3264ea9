package jobdir

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/internal/recordio"
)

func openInFlight(t *testing.T, path string) (*InFlightJournal, InFlightState) {
	t.Helper()
	j, st, err := OpenInFlight(path, FsyncPolicy{Mode: FsyncNever}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return j, st
}

func ids(ds []Delivery) []uint64 {
	out := make([]uint64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

var errQueues = errors.New("queues failed")

func TestInFlightRedelivery(t *testing.T) {
	path := filepath.Join(t.TempDir(), InFlightFile)
	j, st := openInFlight(t, path)
	if len(st.InFlight) != 0 || len(st.Ghosts) != 0 || st.Epoch != 0 {
		t.Fatalf("empty journal state %+v", st)
	}
	a, b, c := j.NewID(), j.NewID(), j.NewID()
	if a>>idBits != 1 || b != a+1 || c != b+1 {
		t.Fatalf("IDs %x %x %x", a, b, c)
	}
	j.Deliver(a, []byte("rec-a"))
	j.Deliver(b, []byte("rec-b"))
	j.Deliver(c, []byte("rec-c"))
	if !j.Ack(b) || j.Ack(b) || j.InFlight() != 2 {
		t.Fatal("Ack bookkeeping")
	}
	if err := j.Flush(func() error { return nil }, false); err != nil {
		t.Fatal(err)
	}
	j.Close()

	// After a stop: a and c are in flight, nothing is a ghost (the queues
	// were flushed after the deliveries).
	j, st = openInFlight(t, path)
	if got := ids(st.InFlight); !slices.Equal(got, []uint64{a, c}) || len(st.Ghosts) != 0 {
		t.Fatalf("after reopen: in flight %x, ghosts %x", got, st.Ghosts)
	}
	if string(st.InFlight[0].Record) != "rec-a" || string(st.InFlight[1].Record) != "rec-c" {
		t.Fatalf("records %q %q", st.InFlight[0].Record, st.InFlight[1].Record)
	}
	if d := j.NewID(); d>>idBits != 2 {
		t.Fatalf("new epoch ID %x", d)
	}
	// The redelivered ones are still in flight until acknowledged.
	if j.InFlight() != 2 || !j.Ack(a) {
		t.Fatal("redelivered requests are not in flight")
	}
	if err := j.Flush(nil, false); err != nil {
		t.Fatal(err)
	}
	j.Close()
	_, st = openInFlight(t, path)
	if got := ids(st.InFlight); !slices.Equal(got, []uint64{c}) {
		t.Fatalf("after ack and reopen: %x", got)
	}
}

func TestInFlightGhosts(t *testing.T) {
	path := filepath.Join(t.TempDir(), InFlightFile)
	j, _ := openInFlight(t, path)
	a, b := j.NewID(), j.NewID()
	j.Deliver(a, []byte("a"))
	j.Deliver(b, []byte("b"))
	j.Ack(a)
	// The deliveries are written, the queues fail to flush: the pops may not
	// be durable, and the acknowledgement must not be written.
	if err := j.Flush(func() error { return errQueues }, false); !errors.Is(err, errQueues) {
		t.Fatalf("Flush = %v", err)
	}
	j.Close() // a crash: nothing more is written

	j, st := openInFlight(t, path)
	if got := ids(st.InFlight); !slices.Equal(got, []uint64{a, b}) {
		t.Fatalf("in flight %x, want both (the ack was not durable)", got)
	}
	if !slices.Equal(st.Ghosts, []uint64{a, b}) || !j.IsGhost(a) || !j.IsGhost(b) {
		t.Fatalf("ghosts %x", st.Ghosts)
	}
	// a's queue returns it again: dropped, and the drop made durable by a
	// successful flush. b is popped again but the flush does not complete.
	j.Skip(a)
	if j.IsGhost(a) {
		t.Fatal("a still a ghost after Skip")
	}
	if err := j.Flush(func() error { return nil }, false); err != nil {
		t.Fatal(err)
	}
	j.Skip(b)
	if err := j.Flush(func() error { return errQueues }, false); !errors.Is(err, errQueues) {
		t.Fatal(err)
	}
	j.Close()
	j, st = openInFlight(t, path)
	if !slices.Equal(st.Ghosts, []uint64{b}) {
		t.Fatalf("ghosts after skips %x, want only b", st.Ghosts)
	}
	// Ghosts survive any number of reopenings until skipped durably.
	j.Close()
	j, st = openInFlight(t, path)
	if !slices.Equal(st.Ghosts, []uint64{b}) || j.Ghosts() != 1 {
		t.Fatalf("ghosts after a second reopen %x", st.Ghosts)
	}
	j.Skip(b)
	j.Flush(func() error { return nil }, false)
	j.Close()
	_, st = openInFlight(t, path)
	if len(st.Ghosts) != 0 {
		t.Fatalf("ghosts %x", st.Ghosts)
	}
}

func TestInFlightCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), InFlightFile)
	j, _ := openInFlight(t, path)
	rec := bytes.Repeat([]byte("r"), 200)
	var keep []uint64
	for i := 0; i < 5000; i++ {
		id := j.NewID()
		j.Deliver(id, rec)
		if i%1000 == 0 {
			keep = append(keep, id)
		} else {
			j.Ack(id)
		}
		if i%100 == 0 {
			if err := j.Flush(nil, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := j.Flush(nil, false); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	if err := j.Compact(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if after.Size() >= before.Size()/10 {
		t.Fatalf("compaction: %d -> %d bytes", before.Size(), after.Size())
	}
	// The journal stays appendable after the rewrite.
	extra := j.NewID()
	j.Deliver(extra, rec)
	j.Flush(nil, false)
	j.Close()
	_, st := openInFlight(t, path)
	if got := ids(st.InFlight); !slices.Equal(got, append(keep, extra)) {
		t.Fatalf("in flight after compaction %x, want %x", got, append(keep, extra))
	}
}

// journalScript writes a journal through the real code, and returns its
// bytes and the expected state at every flush boundary.
func journalScript(t testing.TB) ([]byte, map[int64]InFlightState) {
	dir := t.TempDir()
	path := filepath.Join(dir, InFlightFile)
	expect := map[int64]InFlightState{}
	inflight := map[uint64][]byte{}
	var order []uint64
	var ghosts []uint64
	snapshot := func(j *InFlightJournal) {
		var st InFlightState
		for _, id := range order {
			if rec, ok := inflight[id]; ok {
				st.InFlight = append(st.InFlight, Delivery{ID: id, Record: rec})
			}
		}
		st.Ghosts = slices.Clone(ghosts)
		expect[j.log.size] = st
	}
	j, _, err := OpenInFlight(path, FsyncPolicy{Mode: FsyncNever}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	snapshot(j)
	var last uint64
	for round := 0; round < 6; round++ {
		for k := 0; k < 3; k++ {
			id := j.NewID()
			rec := []byte(fmt.Sprintf("request %d/%d", round, k))
			j.Deliver(id, rec)
			inflight[id] = rec
			order = append(order, id)
			last = id
		}
		if round%2 == 1 {
			j.Ack(last)
			delete(inflight, last)
			j.Ack(last - 2)
			delete(inflight, last-2)
		}
		if round == 3 {
			// The queues fail: the three deliveries of this round become
			// ghosts, and the acks stay buffered.
			if err := j.Flush(func() error { return errQueues }, false); err == nil {
				t.Fatal("Flush succeeded")
			}
			inflight[last], inflight[last-2] = []byte(fmt.Sprintf("request %d/2", round)), []byte(fmt.Sprintf("request %d/0", round))
			ghosts = []uint64{last - 2, last - 1, last}
			snapshot(j)
			break
		}
		if err := j.Flush(func() error { return nil }, false); err != nil {
			t.Fatal(err)
		}
		snapshot(j)
	}
	j.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, expect
}

// TestInFlightTruncatedEverywhere cuts a real journal at every byte: each
// cut decodes without error to the state of its last whole record, and at
// every flush boundary to exactly the state the writer had acknowledged.
func TestInFlightTruncatedEverywhere(t *testing.T) {
	data, expect := journalScript(t)
	for cut := 0; cut <= len(data); cut++ {
		st, err := DecodeInFlight(data[:cut])
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if st.Valid+st.Dropped != int64(cut) {
			t.Fatalf("cut at %d: valid %d + dropped %d", cut, st.Valid, st.Dropped)
		}
		if st.Dropped > 0 {
			prefix, _ := DecodeInFlight(data[:st.Valid])
			if !reflect.DeepEqual(st, withDropped(prefix, st.Dropped)) {
				t.Fatalf("cut at %d differs from its whole-record prefix", cut)
			}
		}
		if want, ok := expect[int64(cut)]; ok {
			got := InFlightState{InFlight: st.InFlight, Ghosts: st.Ghosts}
			if len(got.InFlight) == 0 {
				got.InFlight = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("at flush boundary %d:\n got %+v\nwant %+v", cut, got, want)
			}
		}
	}
	if len(expect) < 5 {
		t.Fatalf("only %d flush boundaries checked", len(expect))
	}
}

func withDropped(st InFlightState, dropped int64) InFlightState {
	st.Dropped = dropped
	return st
}

func TestDecodeInFlightCorrupt(t *testing.T) {
	frame := func(p ...byte) []byte { return appendFrame(nil, p) }
	tests := []struct {
		name string
		data []byte
	}{
		{"unknown type", frame('Z')},
		{"epoch zero", frame(ifEpoch, 0)},
		{"deliver without id", frame(ifDeliver)},
		{"ack without ids", frame(ifAck)},
		{"ack with bad varint", frame(ifAck, 0x80)},
		{"flushed with body", frame(ifFlushed, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeInFlight(tt.data); !errors.Is(err, ErrCorruptJournal) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// A flipped byte inside a record is a checksum failure: that record is
	// skipped as corrupt and every record after it applies.
	data, states := journalScript(t)
	want := states[int64(len(data))]
	data[20] ^= 0x40
	st, err := DecodeInFlight(data)
	if err != nil || st.Dropped != 0 || len(st.Corrupt) != 1 || st.Corrupt[0].Off != 0 {
		t.Fatalf("flipped byte: %+v, %v", st, err)
	}
	if st.Epoch != 1 || !reflect.DeepEqual(st.InFlight, want.InFlight) {
		t.Fatalf("flipped byte in the epoch record: epoch %d, in flight %v; want epoch 1, %v", st.Epoch, st.InFlight, want.InFlight)
	}
}

// Issue 10: an in-flight journal cut to nothing, holding no whole record,
// or replaced by another file refused the job or passed silently. Every
// opened job's journal starts with its epoch record: such a journal is
// lost like a missing one, reported (State.Lost), kept aside in
// damaged-<UTC>/, and a new journal starts.
func TestOpenInFlightLostJournal(t *testing.T) {
	damages := map[string][]byte{
		"empty":   {},
		"short":   {0x19, 0x00, 0x00},
		"foreign": EncodeBuckets([]string{"0", "-1s"}),
		"garbage": []byte("definitely not a journal, but long enough to hold frames"),
	}
	for name, data := range damages {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "job")
			j, err := Open(dir, Options{PriorityQueue: "frontier.pqueues.Priority"})
			if err != nil {
				t.Fatal(err)
			}
			ifj, st, err := j.OpenInFlight()
			if err != nil || st.Lost {
				t.Fatalf("first open: lost %v, %v", st.Lost, err)
			}
			ifj.Deliver(ifj.NewID(), []byte("request"))
			if err := ifj.Flush(func() error { return nil }, true); err != nil {
				t.Fatal(err)
			}
			ifj.Close()
			j.Close()
			path := filepath.Join(dir, InFlightFile)
			if why, _ := InFlightLoss(data, true); why == "" {
				t.Fatalf("InFlightLoss says %q holds a journal", data)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			j, err = Open(dir, Options{PriorityQueue: "frontier.pqueues.Priority"})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			ifj, st, err = j.OpenInFlight()
			if err != nil {
				t.Fatalf("a lost in-flight journal refused the job: %v", err)
			}
			defer ifj.Close()
			if !st.Lost || len(st.InFlight) != 0 {
				t.Fatalf("state %+v, want lost", st)
			}
			kept, _ := filepath.Glob(filepath.Join(dir, DamagedDirPrefix+"*", InFlightFile))
			if len(kept) != 1 {
				t.Fatalf("the lost file is not kept aside: %v", kept)
			}
		})
	}
}

// Under interval with the job's shared fsync clock, the flushed marker
// (which vouches for the pops before it) is written only by a flush inside
// a tick, or a forced one (close): between ticks the queues are not
// fsynced, and a power cut could keep the marker without the pops. Until
// then the deliveries read back as ghosts.
func TestInFlightFlushedMarkerWaitsForTick(t *testing.T) {
	path := filepath.Join(t.TempDir(), InFlightFile)
	tick := recordio.NewSyncTick()
	policy := FsyncPolicy{Mode: FsyncInterval, Interval: time.Hour, Tick: tick}
	j, _, err := OpenInFlight(path, policy, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	read := func() InFlightState {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		st, err := DecodeInFlight(b)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if !tick.Begin(time.Now(), time.Hour) { // the first tick
		t.Fatal("no first tick")
	}
	tick.End()
	id := j.NewID()
	j.Deliver(id, []byte("r"))
	if err := j.Flush(nil, false); err != nil {
		t.Fatal(err)
	}
	if st := read(); !slices.Equal(st.Ghosts, []uint64{id}) {
		t.Fatalf("between ticks: ghosts %v, want %d (no flushed marker yet)", st.Ghosts, id)
	}
	if err := j.Flush(nil, true); err != nil { // forced, as at close
		t.Fatal(err)
	}
	if st := read(); len(st.Ghosts) != 0 || !slices.Equal(ids(st.InFlight), []uint64{id}) {
		t.Fatalf("after a forced flush: ghosts %v, in flight %v; want none and %d", st.Ghosts, ids(st.InFlight), id)
	}
	id2 := j.NewID()
	j.Deliver(id2, []byte("r2"))
	if err := j.Flush(nil, false); err != nil {
		t.Fatal(err)
	}
	tick.Begin(time.Now().Add(2*time.Hour), time.Hour) // a tick: the next flush marks
	err = j.Flush(nil, false)
	tick.End()
	if err != nil {
		t.Fatal(err)
	}
	if st := read(); len(st.Ghosts) != 0 {
		t.Fatalf("after a tick: ghosts %v, want none", st.Ghosts)
	}
}

// Acknowledgements of more IDs than one frame lists (1<<18), of every
// uvarint size, are written as several frames built in place, and a resume
// reads every one of them back: only the requests not acknowledged are in
// flight again.
func TestInFlightManyAcks(t *testing.T) {
	path := filepath.Join(t.TempDir(), InFlightFile)
	j, _ := openInFlight(t, path)
	const n = 1<<18 + 1000
	var all []uint64
	for range n {
		id := j.NewID()
		j.Deliver(id, []byte("r"))
		all = append(all, id)
	}
	// IDs of other sizes: a store's delivery IDs start small.
	for _, id := range []uint64{1, 127, 128, 1 << 14, 1<<21 - 1} {
		j.Deliver(id, []byte("s"))
		all = append(all, id)
	}
	if err := j.Flush(nil, false); err != nil {
		t.Fatal(err)
	}
	keep := map[uint64]bool{all[5]: true, all[1<<18]: true, all[len(all)-1]: true, all[len(all)-3]: true}
	for _, id := range all {
		if !keep[id] && !j.Ack(id) {
			t.Fatalf("Ack(%d) of a request in flight", id)
		}
	}
	if err := j.Flush(nil, false); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeInFlight(data)
	if err != nil || st.Dropped != 0 {
		t.Fatalf("decode: %v, %d bytes dropped", err, st.Dropped)
	}
	got := ids(st.InFlight)
	slices.Sort(got)
	var want []uint64
	for id := range keep {
		want = append(want, id)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("in flight after the acks: %v, want %v", got, want)
	}
}
