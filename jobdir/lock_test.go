package jobdir

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestLockRefusesSecondOpen(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{PriorityQueue: "pq"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{PriorityQueue: "pq"})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want a *LockedError", err)
	}
	if le.Holder.PID != os.Getpid() || !strings.Contains(err.Error(), "PID "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("error %q does not name PID %d", err, os.Getpid())
	}
	info, held, err := ReadLock(dir)
	if err != nil || !held || info.PID != os.Getpid() {
		t.Fatalf("ReadLock = %+v, %v, %v; want our PID, held", info, held, err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, held, _ := ReadLock(dir); held {
		t.Fatal("lock still held after Close")
	}
	j2, err := Open(dir, Options{PriorityQueue: "pq"})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	j2.Close()
}

func TestLockTakesOverStaleLock(t *testing.T) {
	dead := deadPID(t)
	tests := []struct {
		name    string
		content string
		want    string // in the log
	}{
		{"dead process", fmt.Sprintf(`{"pid":%d,"host":"elsewhere","started":"2020-01-02T03:04:05Z"}`, dead), "stale job directory lock"},
		{"garbage", "not json at all", "does not parse"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			j, err := Open(dir, Options{PriorityQueue: "pq", Logger: zerolog.New(&logs)})
			if err != nil {
				t.Fatalf("Open over a stale lock: %v", err)
			}
			defer j.Close()
			if tt.want != "" && !strings.Contains(logs.String(), tt.want) {
				t.Errorf("log %q does not contain %q", logs.String(), tt.want)
			}
			if tt.want == "" && logs.Len() != 0 {
				t.Errorf("unexpected log %q", logs.String())
			}
			b, _ := os.ReadFile(filepath.Join(dir, LockFile))
			li, err := ParseLockInfo(b)
			if err != nil || li.PID != os.Getpid() {
				t.Fatalf("lock file now %q (%v), want our PID", b, err)
			}
		})
	}
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

const lockChildEnv = "FRONTIER_JOBDIR_LOCK_CHILD"

// TestLockHelperProcess is the child of TestLockSecondProcess: it opens the
// job directory named by the environment, says so, and holds it until its
// standard input closes.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv(lockChildEnv)
	if dir == "" {
		t.Skip("helper process for TestLockSecondProcess")
	}
	j, err := Open(dir, Options{PriorityQueue: "pq"})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	j.Close()
	os.Exit(0)
}

func TestLockSecondProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	_, err = Open(dir, Options{PriorityQueue: "pq"})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Open while the child holds the lock: %v", err)
	}
	if want := "PID " + strconv.Itoa(cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name the child's %s", err, want)
	}
	t.Log(err)

	// Killed without a chance to clean up, the child leaves a stale lock
	// file, which the next Open takes over.
	cmd.Process.Kill()
	cmd.Wait()
	stdin.Close()
	b, _ := os.ReadFile(filepath.Join(dir, LockFile))
	if li, _ := ParseLockInfo(b); li.PID != cmd.Process.Pid {
		t.Fatalf("lock file after the kill says %q, want the child's PID", b)
	}
	var logs bytes.Buffer
	j, err := Open(dir, Options{PriorityQueue: "pq", Logger: zerolog.New(&logs)})
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	j.Close()
	if !strings.Contains(logs.String(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("the takeover log %q does not name the dead PID", logs.String())
	}
}

func TestParseLockInfo(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	good, _ := json.Marshal(LockInfo{PID: 42, Host: "h", Started: started})
	tests := []struct {
		name    string
		in      string
		want    LockInfo
		wantErr bool
	}{
		{"written", string(good), LockInfo{PID: 42, Host: "h", Started: started}, false},
		{"empty", "", LockInfo{}, false},
		{"blank", " \n", LockInfo{}, false},
		{"zero pid", `{"pid":0}`, LockInfo{}, true},
		{"negative pid", `{"pid":-3}`, LockInfo{}, true},
		{"not json", "pid 42", LockInfo{}, true},
		{"truncated", string(good[:len(good)-3]), LockInfo{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLockInfo([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseLockInfo(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}
