package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/frontier-go/frontier/builtin/redisfrontier"
	"github.com/frontier-go/frontier/cmd/frontier/internal/jobtools"
	"github.com/frontier-go/frontier/framework"
)

func newRedisCommand(e *env) *cobra.Command {
	return newGroup("redis", "Look inside a shared crawl in Redis: inspect, export",
		`Redis looks inside the keys of a crawl shared through Redis (the
frontier.redis.Scheduler, alias scrapy_redis.scheduler.Scheduler), as jobdir
does for a job directory. The crawl is named by its spider; the connection and
the keys come from the settings (REDIS_URL, SCHEDULER_QUEUE_KEY,
SCHEDULER_DUPEFILTER_KEY, SCHEDULER_QUEUE_CLASS), as the workers read them.
Both commands only read, and may run while workers crawl (the figures are then
a snapshot). The keys are described in docs/distributed.md.`,
		`  frontier -s REDIS_URL=redis://localhost:6379 redis inspect demo
  frontier -s REDIS_URL=redis://localhost:6379 redis export demo > pending.jsonl`,
		newRedisInspectCommand(e),
		newRedisExportCommand(e),
	)
}

// openRedisCrawl opens the store of spider's crawl without creating it.
func openRedisCrawl(ctx context.Context, e *env, spider string) (*redisfrontier.Store, error) {
	c, err := e.crawler(framework.NewSpider(spider))
	if err != nil {
		return nil, err
	}
	cfg, err := redisfrontier.ConfigFrom(c)
	if err != nil {
		return nil, err
	}
	client, err := redisfrontier.NewClient(cfg.Client)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, client.Close)
	n, err := client.Exists(ctx, cfg.Store.DupeKey+":info", cfg.Store.QueueKey+":meta").Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("no crawl of spider %q in this Redis: neither %s:info nor %s:meta exists (check REDIS_URL, SCHEDULER_QUEUE_KEY and the spider's name)",
			spider, cfg.Store.DupeKey, cfg.Store.QueueKey)
	}
	return redisfrontier.OpenStore(ctx, client, cfg.Store, e.log)
}

func newRedisInspectCommand(e *env) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "inspect SPIDER",
		Short: "What a Redis crawl holds: pending by host and priority, leases, workers, fingerprints, memory",
		Long: `Inspect prints what a shared crawl's Redis keys hold without changing them: the
requests pending by host and priority, the leases (requests handed out and not
acknowledged) with their owners and expiry, the workers and when each was last
seen, the paused hosts, the fingerprints seen (the exact set's count, and the
Bloom filter's estimate when the crawl has one) and the Redis memory of the
crawl's keys. With --json, one JSON object.`,
		Example: `  frontier -s REDIS_URL=redis://localhost:6379 redis inspect demo
  frontier -s REDIS_URL=redis://localhost:6379 redis inspect demo --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openRedisCrawl(cmd.Context(), e, args[0])
			if err != nil {
				return err
			}
			rep, err := st.Inspect(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(e.stdout, rep)
			}
			printRedisInspect(e.stdout, rep, time.Now())
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}

func printRedisInspect(w io.Writer, r *redisfrontier.Report, now time.Time) {
	fmt.Fprintf(w, "queue key      %s\n", r.QueueKey)
	fmt.Fprintf(w, "dupefilter key %s\n", r.DupeKey)
	fmt.Fprintf(w, "pending        %d (%d queues)\n", r.Pending, len(r.Queues))
	fmt.Fprintf(w, "leased         %d\n", r.Leased)
	fmt.Fprintf(w, "redelivered    %d (expired leases returned, in all)\n", r.Redelivered)
	fmt.Fprintf(w, "fingerprints   %d (exact set)\n", r.Fingerprints)
	if b := r.Bloom; b != nil {
		fmt.Fprintf(w, "bloom filter   %s: about %.0f fingerprints; capacity %d at %v, %d bytes\n", b.Key, b.Estimate, b.Capacity, b.ErrorRate, b.Bytes)
	}
	fmt.Fprintf(w, "memory         %d bytes in %d keys\n", r.MemoryBytes, r.Keys)
	if len(r.Queues) > 0 {
		fmt.Fprintln(w, "\npending by host and priority:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  HOST\tPRIORITY\tPENDING")
		for _, q := range r.Queues {
			fmt.Fprintf(tw, "  %s\t%d\t%d\n", q.Host, q.Priority, q.Pending)
		}
		tw.Flush()
	}
	if len(r.Leases) > 0 {
		fmt.Fprintln(w, "\nleases:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tOWNER\tHOST\tPRIORITY\tEXPIRES")
		for _, l := range r.Leases {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", l.ID, l.Owner, l.Host, l.Priority, relTime(l.Expires, now))
		}
		tw.Flush()
	}
	if len(r.Workers) > 0 {
		fmt.Fprintln(w, "\nworkers:")
		for _, wk := range r.Workers {
			fmt.Fprintf(w, "  %s last seen %s\n", wk.Owner, relTime(wk.LastSeen, now))
		}
	}
	if len(r.Paused) > 0 {
		fmt.Fprintln(w, "\npaused hosts:")
		for _, p := range r.Paused {
			fmt.Fprintf(w, "  %s until %s\n", p.Host, relTime(p.Until, now))
		}
	}
}

func relTime(t, now time.Time) string {
	d := t.Sub(now).Round(time.Millisecond)
	if d >= 0 {
		return fmt.Sprintf("%s (in %s)", t.Format(time.RFC3339), d)
	}
	return fmt.Sprintf("%s (%s ago)", t.Format(time.RFC3339), -d)
}

// redisLine is one line of redis export.
type redisLine struct {
	State       string               `json:"state"` // "pending" or "leased"
	Slot        string               `json:"slot"`
	Redelivered bool                 `json:"redelivered,omitempty"`
	Lease       string               `json:"lease,omitempty"`
	Owner       string               `json:"owner,omitempty"`
	Expires     *time.Time           `json:"expires,omitempty"`
	Request     jobtools.JSONRequest `json:"request"`
}

func newRedisExportCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "export SPIDER",
		Short: "Print every pending and leased request of a Redis crawl as a JSON line",
		Long: `Export prints every request of a shared crawl in Redis, leased or pending, as
one JSON object a line on stdout (the request as jobdir export writes it),
without changing the crawl: first the leased ones with their lease, owner and
expiry, then the pending ones host by host, priority by priority (highest
first), in the order they are handed out. A summary goes to stderr.`,
		Example: `  frontier -s REDIS_URL=redis://localhost:6379 redis export demo > requests.jsonl`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openRedisCrawl(cmd.Context(), e, args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(e.stdout)
			enc.SetEscapeHTML(false)
			counts := map[string]int{}
			err = st.Export(cmd.Context(), func(p redisfrontier.Pending) error {
				l := redisLine{State: p.State, Slot: p.Host, Redelivered: p.Redelivered, Request: jobtools.ToJSON(p.Request)}
				if p.Lease != nil {
					l.Lease, l.Owner, l.Expires = p.Lease.ID, p.Lease.Owner, &p.Lease.Expires
				}
				counts[p.State]++
				return enc.Encode(l)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "exported %d pending and %d leased requests\n", counts["pending"], counts["leased"])
			return nil
		},
	}
}
