package redisbloom

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Version is the layout version written in a filter's header.
const Version = 1

// headerPrefix starts every header value; anything else under the key is foreign.
const headerPrefix = "frontier-bloom/"

// maxPartBits is the most bits one bitmap key holds: a Redis string's limit
// of 2^32 bits. Tests lower it to exercise split bitmaps.
var maxPartBits uint64 = 1 << 32

// maxBatch bounds the fingerprints of one script call, so that a large Add
// does not hold Redis in one script for long; the calls of one Add still go
// in one round trip, pipelined.
const maxBatch = 4096

// Params are a filter's parameters, as stored in its header key.
type Params struct {
	Bits      uint64  // m, the bits of the filter
	Hashes    int     // k, the bits per fingerprint
	Capacity  uint64  // fingerprints the filter is sized for
	ErrorRate float64 // false-positive rate at Capacity
	PartBits  uint64  // bits per bitmap key (the last may hold fewer)
}

// Optimal returns the parameters of a filter holding capacity fingerprints
// at errorRate false positives: m = -n ln p / (ln 2)², k = m/n ln 2.
func Optimal(capacity uint64, errorRate float64) (Params, error) {
	if capacity == 0 {
		return Params{}, fmt.Errorf("%w: capacity 0: give the number of fingerprints the filter must hold (DUPEFILTER_BLOOM_CAPACITY)", ErrConfig)
	}
	if !(errorRate > 0 && errorRate < 1) {
		return Params{}, fmt.Errorf("%w: error rate %v: it must be between 0 and 1, exclusive (DUPEFILTER_BLOOM_ERROR_RATE)", ErrConfig, errorRate)
	}
	n := float64(capacity)
	m := math.Ceil(-n * math.Log(errorRate) / (math.Ln2 * math.Ln2))
	k := max(1, int(math.Round(m/n*math.Ln2)))
	p := Params{Bits: uint64(m), Hashes: k, Capacity: capacity, ErrorRate: errorRate}
	p.PartBits = min(p.Bits, maxPartBits)
	if p.parts() > math.MaxUint16 {
		return Params{}, fmt.Errorf("%w: capacity %d at error rate %v needs %d bits, more than %d bitmap keys hold", ErrConfig, capacity, errorRate, p.Bits, math.MaxUint16)
	}
	return p, nil
}

func (p Params) parts() uint64 { return (p.Bits + p.PartBits - 1) / p.PartBits }

// header is the value of the header key.
func (p Params) header() string {
	return fmt.Sprintf("%s%d bits=%d hashes=%d capacity=%d error_rate=%s part_bits=%d", headerPrefix, Version,
		p.Bits, p.Hashes, p.Capacity, strconv.FormatFloat(p.ErrorRate, 'g', -1, 64), p.PartBits)
}

// parseHeader reads a header value; ok is false when it is not one.
func parseHeader(s string) (p Params, version int, ok bool) {
	fields := strings.Fields(s)
	if len(fields) == 0 || !strings.HasPrefix(fields[0], headerPrefix) {
		return p, 0, false
	}
	version, err := strconv.Atoi(strings.TrimPrefix(fields[0], headerPrefix))
	if err != nil {
		return p, 0, false
	}
	for _, f := range fields[1:] {
		name, val, _ := strings.Cut(f, "=")
		var err error
		switch name {
		case "bits":
			p.Bits, err = strconv.ParseUint(val, 10, 64)
		case "hashes":
			p.Hashes, err = strconv.Atoi(val)
		case "capacity":
			p.Capacity, err = strconv.ParseUint(val, 10, 64)
		case "error_rate":
			p.ErrorRate, err = strconv.ParseFloat(val, 64)
		case "part_bits":
			p.PartBits, err = strconv.ParseUint(val, 10, 64)
		}
		if err != nil {
			return p, version, false
		}
	}
	return p, version, true
}

// Filter is a Bloom filter in Redis. Its methods may be called from any
// number of goroutines and processes at once.
type Filter struct {
	client redis.UniversalClient
	key    string
	keys   []string // the header key, then the bitmap keys
	params Params
	header string
}

// New opens the filter under key, creating it when the key does not exist,
// sized for capacity fingerprints at errorRate false positives. An existing
// filter with other parameters, or a key holding something else, is an
// error naming the key. The bitmap keys are named after key and share its
// hash tag ({tag}), or take key itself as their tag when it has none.
func New(client redis.UniversalClient, key string, capacity uint64, errorRate float64) (*Filter, error) {
	p, err := Optimal(capacity, errorRate)
	if err != nil {
		return nil, err
	}
	keys, err := partKeys(key, p.parts())
	if err != nil {
		return nil, err
	}
	f := &Filter{client: client, key: key, keys: keys, params: p, header: p.header()}
	ctx := context.Background()
	if err := f.openHeader(ctx); err != nil {
		return nil, err
	}
	return f, f.checkParts(ctx)
}

// openHeader writes the header when the key is free, else checks it.
func (f *Filter) openHeader(ctx context.Context) error {
	set, err := f.client.SetNX(ctx, f.key, f.header, 0).Result()
	if err != nil {
		return fmt.Errorf("redisbloom: create header %s: %w", f.key, err)
	}
	if set {
		return nil
	}
	got, err := f.client.Get(ctx, f.key).Result()
	if err != nil {
		if isWrongType(err) {
			return fmt.Errorf("%w: %s is not a string (%v): delete it or choose another key", ErrForeign, f.key, err)
		}
		return fmt.Errorf("redisbloom: read header %s: %w", f.key, err)
	}
	return f.checkHeader(got)
}

func (f *Filter) checkHeader(got string) error {
	if got == f.header {
		return nil
	}
	p, version, ok := parseHeader(got)
	switch {
	case !ok:
		return fmt.Errorf("%w: %s holds %q, not a Bloom filter header: delete it or choose another key", ErrForeign, f.key, truncate(got, 80))
	case version != Version:
		return fmt.Errorf("%w: %s is a Bloom filter of layout version %d; this build reads version %d", ErrParams, f.key, version, Version)
	}
	return fmt.Errorf("%w: %s was created with capacity %d, error rate %v (%d bits, %d hashes), not capacity %d, error rate %v (%d bits, %d hashes): open it with its own parameters or delete it",
		ErrParams, f.key, p.Capacity, p.ErrorRate, p.Bits, p.Hashes, f.params.Capacity, f.params.ErrorRate, f.params.Bits, f.params.Hashes)
}

// checkParts refuses bitmap keys that hold something other than strings.
func (f *Filter) checkParts(ctx context.Context) error {
	pipe := f.client.Pipeline()
	cmds := make([]*redis.StatusCmd, len(f.keys)-1)
	for i, k := range f.keys[1:] {
		cmds[i] = pipe.Type(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redisbloom: check bitmap keys of %s: %w", f.key, err)
	}
	for i, c := range cmds {
		if t := c.Val(); t != "string" && t != "none" {
			return fmt.Errorf("%w: bitmap key %s of filter %s is a %s: delete it or choose another key", ErrForeign, f.keys[i+1], f.key, t)
		}
	}
	return nil
}

// partKeys names the header key and the bitmap keys, all in one hash slot.
func partKeys(key string, parts uint64) ([]string, error) {
	if key == "" {
		return nil, fmt.Errorf("%w: empty key", ErrConfig)
	}
	prefix := key
	if hashTag(key) == "" {
		if strings.Contains(key, "}") {
			return nil, fmt.Errorf("%w: key %q has a '}' but no {hash tag}: put its hash tag in braces", ErrConfig, key)
		}
		prefix = "{" + key + "}"
	}
	keys := []string{key}
	for i := range parts {
		keys = append(keys, prefix+":bits:"+strconv.FormatUint(i, 10))
	}
	return keys, nil
}

// hashTag returns key's Redis Cluster hash tag: what lies between its first
// '{' and the next '}', when not empty.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return ""
	}
	return key[i+1 : i+1+j]
}

// Key returns the filter's header key.
func (f *Filter) Key() string { return f.key }

// Keys returns every key of the filter: the header key, then the bitmaps.
func (f *Filter) Keys() []string { return append([]string(nil), f.keys...) }

// Params returns the filter's parameters.
func (f *Filter) Params() Params { return f.params }

// Add records fps and reports, for each, whether it was new: whether some of
// its bits were unset. Checking and setting are one atomic step, so that of
// concurrent Adds of one fingerprint exactly one reports it new. Every
// fingerprint must be 20 bytes. Add makes one round trip.
func (f *Filter) Add(ctx context.Context, fps [][]byte) ([]bool, error) {
	absent, err := f.run(ctx, fps, true)
	return absent, err
}

// Exists reports, for each of fps, whether it may have been added (true) or
// certainly was not (false). It changes nothing.
func (f *Filter) Exists(ctx context.Context, fps [][]byte) ([]bool, error) {
	absent, err := f.run(ctx, fps, false)
	if err != nil {
		return nil, err
	}
	for i := range absent {
		absent[i] = !absent[i]
	}
	return absent, nil
}

// run sets (or reads) the bits of fps and returns, per fingerprint, whether
// one of its bits was unset.
func (f *Filter) run(ctx context.Context, fps [][]byte, set bool) ([]bool, error) {
	for i, fp := range fps {
		if len(fp) != 20 {
			return nil, fmt.Errorf("%w: fingerprint %d of the batch is %d bytes", ErrFingerprint, i, len(fp))
		}
	}
	out := make([]bool, len(fps))
	var calls []*call
	for start := 0; start < len(fps); start += maxBatch {
		calls = append(calls, f.newCall(fps[start:min(start+maxBatch, len(fps))], start, set))
	}
	pending := calls
	for attempt := 0; len(pending) > 0; attempt++ {
		pipe := f.client.Pipeline()
		for _, c := range pending {
			c.cmd = script.EvalSha(ctx, pipe, f.keys, c.args...)
		}
		_, _ = pipe.Exec(ctx) // errors are read per command
		var noscript []*call
		for _, c := range pending {
			err := c.cmd.Err()
			if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") && attempt == 0 {
				noscript = append(noscript, c) // it did not run: run it again
				continue
			}
			if err != nil {
				return nil, f.scriptError(err)
			}
			if err := c.read(out); err != nil {
				return nil, fmt.Errorf("redisbloom: %s: %w", f.key, err)
			}
		}
		if len(noscript) > 0 {
			if err := script.Load(ctx, f.client).Err(); err != nil {
				return nil, fmt.Errorf("redisbloom: load script for %s: %w", f.key, err)
			}
		}
		pending = noscript
	}
	return out, nil
}

// Plan returns what a caller's own script needs to check and set fps in
// the same step as its other writes: the arguments of this package's
// script (the header, then per bitmap key its index, operation count and
// BITFIELD SET operations), and for each fingerprint the 1-based positions,
// in the list of old bit values the script's loop collects, of its bits: it
// was (probably) seen when all of them were 1. The script's keys are
// f.Keys(), and ScriptLoop is the loop that runs the arguments.
func (f *Filter) Plan(fps [][]byte) (args []any, bitsOf [][]int, err error) {
	for i, fp := range fps {
		if len(fp) != 20 {
			return nil, nil, fmt.Errorf("%w: fingerprint %d of the batch is %d bytes", ErrFingerprint, i, len(fp))
		}
	}
	c := f.newCall(fps, 0, true)
	bitsOf = make([][]int, len(fps))
	r := 0
	for _, owners := range c.owner {
		for _, i := range owners {
			r++
			bitsOf[i] = append(bitsOf[i], r)
		}
	}
	return c.args, bitsOf, nil
}

// ScriptLoop is the bit-setting loop of Plan's arguments, as Lua source:
// it expects keyBase and argBase (the positions of the header key and of
// the header argument), and leaves the old bit values in a table out.
const ScriptLoop = `
local hdr = redis.call('GET', KEYS[keyBase])
if hdr ~= ARGV[argBase] then
  if not hdr then hdr = 'missing' end
  return redis.error_reply('FRONTIERBLOOM ' .. hdr)
end
local width = tonumber(ARGV[argBase + 1])
local per = 1990 * width
local out = {}
local i = argBase + 2
while i <= #ARGV do
  local key = KEYS[tonumber(ARGV[i]) + keyBase + 1]
  local last = i + 1 + tonumber(ARGV[i + 1]) * width
  local s = i + 2
  while s <= last do
    local e = math.min(s + per - 1, last)
    local r = redis.call('BITFIELD', key, unpack(ARGV, s, e))
    for j = 1, #r do out[#out + 1] = r[j] end
    s = e + 1
  end
  i = last + 1
end
`

// ScriptError turns an error of a script built on ScriptLoop into the
// errors Filter's methods return (a filter deleted or recreated with other
// parameters, a foreign key).
func (f *Filter) ScriptError(err error) error { return f.scriptError(err) }

// call is one script call: the BITFIELD arguments of a batch of
// fingerprints, grouped by bitmap key, and which fingerprint each bit is of.
type call struct {
	start int     // index of the batch's first fingerprint in the Add
	owner [][]int // per bitmap key, the batch index of each bit's fingerprint
	args  []any
	cmd   *redis.Cmd
}

// opsPerCall bounds the BITFIELD operations of one redis.call in the script,
// under Lua's unpack limit of 8000 values.
const opsPerCall = 1990

// newCall builds the script arguments for fps: the header, then per
// bitmap key its index, its operation count and its BITFIELD operations.
func (f *Filter) newCall(fps [][]byte, start int, set bool) *call {
	parts := int(f.params.parts())
	offsets := make([][]uint32, parts)
	c := &call{start: start, owner: make([][]int, parts)}
	var pos []byte
	for i, fp := range fps {
		pos = f.appendPositions(pos[:0], fp)
		for j := 0; j < len(pos); j += 6 {
			part := binary.LittleEndian.Uint16(pos[j:])
			offsets[part] = append(offsets[part], binary.LittleEndian.Uint32(pos[j+2:]))
			c.owner[part] = append(c.owner[part], i)
		}
	}
	op, width := "GET", 3
	if set {
		op, width = "SET", 4
	}
	n := 2
	for _, offs := range offsets {
		n += 2 + width*len(offs)
	}
	c.args = make([]any, 0, n)
	c.args = append(c.args, f.header, width)
	for part, offs := range offsets {
		if len(offs) == 0 {
			continue
		}
		c.args = append(c.args, part, len(offs))
		for _, off := range offs {
			if set {
				c.args = append(c.args, op, "u1", off, 1)
			} else {
				c.args = append(c.args, op, "u1", off)
			}
		}
	}
	return c
}

// read marks in out the fingerprints of which some bit was unset, from the
// script's reply: per bitmap key in argument order, the old bit values.
func (c *call) read(out []bool) error {
	reply, ok := c.cmd.Val().([]any)
	if !ok {
		return fmt.Errorf("the script answered %T, not an array", c.cmd.Val())
	}
	r := 0
	for _, owners := range c.owner {
		for _, i := range owners {
			if r >= len(reply) {
				return fmt.Errorf("the script answered %d bits of %d", len(reply), r+1)
			}
			if v, _ := reply[r].(int64); v == 0 {
				out[c.start+i] = true
			}
			r++
		}
	}
	if r != len(reply) {
		return fmt.Errorf("the script answered %d bits, not %d", len(reply), r)
	}
	return nil
}

func (f *Filter) scriptError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "FRONTIERBLOOM "); i >= 0 {
		got := msg[i+len("FRONTIERBLOOM "):]
		if got == "missing" {
			return fmt.Errorf("redisbloom: the header key %s of the filter is gone (deleted or flushed while the filter was open): reopen the filter", f.key)
		}
		if herr := f.checkHeader(got); herr != nil {
			return herr
		}
	}
	if isWrongType(err) {
		return fmt.Errorf("%w: a key of filter %s (%s) holds another type: %v", ErrForeign, f.key, strings.Join(f.keys, ", "), err)
	}
	return fmt.Errorf("redisbloom: %s: %w", f.key, err)
}

// appendPositions appends fp's bit positions as (uint16 part, uint32
// offset) little-endian pairs, by enhanced double hashing over the
// fingerprint's bytes.
func (f *Filter) appendPositions(dst, fp []byte) []byte {
	x := binary.LittleEndian.Uint64(fp[0:8])
	y := binary.LittleEndian.Uint64(fp[8:16]) ^ uint64(binary.LittleEndian.Uint32(fp[16:20]))<<32
	m, pb := f.params.Bits, f.params.PartBits
	for i := range uint64(f.params.Hashes) {
		bit := x % m
		x += y
		y += i
		dst = binary.LittleEndian.AppendUint16(dst, uint16(bit/pb))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(bit%pb))
	}
	return dst
}

// Stats describe a filter's contents.
type Stats struct {
	Bits    uint64 // m
	Hashes  int    // k
	Bytes   int64  // bytes of the bitmaps as Redis stores them
	SetBits int64  // bits set
	// Count estimates the fingerprints added: -m/k ln(1 - X/m) for X bits set.
	Count float64
}

// Stats counts the filter's set bits and bytes (BITCOUNT and STRLEN of each
// bitmap, in one round trip) and estimates how many fingerprints it holds.
func (f *Filter) Stats(ctx context.Context) (Stats, error) {
	pipe := f.client.Pipeline()
	var counts, lens []*redis.IntCmd
	for _, k := range f.keys[1:] {
		counts = append(counts, pipe.BitCount(ctx, k, nil))
		lens = append(lens, pipe.StrLen(ctx, k))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		if isWrongType(err) {
			return Stats{}, fmt.Errorf("%w: a bitmap key of filter %s holds another type: %v", ErrForeign, f.key, err)
		}
		return Stats{}, fmt.Errorf("redisbloom: stats of %s: %w", f.key, err)
	}
	st := Stats{Bits: f.params.Bits, Hashes: f.params.Hashes}
	for i := range counts {
		st.SetBits += counts[i].Val()
		st.Bytes += lens[i].Val()
	}
	m, k := float64(st.Bits), float64(st.Hashes)
	if x := float64(st.SetBits); x < m {
		st.Count = -m / k * math.Log(1-x/m)
	} else {
		st.Count = math.Inf(1)
	}
	return st, nil
}

func isWrongType(err error) bool {
	return err != nil && (redis.HasErrorPrefix(err, "WRONGTYPE") || strings.Contains(err.Error(), "WRONGTYPE"))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
