package disktest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontier-go/frontier/framework"
)

// CrashModel is what a queue's owner knows before a crash: what it pushed,
// what a successful Flush acknowledged, what it popped, and which pops a
// successful Flush made durable.
type CrashModel struct {
	lifo      bool
	pushed    []string
	acked     map[string]bool
	popped    map[string]uint64 // url -> Delivery
	committed map[string]bool
	pending   []string // pushed since the last successful flush
	popping   []string // popped since the last successful flush
}

// NewCrashModel returns the model of an empty queue.
func NewCrashModel(lifo bool) *CrashModel {
	return &CrashModel{lifo: lifo, acked: map[string]bool{}, popped: map[string]uint64{}, committed: map[string]bool{}}
}

// Push records a push of url.
func (m *CrashModel) Push(url string) {
	m.pushed = append(m.pushed, url)
	m.pending = append(m.pending, url)
}

// Pushed returns the number of pushes recorded.
func (m *CrashModel) Pushed() int { return len(m.pushed) }

// Pop records a pop of url, delivered with id.
func (m *CrashModel) Pop(url string, id uint64) {
	m.popped[url] = id
	m.popping = append(m.popping, url)
}

// Flushed records a successful Flush: the pushes and pops before it are durable.
func (m *CrashModel) Flushed() {
	for _, u := range m.pending {
		m.acked[u] = true
	}
	for _, u := range m.popping {
		m.committed[u] = true
	}
	m.pending, m.popping = m.pending[:0], m.popping[:0]
}

// Check reopens nothing: it judges what a reopened queue delivered, in pop
// order, against the invariants: nothing acknowledged and not popped is
// lost; nothing whose pop was durable comes back; a record that comes back
// has its Delivery; the order is the queue's.
func (m *CrashModel) Check(t testing.TB, got []*framework.Request) {
	t.Helper()
	index := map[string]int{}
	for i, u := range m.pushed {
		index[u] = i
	}
	seen := map[string]bool{}
	last := -1
	for _, r := range got {
		i, ok := index[r.URL]
		switch {
		case !ok:
			t.Fatalf("%s came back but was never pushed", r.URL)
		case seen[r.URL]:
			t.Fatalf("%s came back twice", r.URL)
		case m.committed[r.URL]:
			t.Fatalf("%s came back though its pop was flushed", r.URL)
		}
		if id, ok := m.popped[r.URL]; ok && id != r.Delivery {
			t.Fatalf("%s came back with delivery %d, was %d", r.URL, r.Delivery, id)
		}
		if last >= 0 && (!m.lifo && i < last || m.lifo && i > last) {
			t.Fatalf("%s out of order after a crash", r.URL)
		}
		seen[r.URL], last = true, i
	}
	for u := range m.acked {
		if _, popped := m.popped[u]; !popped && !seen[u] {
			t.Fatalf("%s was acknowledged by a flush and is lost", u)
		}
	}
}

// RandomQueueOp applies to q and its model m the operation x (0 to 84)
// picks: a push (x < 45), a batch push, a pop (x < 80) or a peek; the URLs
// it pushes end in tag.
func RandomQueueOp(t *testing.T, rng *rand.Rand, x int, q interface {
	framework.Queue
	framework.Peeker
	framework.Batcher
}, m *CrashModel, tag string) {
	t.Helper()
	switch {
	case x < 45:
		u := "http://x/" + tag
		m.Push(u)
		MustPush(t, q, u)
	case x < 50:
		var rs []*framework.Request
		for j := range 1 + rng.IntN(4) {
			u := fmt.Sprintf("http://x/%s/%d", tag, j)
			m.Push(u)
			rs = append(rs, Req(t, u))
		}
		if err := q.PushBatch(rs); err != nil {
			t.Fatal(err)
		}
	case x < 80:
		r, err := q.Pop()
		if err != nil {
			t.Fatal(err)
		}
		if r != nil {
			m.Pop(r.URL, r.Delivery)
		}
	default:
		if _, err := q.Peek(); err != nil {
			t.Fatal(err)
		}
	}
}

// Snapshot returns the names and contents of the files under path.
func Snapshot(t *testing.T, path string) string {
	t.Helper()
	var sb strings.Builder
	_ = filepath.Walk(path, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			fmt.Fprintf(&sb, "%s %x\n", p, data)
		}
		return nil
	})
	return sb.String()
}
