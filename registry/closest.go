package registry

import (
	"slices"
	"strings"
)

// Closest returns up to max candidates that look most like name: those that
// differ by a small edit distance (case-insensitive), or whose last dotted
// component equals name's. It serves error messages ("did you mean ...?") for
// component names and setting names alike.
func Closest(name string, candidates []string, max int) []string {
	type scored struct {
		name string
		d    int
	}
	lname := strings.ToLower(name)
	lbase := lastPart(lname)
	limit := len(lname)/3 + 1
	var found []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		d := distance(lname, lc)
		if lastPart(lc) == lbase && lbase != "" {
			d = min(d, 1)
		}
		if d <= limit {
			found = append(found, scored{c, d})
		}
	}
	slices.SortFunc(found, func(a, b scored) int {
		if a.d != b.d {
			return a.d - b.d
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]string, 0, max)
	for _, s := range found {
		if len(out) == max {
			break
		}
		out = append(out, s.name)
	}
	return out
}

func lastPart(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// distance is the Levenshtein distance between a and b, over bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
