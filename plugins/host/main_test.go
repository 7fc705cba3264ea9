package host

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// binDir holds the plugin binaries the tests build, once per test binary.
var binDir string

func TestMain(m *testing.M) {
	if os.Getenv(helperHostEnv) != "" {
		helperHost()
		return
	}
	dir, err := os.MkdirTemp("", "frontier-plugin-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildMu  sync.Mutex
	builtBin = map[string]string{}
)

// buildPlugin builds a plugin main package (an import path) once and
// returns the binary's path.
func buildPlugin(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtBin[pkg]; ok {
		return p
	}
	out := filepath.Join(binDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	builtBin[pkg] = out
	return out
}

const (
	sqlitePkg = "github.com/frontier-go/frontier/plugins/examples/sqlitequeue"
	testPkg   = "github.com/frontier-go/frontier/plugins/host/testdata/testplugin"
)

func sqliteBin(t testing.TB) string { return buildPlugin(t, sqlitePkg) }
func testBin(t testing.TB) string   { return buildPlugin(t, testPkg) }

func sha(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return s[:]
}

// sqliteDecl declares the example plugin with all it provides.
func sqliteDecl(t testing.TB) Decl {
	bin := sqliteBin(t)
	return Decl{
		Name:         "sqlitequeue",
		Command:      []string{bin},
		SHA256:       sha(t, bin),
		StartTimeout: 30 * time.Second,
		CallTimeout:  30 * time.Second,
		BatchSize:    DefaultBatchSize,
		Provides: []Provide{
			{Name: "sqlitequeue.FifoDiskQueue", Kind: registry.KindQueue},
			{Name: "sqlitequeue.LifoDiskQueue", Kind: registry.KindQueue},
			{Name: "sqlitequeue.PriorityQueue", Kind: registry.KindPriorityQueue},
			{Name: "sqlitequeue.DupeFilter", Kind: registry.KindDupeFilter},
		},
		Config: map[string]any{},
	}
}

// testDecl declares the test plugin started with args.
func testDecl(t testing.TB, args ...string) Decl {
	bin := testBin(t)
	return Decl{
		Name:         "testplugin",
		Command:      append([]string{bin}, args...),
		SHA256:       sha(t, bin),
		StartTimeout: 30 * time.Second,
		CallTimeout:  30 * time.Second,
		BatchSize:    DefaultBatchSize,
		Provides:     []Provide{{Name: "test.MemoryFifo", Kind: registry.KindQueue}},
		Config:       map[string]any{},
	}
}

// env is a manager with its registry and a crawler to call factories with.
type env struct {
	m   *Manager
	reg *registry.Registry
	c   *framework.Crawler
}

// newEnv registers decls in a fresh registry. At the end of the test it
// closes the manager and then checks that no plugin process is left.
func newEnv(t testing.TB, log zerolog.Logger, decls ...Decl) *env {
	t.Helper()
	var bins []string
	for _, d := range decls {
		bins = append(bins, d.Command[0])
	}
	t.Cleanup(func() { assertNoProcesses(t, bins...) })
	m := NewManager(decls)
	t.Cleanup(func() { m.Close() })
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterIn(reg); err != nil {
		t.Fatal(err)
	}
	c := framework.NewCrawler(framework.NewSettings(), reg, nil)
	c.Logger = log
	return &env{m: m, reg: reg, c: c}
}

func (e *env) queue(t testing.TB, name, key string) (framework.Queue, error) {
	t.Helper()
	f, _, err := registry.Get[framework.QueueFactory](e.reg, name)
	if err != nil {
		t.Fatal(err)
	}
	return f(context.Background(), e.c, framework.QueueConfig{Key: key})
}

func (e *env) mustQueue(t testing.TB, name, key string) framework.Queue {
	t.Helper()
	q, err := e.queue(t, name, key)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	return q
}

// processes returns the PIDs of live processes running one of bins.
func processes(bins ...string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		exe = strings.TrimSuffix(exe, " (deleted)")
		for _, b := range bins {
			if exe == b {
				// A zombie has no exe link, so this one runs.
				out = append(out, pid)
			}
		}
	}
	return out
}

// assertNoProcesses fails the test when a process runs one of bins after a
// few seconds' grace (a killed process takes a moment to be reaped).
func assertNoProcesses(t testing.TB, bins ...string) {
	t.Helper()
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		return // no /proc on this system
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := processes(bins...)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("plugin processes still running after the test: %v", pids)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pluginPID returns the PID of a started plugin.
func pluginPID(t testing.TB, m *Manager, name string) int {
	t.Helper()
	for _, p := range m.procs {
		if p.decl.Name != name {
			continue
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.client == nil {
			t.Fatalf("plugin %s not started", name)
		}
		rc := p.client.ReattachConfig()
		if rc == nil {
			t.Fatalf("plugin %s has no reattach config", name)
		}
		return rc.Pid
	}
	t.Fatalf("no plugin %s", name)
	return 0
}
