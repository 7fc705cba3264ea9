package demosite

// The site's pseudo-random choices come from a hash of the seed, a stream
// (what is being chosen) and the indices of the thing chosen for, not from a
// generator's state, so that each page's links can be computed on demand,
// in any order, and come out the same in every process and Go version.

// Streams of pseudo-random choices.
const (
	streamKinds uint64 = iota + 1
	streamAssets
	streamPrivate
	streamLoop
	streamReset
	streamTarget   // a link's target page
	streamForm     // how a link's href is written
	streamRedirect // whether a link goes through a redirect alias
	streamFragment // whether a link carries a fragment
	streamFiller   // a page's body text
	streamWords    // the words of the filler paragraphs
)

// mix is splitmix64's finaliser: a bijection of uint64 whose outputs look
// independent for consecutive inputs.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// hash64 combines a seed, a stream and two indices into 64 pseudo-random bits.
func hash64(seed, stream, i, k uint64) uint64 {
	return mix(mix(mix(seed^stream*0x632be59bd9b4e019)^i) ^ k)
}

// rnd is hash64 with the site's seed.
func (s *Site) rnd(stream uint64, i, k int) uint64 {
	return hash64(uint64(s.cfg.Seed), stream, uint64(i), uint64(k))
}

// chance reports whether a choice of probability p falls true, using the
// top 53 bits of r.
func chance(r uint64, p float64) bool {
	return p > 0 && float64(r>>11)/(1<<53) < p
}

// sample returns k distinct numbers from [0, n) in a pseudo-random order
// chosen by stream: the first k steps of a Fisher–Yates shuffle, with the
// swapped cells kept in a map so that it takes O(k) memory.
func (s *Site) sample(stream uint64, n, k int) []int {
	k = min(k, n)
	out := make([]int, 0, k)
	moved := make(map[int]int, 2*k)
	at := func(x int) int {
		if v, ok := moved[x]; ok {
			return v
		}
		return x
	}
	for j := range k {
		t := j + int(s.rnd(stream, j, 0)%uint64(n-j))
		vj, vt := at(j), at(t)
		moved[t] = vj
		out = append(out, vt)
	}
	return out
}
