package peers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Result is what a peer reported about its crawl.
type Result struct {
	// Pages is the number of responses the crawler received (retries and
	// error statuses included).
	Pages int64 `json:"pages"`
	// Seconds is the crawl's duration, as the crawler measured it: start-up
	// and the build are not included.
	Seconds float64 `json:"seconds"`
	// Items is the number of items (Scrapy) or of pages with a title (Colly).
	Items int64 `json:"items"`
	// PeakRSS is the crawling process's peak resident memory in bytes (0
	// when the system does not say).
	PeakRSS int64 `json:"-"`
}

// peakRSS returns the peak resident memory of cmd's finished process.
func peakRSS(cmd *exec.Cmd) int64 {
	if cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss * 1024
	}
	return 0
}

// PagesPerSecond returns Pages over Seconds, or 0 when Seconds is not positive.
func (r Result) PagesPerSecond() float64 {
	if r.Seconds <= 0 {
		return 0
	}
	return float64(r.Pages) / r.Seconds
}

// parseResult reads a peer's stdout: the last line that is a JSON object
// with a "pages" field.
func parseResult(stdout []byte) (Result, error) {
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(line), &fields) != nil || fields["pages"] == nil {
			continue
		}
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return Result{}, fmt.Errorf("%w: %q: %v", ErrNoResult, line, err)
		}
		return r, nil
	}
	return Result{}, fmt.Errorf("%w in %d bytes of output", ErrNoResult, len(stdout))
}

// tail keeps the last bytes written to it, for an error message.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if len(s) == t.max {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:] // drop the cut first line
		}
	}
	return strings.TrimSpace(s)
}

// stderrTail is how much of a peer's stderr an error quotes.
const stderrTail = 4 << 10

// run runs cmd, returning its stdout and the last keep bytes of its stderr
// (which is also copied to log when log is not nil). When ctx ends, the process gets
// SIGINT, so that Scrapy shuts down the way Ctrl-C does, and SIGKILL 10
// seconds later.
func run(cmd *exec.Cmd, log io.Writer, keep int) (stdout []byte, stderr string, err error) {
	var out bytes.Buffer
	errTail := &tail{max: keep}
	cmd.Stdout = &out
	cmd.Stderr = errTail
	if log != nil {
		cmd.Stderr = io.MultiWriter(errTail, log)
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	return out.Bytes(), errTail.String(), err
}

// runError describes a peer that failed: what went wrong and the end of its
// log.
func runError(what string, err error, stderr string) error {
	if stderr == "" {
		return fmt.Errorf("peers: %s: %w", what, err)
	}
	if len(stderr) > stderrTail {
		stderr = stderr[len(stderr)-stderrTail:]
	}
	return fmt.Errorf("peers: %s: %w; the end of its log:\n%s", what, err, stderr)
}
