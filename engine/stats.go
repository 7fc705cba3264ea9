package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// logStats writes Scrapy's periodic "Crawled N pages (at X pages/min),
// scraped M items (at Y items/min)" line.
type logStats struct {
	e            *Engine
	at           time.Time
	pages, items int64
	havePrevious bool
}

func (l *logStats) log() {
	now := time.Now()
	pages, items := l.e.pages.Load(), l.e.items.Load()
	var pagesRate, itemsRate float64
	if l.havePrevious {
		mins := now.Sub(l.at).Minutes()
		if mins > 0 {
			pagesRate = float64(pages-l.pages) / mins
			itemsRate = float64(items-l.items) / mins
		}
	}
	l.e.log.Info().Msgf("Crawled %d pages (at %.0f pages/min), scraped %d items (at %.0f items/min)", pages, pagesRate, items, itemsRate)
	l.at, l.pages, l.items, l.havePrevious = now, pages, items, true
}

// recordEnd sets the counter Scrapy's MemoryUsage extension keeps: the
// peak resident memory (memusage/max, bytes).
func recordEnd(st framework.Stats, res Result) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		st.Max("memusage/max", ru.Maxrss*1024)
	}
}

// FormatStats formats a crawl's stats as Scrapy dumps them: a Python dict,
// one key a line, sorted, with the finish reason and times among them.
func FormatStats(res Result) string {
	type kv struct{ k, v string }
	var lines []kv
	for k, v := range res.Stats {
		lines = append(lines, kv{k, strconv.FormatInt(v, 10)})
	}
	lines = append(lines,
		kv{"elapsed_time_seconds", strconv.FormatFloat(res.Elapsed().Seconds(), 'f', 6, 64)},
		kv{"finish_reason", quote(res.Reason)},
		kv{"finish_time", quote(res.Finished.UTC().Format(time.RFC3339Nano))},
		kv{"start_time", quote(res.Started.UTC().Format(time.RFC3339Nano))},
	)
	slices.SortFunc(lines, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var b strings.Builder
	for i, l := range lines {
		if i == 0 {
			b.WriteString("{")
		} else {
			b.WriteString(",\n ")
		}
		fmt.Fprintf(&b, "%s: %s", quote(l.k), l.v)
	}
	b.WriteString("}")
	return b.String()
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
