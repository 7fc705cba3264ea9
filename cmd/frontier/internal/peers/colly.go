package peers

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// module is the path of frontier's module, whose root holds bench/colly.
const module = "github.com/frontier-go/frontier"

// collyDir is Colly's side of the benchmark, relative to the module root.
const collyDir = "bench/colly"

// CollyBinary is Colly's side of the benchmark, built. Run may be called
// from one goroutine at a time; Close removes the binary.
type CollyBinary struct {
	dir  string // the temporary directory holding the binary
	path string
}

// BuildColly builds bench/colly, a module of its own, into a temporary
// directory with the go command. It finds bench/colly under the module root:
// the first directory from the working directory up whose go.mod declares
// github.com/frontier-go/frontier. The build fetches Colly through the
// module proxy unless the module cache has it.
func BuildColly(ctx context.Context) (*CollyBinary, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("%w: Colly's side of the benchmark is built from source (%v)", ErrNoGo, err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	root, err := findModuleRoot(wd)
	if err != nil {
		return nil, err
	}
	src := filepath.Join(root, filepath.FromSlash(collyDir))
	if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
		return nil, fmt.Errorf("peers: Colly's side of the benchmark: %w", err)
	}
	dir, err := os.MkdirTemp("", "frontier-colly-")
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	b := &CollyBinary{dir: dir, path: filepath.Join(dir, "colly-bench")}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", b.path, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = b.Close()
		return nil, runError("go build in "+src, err, strings.TrimSpace(string(out)))
	}
	return b, nil
}

// Run crawls the site at startURL with Colly: Async, a LimitRule of
// Parallelism concurrency for every domain, AllowedDomains startURL's host,
// every a[href] followed, nothing persisted. The Result is the binary's own
// report: responses received, pages with a title, and the time from the
// first request to the end of the crawl. When ctx ends the crawl is stopped
// and ctx's error returned.
func (b *CollyBinary) Run(ctx context.Context, startURL string, concurrency int) (Result, error) {
	if concurrency <= 0 {
		concurrency = 16
	}
	cmd := exec.CommandContext(ctx, b.path, "-url", startURL, "-concurrency", strconv.Itoa(concurrency))
	stdout, stderr, err := run(cmd, nil, stderrTail)
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	if err != nil {
		return Result{}, runError("colly crawl", err, stderr)
	}
	res, err := parseResult(stdout)
	if err != nil {
		return Result{}, runError("colly crawl", err, stderr)
	}
	res.PeakRSS = peakRSS(cmd)
	return res, nil
}

// Close removes the binary.
func (b *CollyBinary) Close() error { return os.RemoveAll(b.dir) }

// Colly builds Colly's side of the benchmark (BuildColly), crawls startURL
// with it (Run) and removes it. To crawl more than once, build once with
// BuildColly instead.
func Colly(ctx context.Context, startURL string, concurrency int) (Result, error) {
	b, err := BuildColly(ctx)
	if err != nil {
		return Result{}, err
	}
	defer b.Close()
	return b.Run(ctx, startURL, concurrency)
}

// findModuleRoot returns the first directory from dir up whose go.mod
// declares frontier's module.
func findModuleRoot(dir string) (string, error) {
	for d := dir; ; {
		if modulePath(filepath.Join(d, "go.mod")) == module {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w from %s up: run from within frontier's source tree", ErrNoModuleRoot, dir)
		}
		d = parent
	}
}

// modulePath returns the module path a go.mod file declares, or "" when the
// file cannot be read or has no module line.
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			rest, _, _ = strings.Cut(rest, "//")
			p := strings.TrimSpace(rest)
			if u, err := strconv.Unquote(p); err == nil {
				p = u
			}
			return p
		}
	}
	return ""
}
