package layers

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/frontier-go/frontier"

// layers ranks the module's packages, lowest first, by path prefix (the
// longest prefix that matches wins). A package may import packages of a
// lower rank and its own subpackages, nothing else of the module.
type layer struct {
	prefix string
	rank   int
}

var layers = []layer{
	{"", 0}, // the module root: the embedded default settings
	{"registry", 0},
	{"internal/clock", 0},
	{"internal/recordio", 0},
	{"internal/demosite", 0},
	{"internal/redistest", 0},
	{"internal/lazyfs", 0},
	{"internal/redisbloom", 0},
	{"framework/urlnorm", 0},
	{"framework/recordpb", 0},
	{"plugins/proto", 0},
	{"plugins/wire", 10},
	{"framework", 20},
	{"plugins/sdk", 20},
	{"internal/queuetest", 30},
	{"internal/layers", 30},
	{"jobdir", 30},
	{"builtin/queues/disk", 32},
	{"builtin/queues/disk/disktest", 34},
	{"builtin/queues/filequeue", 36},
	{"builtin/queues/queuestore", 36},
	{"builtin/queues", 40},
	{"builtin/dupefilters", 40},
	{"builtin/fingerprinters", 40},
	{"builtin/schedulers", 40},
	{"builtin/redisfrontier", 40},
	{"plugins/host", 40},
	{"spiders", 44},
	{"engine/download", 44},
	{"engine/feed", 44},
	{"engine", 46},
	{"builtin", 50},
	{"plugins/examples", 50},
	{"crawl", 60},
	{"cmd", 70},
	{"cmd/frontier/internal/damage", 75}, // uses jobtools; only cmd/frontier, its parent, imports it
}

func rank(t *testing.T, pkg string) int {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	best, r := -1, -1
	for _, l := range layers {
		if (l.prefix == rel || l.prefix == "" || strings.HasPrefix(rel, l.prefix+"/")) && len(l.prefix) > best {
			if l.prefix == "" && rel != "" {
				continue
			}
			best, r = len(l.prefix), l.rank
		}
	}
	if r < 0 {
		t.Errorf("package %s has no layer: add it to the layers table", pkg)
	}
	return r
}

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		n++
		from := rank(t, p.ImportPath)
		for _, imp := range p.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if strings.HasPrefix(imp, p.ImportPath+"/") {
				continue // a package may use its own subpackages
			}
			if to := rank(t, imp); to >= from {
				t.Errorf("%s (layer %d) imports %s (layer %d): an arrow that does not point down", p.ImportPath, from, imp, to)
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list found %d packages", n)
	}
	if !slices.IsSortedFunc(layers, func(a, b layer) int { return a.rank - b.rank }) {
		t.Error("keep the layers table sorted by rank")
	}
}
