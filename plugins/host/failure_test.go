package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// Start-up failures are typed errors naming the plugin, and leave no process.
func TestStartFailures(t *testing.T) {
	missing := testDecl(t)
	missing.Command = []string{filepath.Join(t.TempDir(), "no-such-plugin")}
	wrongSum := testDecl(t)
	wrongSum.SHA256 = make([]byte, 32)
	timeout := testDecl(t, "sleep")
	timeout.StartTimeout = 300 * time.Millisecond
	mismatch := testDecl(t)
	mismatch.Provides = []Provide{{Name: "test.MemoryFifo", Kind: registry.KindDupeFilter}, {Name: "test.Missing", Kind: registry.KindQueue}}
	for _, tc := range []struct {
		name    string
		decl    Decl
		want    error
		message string
	}{
		{"missing binary", missing, ErrBinaryNotFound, "does not exist"},
		{"checksum mismatch", wrongSum, ErrChecksum, "sha256"},
		{"stdout before handshake", testDecl(t, "stdout"), ErrHandshake, "hello from a plugin that prints to stdout"},
		{"start timeout", timeout, ErrStartTimeout, "start_timeout"},
		{"protocol version", testDecl(t, "v99"), ErrProtocolVersion, "Plugin version: 99"},
		{"net/rpc plugin", testDecl(t, "netrpc"), ErrHandshake, "gRPC"},
		{"exits at start", testDecl(t, "exit"), ErrPluginExited, "cannot open its database"},
		{"describe mismatch", mismatch, ErrMismatch, `"test.Missing" is declared but not provided`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, zerolog.Nop(), tc.decl)
			name := tc.decl.Provides[0].Name
			var err error
			if tc.decl.Provides[0].Kind == registry.KindQueue {
				_, err = e.queue(t, name, t.TempDir())
			} else {
				f, _, gerr := registry.Get[framework.DupeFilterFactory](e.reg, name)
				if gerr != nil {
					t.Fatal(gerr)
				}
				_, err = f(t.Context(), e.c)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want one wrapping %v", err, tc.want)
			}
			if tc.want == ErrProtocolVersion && !strings.Contains(err.Error(), "speaks plugin protocol versions 1 and 2") {
				t.Fatalf("error %q does not name the host's versions", err)
			}
			if !strings.Contains(err.Error(), `"testplugin"`) || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("error %q does not name the plugin and say %q", err, tc.message)
			}
			// The failure is sticky: no second start.
			if tc.decl.Provides[0].Kind == registry.KindQueue {
				if _, err2 := e.queue(t, name, t.TempDir()); !errors.Is(err2, tc.want) {
					t.Fatalf("second use: %v", err2)
				}
			}
			if pids := processes(tc.decl.Command[0]); len(pids) > 0 && tc.want != ErrPluginExited {
				// assertNoProcesses (cleanup) waits a little; right after
				// a failed start nothing may be left either.
				time.Sleep(100 * time.Millisecond)
				if pids := processes(tc.decl.Command[0]); len(pids) > 0 {
					t.Fatalf("plugin processes left after a failed start: %v", pids)
				}
			}
		})
	}
}

// A plugin killed with SIGKILL in the middle of a run fails the next call
// with a PluginExitedError naming it; a new process reopening the key finds
// everything the plugin acknowledged: pushes that reached it, and requests
// popped and not acknowledged (redelivered), but nothing acknowledged.
func TestPluginKilled(t *testing.T) {
	key := filepath.Join(t.TempDir(), "q")
	d := sqliteDecl(t)
	d.BatchSize = 16
	e := newEnv(t, zerolog.Nop(), d)
	q := e.mustQueue(t, "sqlitequeue.FifoDiskQueue", key)
	const n = 1000
	for i := range n {
		if err := q.Push(req(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.(framework.Flusher).Flush(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	for i := range 100 {
		r, err := q.Pop()
		if err != nil || r == nil {
			t.Fatalf("Pop: %v, %v", r, err)
		}
		if i%2 == 0 {
			if err := q.(framework.Acker).Ack(r); err != nil {
				t.Fatal(err)
			}
			acked[reqID(t, r)] = true
		}
	}
	// The acks go out with the next round trip.
	if err := q.(framework.Flusher).Flush(); err != nil {
		t.Fatal(err)
	}
	// Pushes the plugin never saw (still in the host's buffer) are lost with
	// the host's state; they were never acknowledged.
	for i := n; i < n+5; i++ {
		if err := q.Push(req(i)); err != nil {
			t.Fatal(err)
		}
	}

	pid := pluginPID(t, e.m, "sqlitequeue")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for err == nil { // the next calls that need the plugin fail
			_, err = q.Pop()
			if err == nil {
				err = q.(framework.Flusher).Flush()
			}
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("calls on a killed plugin hang")
	}
	var pe *PluginExitedError
	if !errors.Is(err, ErrPluginExited) || !errors.As(err, &pe) || pe.Plugin != "sqlitequeue" {
		t.Fatalf("error = %v, want a PluginExitedError for sqlitequeue", err)
	}
	if !strings.Contains(pe.Status, "killed") {
		t.Errorf("exit status %q does not say killed", pe.Status)
	}
	// Every later call fails the same way, and so does opening a queue.
	if err := q.Push(req(0)); !errors.Is(err, ErrPluginExited) {
		t.Fatalf("Push after the exit = %v", err)
	}
	if _, err := e.queue(t, "sqlitequeue.FifoDiskQueue", filepath.Join(t.TempDir(), "other")); !errors.Is(err, ErrPluginExited) {
		t.Fatalf("factory after the exit = %v", err)
	}
	if err := q.Close(); !errors.Is(err, ErrPluginExited) {
		t.Fatalf("Close after the exit = %v", err)
	}

	// A new manager (a restarted crawl) reopens the key.
	e2 := newEnv(t, zerolog.Nop(), d)
	q2 := e2.mustQueue(t, "sqlitequeue.FifoDiskQueue", key)
	defer q2.Close()
	if got, want := q2.Len(), n-len(acked); got != want {
		t.Fatalf("Len after reopen = %d, want %d", got, want)
	}
	got := map[int]bool{}
	redelivered := 0
	for {
		r, err := q2.Pop()
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			break
		}
		i := reqID(t, r)
		if acked[i] || got[i] {
			t.Fatalf("request %d delivered again (acknowledged or duplicated)", i)
		}
		got[i] = true
		if r.Redelivered {
			redelivered++
		}
		if err := q2.(framework.Acker).Ack(r); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if !acked[i] && !got[i] {
			t.Fatalf("request %d lost", i)
		}
	}
	// 50 popped and not acknowledged, plus what the host had prefetched.
	if redelivered < 50 {
		t.Fatalf("%d redelivered, want at least the 50 popped and not acknowledged", redelivered)
	}
}

func req(i int) *framework.Request {
	return framework.MustRequest("https://example.com/" + strconv.Itoa(i))
}

func reqID(t *testing.T, r *framework.Request) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL, "https://example.com/"))
	if err != nil {
		t.Fatalf("unexpected request %s", r)
	}
	return n
}

// A plugin that dies in the middle of a call (a panic) fails that call with
// a PluginExitedError that quotes its last error lines.
func TestPluginPanics(t *testing.T) {
	d := testDecl(t, "panic")
	d.BatchSize = 2
	e := newEnv(t, zerolog.Nop(), d)
	q := e.mustQueue(t, "test.MemoryFifo", "k")
	for i := range 20 {
		if err := q.Push(req(i)); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	for i := 0; i < 20 && err == nil; i++ {
		_, err = q.Pop()
	}
	var pe *PluginExitedError
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v, want a PluginExitedError", err)
	}
	if !strings.Contains(err.Error(), "panic: testplugin: asked to panic") || !strings.Contains(pe.Status, "exit status 2") {
		t.Fatalf("error %q does not quote the panic and the exit status", err)
	}
}

// Plugin stderr logs reach zerolog at their level, with the plugin's name.
func TestPluginLogs(t *testing.T) {
	var buf syncBuffer
	log := zerolog.New(&buf).Level(zerolog.DebugLevel)
	e := newEnv(t, log, testDecl(t, "log"))
	q := e.mustQueue(t, "test.MemoryFifo", "k")
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	lines := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	for sc.Scan() {
		line := sc.Text()
		for _, msg := range []string{"debug line", "configured", "warning line", "error line"} {
			if strings.Contains(line, `"message":"`+msg+`"`) {
				lines[msg] = line
			}
		}
	}
	for msg, level := range map[string]string{"debug line": "debug", "configured": "info", "warning line": "warn", "error line": "error"} {
		line, ok := lines[msg]
		if !ok {
			t.Fatalf("no log line %q in:\n%s", msg, buf.String())
		}
		if !strings.Contains(line, `"level":"`+level+`"`) || !strings.Contains(line, `"plugin":"testplugin"`) {
			t.Errorf("line %s: want level %s and plugin testplugin", line, level)
		}
	}
	if !strings.Contains(lines["warning line"], `"n":7`) {
		t.Errorf("fields lost: %s", lines["warning line"])
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Manager.Close pushes buffered requests out and returns prefetched ones to
// the plugin before stopping it: nothing is lost and nothing is marked
// redelivered.
func TestManagerCloseFlushes(t *testing.T) {
	key := filepath.Join(t.TempDir(), "q")
	d := sqliteDecl(t)
	e := newEnv(t, zerolog.Nop(), d)
	q := e.mustQueue(t, "sqlitequeue.FifoDiskQueue", key)
	for i := range 100 {
		if err := q.Push(req(i)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := q.Pop() // prefetches a batch
	if err != nil || reqID(t, r) != 0 {
		t.Fatalf("Pop = %v, %v", r, err)
	}
	if err := q.(framework.Acker).Ack(r); err != nil {
		t.Fatal(err)
	}
	for i := 100; i < 110; i++ { // buffered, not sent
		if err := q.Push(req(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	if len(e.m.Running()) != 0 {
		t.Fatal("plugin still running after Close")
	}
	if err := q.Push(req(0)); err == nil {
		t.Fatal("Push after Manager.Close succeeded")
	}
	e2 := newEnv(t, zerolog.Nop(), d)
	q2 := e2.mustQueue(t, "sqlitequeue.FifoDiskQueue", key)
	defer q2.Close()
	if q2.Len() != 109 {
		t.Fatalf("Len after Manager.Close and reopen = %d, want 109", q2.Len())
	}
	for i := 1; i < 110; i++ {
		r, err := q2.Pop()
		if err != nil || r == nil {
			t.Fatalf("Pop: %v, %v", r, err)
		}
		if reqID(t, r) != i || r.Redelivered {
			t.Fatalf("popped %s (redelivered %v), want %d not redelivered", r, r.Redelivered, i)
		}
		if err := q2.(framework.Acker).Ack(r); err != nil {
			t.Fatal(err)
		}
	}
}

const helperHostEnv = "FRONTIER_TEST_HELPER_HOST"

// helperHost runs in a child process (see TestHostKilledLeavesNoPlugin): it
// starts the test plugin, prints its PID and waits to be killed.
func helperHost() {
	bin := os.Getenv(helperHostEnv)
	d := Decl{Name: "testplugin", Command: []string{bin}, InsecureSkipChecksum: true, StartTimeout: 30 * time.Second, CallTimeout: 30 * time.Second, BatchSize: 8,
		Provides: []Provide{{Name: "test.MemoryFifo", Kind: registry.KindQueue}}}
	m := NewManager([]Decl{d})
	reg := registry.New()
	if err := m.RegisterIn(reg); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	c := framework.NewCrawler(framework.NewSettings(), reg, nil)
	f, _, _ := registry.Get[framework.QueueFactory](reg, "test.MemoryFifo")
	if _, err := f(context.Background(), c, framework.QueueConfig{Key: "k"}); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("pid", pluginPIDOf(m))
	time.Sleep(time.Minute)
	os.Exit(0)
}

func pluginPIDOf(m *Manager) int {
	p := m.procs[0]
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client.ReattachConfig().Pid
}

// A host killed with SIGKILL (no Manager.Close) leaves no plugin running:
// the parent-death signal on Linux, the SDK's parent watch elsewhere.
func TestHostKilledLeavesNoPlugin(t *testing.T) {
	bin := testBin(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperHostEnv+"="+bin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { assertNoProcesses(t, bin) })
	sc := bufio.NewScanner(out)
	pid := 0
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "pid %d", &pid); err == nil {
			break
		}
		t.Log(sc.Text())
	}
	if pid == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("helper host did not report its plugin")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) == nil {
		// It may be a zombie of the init process; check it runs.
		if len(processes(bin)) > 0 {
			t.Fatalf("plugin %d still running after its host was killed", pid)
		}
	}
}

// lateWriter records what is written to it after it is closed.
type lateWriter struct {
	mu     sync.Mutex
	closed bool
	late   []string
}

func (w *lateWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.late = append(w.late, string(p))
	}
	return len(p), nil
}

func (w *lateWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

func (w *lateWriter) lateLines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.late...)
}

// Once Describe or Manager.Close has returned, nothing more reaches the
// caller's logger, although go-plugin's stdio goroutine outlives Kill: a
// caller may free or reuse what its logger writes to.
func TestNoLogsAfterStop(t *testing.T) {
	// One P makes the stdio goroutine's last line come after Kill returns
	// far more often, as on a loaded machine.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var writers []*lateWriter
	for i := 0; i < 5; i++ {
		w := &lateWriter{}
		writers = append(writers, w)
		if _, err := Describe(context.Background(), []string{testBin(t), "chatty"}, 30*time.Second, zerolog.New(w).Level(zerolog.TraceLevel)); err != nil {
			t.Fatal(err)
		}
		w.close()

		w = &lateWriter{}
		writers = append(writers, w)
		e := newEnv(t, zerolog.New(w).Level(zerolog.TraceLevel), testDecl(t, "chatty"))
		q := e.mustQueue(t, "test.MemoryFifo", "k")
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if err := e.m.Close(); err != nil {
			t.Fatal(err)
		}
		w.close()
	}
	time.Sleep(300 * time.Millisecond)
	for i, w := range writers {
		if late := w.lateLines(); len(late) > 0 {
			t.Errorf("run %d: logged after the host let the plugin go:\n%s", i, strings.Join(late, ""))
		}
	}
}
