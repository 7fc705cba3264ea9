package damage

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
)

// Damage kinds.
const (
	Delete   = "delete"
	Truncate = "truncate"
	FlipBits = "flip"
	Garbage  = "garbage"
	Swap     = "swap"
)

// Kinds lists the damage kinds in the order reports print them.
var Kinds = []string{Delete, Truncate, FlipBits, Garbage, Swap}

// Case is one damage to one file of a job (two for a swap).
type Case struct {
	File   string // relative to the job directory
	Kind   string // of File, as the oracle classifies it
	Damage string // one of Kinds
	// Detail says where: the truncation offset, the flipped offsets, the
	// other file of a swap.
	Detail string
	// Seed makes a flip or a garbage case again.
	Seed uint64
	// Damaged are the byte ranges the damage touches, in the undamaged
	// job's files.
	Damaged []Span
	// Undetectable is set for a truncation at a frame boundary after the
	// first frame: the file is then a valid shorter file, as the job would
	// have left it had it stopped writing there, and nothing in it says
	// otherwise (a checkpoint may, in the queue store; the suite does not
	// count on it); and for the deletion of a queue file (layout files).
	// Verify cannot be expected to say what was cut; the resume must still
	// keep every intact request.
	Undetectable bool

	apply func(dir string) error
}

func (c Case) String() string {
	s := fmt.Sprintf("%s %s", c.Damage, c.File)
	if c.Detail != "" {
		s += " " + c.Detail
	}
	if c.Seed != 0 {
		s += fmt.Sprintf(" (seed %d)", c.Seed)
	}
	return s
}

// Apply damages the copy of the job in dir.
func (c Case) Apply(dir string) error {
	if err := c.apply(dir); err != nil {
		return fmt.Errorf("damage: %s: %w", c, err)
	}
	return nil
}

// CaseOptions bounds the cases [Cases] lists.
type CaseOptions struct {
	// MaxTruncations caps the truncations per file (0: every interesting
	// offset): the offsets kept are the first and last few and a random
	// choice of the others.
	MaxTruncations int
	// Flips is the number of bit-flip cases per file, each flipping from
	// 1 to FlipBits bits at random offsets over the whole file.
	Flips, FlipBits int
	// FilesPerKind, when not 0, damages only that many files of each kind
	// (a random choice): a job of the files layout has a queue file per
	// bucket, alike for the suite.
	FilesPerKind int
	// Seed drives every random choice; each case's own seed derives from it.
	Seed uint64
}

// Cases lists the damage cases of every file of the job o describes:
// delete, truncate at each interesting offset, flip bits, replace with
// garbage of the same length, swap with another file of the job.
func Cases(o *Oracle, opts CaseOptions) []Case {
	rng := rand.New(rand.NewPCG(opts.Seed, 0xda3a6e))
	var out []Case
	chosen := chooseFiles(o.Files, opts.FilesPerKind, rng)
	for i, f := range o.Files {
		if !chosen[f.Rel] {
			continue
		}
		whole := []Span{{File: f.Rel, Off: 0, End: max(f.Size, 1)}}
		// A FIFO queue deletes a segment it popped to its end, and a queue
		// file is written at the first flush after its bucket was
		// journaled: a queue without one of its files is a state the job
		// leaves too (after a crash).
		queueFile := f.Kind == KindQueueFile
		out = append(out, Case{File: f.Rel, Kind: f.Kind, Damage: Delete, Damaged: whole, Undetectable: queueFile,
			apply: func(dir string) error { return os.Remove(filepath.Join(dir, f.Rel)) }})
		for _, off := range truncations(f, opts.MaxTruncations, rng) {
			out = append(out, Case{File: f.Rel, Kind: f.Kind, Damage: Truncate, Detail: fmt.Sprintf("at %d of %d", off, f.Size),
				Damaged: []Span{{File: f.Rel, Off: off, End: f.Size}}, Undetectable: atBoundary(f, off),
				apply: func(dir string) error { return os.Truncate(filepath.Join(dir, f.Rel), off) }})
		}
		if f.Size > 0 {
			for range opts.Flips {
				out = append(out, flipCase(f, 1+rng.IntN(max(opts.FlipBits, 1)), rng.Uint64()|1))
			}
			seed := rng.Uint64() | 1
			out = append(out, Case{File: f.Rel, Kind: f.Kind, Damage: Garbage, Seed: seed, Damaged: whole,
				apply: func(dir string) error { return garbage(filepath.Join(dir, f.Rel), f.Size, seed) }})
		}
		if len(o.Files) > 1 {
			other := o.Files[(i+1+rng.IntN(len(o.Files)-1))%len(o.Files)]
			out = append(out, Case{File: f.Rel, Kind: f.Kind, Damage: Swap, Detail: "with " + other.Rel,
				Damaged: []Span{whole[0], {File: other.Rel, Off: 0, End: max(other.Size, 1)}},
				apply:   func(dir string) error { return swap(filepath.Join(dir, f.Rel), filepath.Join(dir, other.Rel)) }})
		}
	}
	return out
}

// chooseFiles returns the files to damage: all when perKind is 0, else
// perKind of each kind.
func chooseFiles(files []*FileInfo, perKind int, rng *rand.Rand) map[string]bool {
	chosen := map[string]bool{}
	byKind := map[string][]string{}
	for _, f := range files {
		byKind[f.Kind] = append(byKind[f.Kind], f.Rel)
	}
	for _, f := range files {
		rels := byKind[f.Kind]
		if perKind <= 0 || len(rels) <= perKind {
			chosen[f.Rel] = true
		}
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		rels := byKind[k]
		if perKind <= 0 || len(rels) <= perKind {
			continue
		}
		for _, i := range rng.Perm(len(rels))[:perKind] {
			chosen[rels[i]] = true
		}
	}
	return chosen
}

// truncations returns the interesting offsets to cut f at: 0, inside its
// header or magic, each frame boundary and one byte either side, the middle
// of each frame, the last byte; for a file without frames, its middle.
func truncations(f *FileInfo, limit int, rng *rand.Rand) []int64 {
	if f.Size == 0 {
		return nil
	}
	offs := []int64{0, f.Size - 1, f.Size / 2}
	if f.Header > 0 {
		offs = append(offs, 1, f.Header/2, f.Header-1, f.Header)
	}
	for _, s := range f.Frames {
		offs = append(offs, s.Off-1, s.Off, s.Off+1, s.Off+(s.End-s.Off)/2, s.End-1)
	}
	offs = slices.DeleteFunc(offs, func(o int64) bool { return o < 0 || o >= f.Size })
	slices.Sort(offs)
	offs = slices.Compact(offs)
	if limit <= 0 || len(offs) <= limit {
		return offs
	}
	// Keep the first and last few (a header, the tail) and a random choice
	// of the rest.
	keep := offs[:limit/3]
	keep = append(keep, offs[len(offs)-limit/3:]...)
	rest := slices.Clone(offs[limit/3 : len(offs)-limit/3])
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	keep = append(keep, rest[:limit-len(keep)]...)
	slices.Sort(keep)
	return keep
}

// atBoundary reports whether off is the start of a frame of f other than
// its first, or of its first when a header comes before (a fingerprint
// file or a queue file holding no records is one the job writes).
func atBoundary(f *FileInfo, off int64) bool {
	for i, s := range f.Frames {
		if (i > 0 || f.Header > 0) && s.Off == off {
			return true
		}
	}
	return false
}

// flipCase flips bits bits of f at offsets seed chooses.
func flipCase(f *FileInfo, bits int, seed uint64) Case {
	rng := rand.New(rand.NewPCG(seed, 0xf11b))
	type flip struct {
		off int64
		bit byte
	}
	flips := make([]flip, bits)
	var damaged []Span
	detail := "at"
	for i := range flips {
		flips[i] = flip{off: rng.Int64N(f.Size), bit: 1 << rng.IntN(8)}
		damaged = append(damaged, Span{File: f.Rel, Off: flips[i].off, End: flips[i].off + 1})
		detail += fmt.Sprintf(" %d", flips[i].off)
	}
	return Case{File: f.Rel, Kind: f.Kind, Damage: FlipBits, Detail: detail, Seed: seed, Damaged: damaged,
		apply: func(dir string) error {
			path := filepath.Join(dir, f.Rel)
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, fl := range flips {
				b[fl.off] ^= fl.bit
			}
			return os.WriteFile(path, b, 0o644)
		}}
}

// garbage replaces the file at path with size random bytes.
func garbage(path string, size int64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x9a7ba6e))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return os.WriteFile(path, b, 0o644)
}

// swap exchanges the contents of the files a and b.
func swap(a, b string) error {
	tmp := a + ".damage-swap"
	if err := os.Rename(a, tmp); err != nil {
		return err
	}
	if err := os.Rename(b, a); err != nil {
		return err
	}
	return os.Rename(tmp, b)
}
