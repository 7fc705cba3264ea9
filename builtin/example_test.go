package builtin_test

import (
	"context"
	"fmt"
	"os"

	"github.com/frontier-go/frontier/builtin"
	"github.com/frontier-go/frontier/builtin/queues"
	"github.com/frontier-go/frontier/framework"
	"github.com/frontier-go/frontier/registry"
)

// A settings file selects components by name; Scrapy's class paths work as is.
const settingsYAML = `
SCHEDULER_PRIORITY_QUEUE: scrapy.pqueues.ScrapyPriorityQueue
SCHEDULER_MEMORY_QUEUE: scrapy.squeues.FifoMemoryQueue
SCHEDULER_START_MEMORY_QUEUE: null   # start requests share the regular queues
DUPEFILTER_CLASS: scrapy.dupefilters.RFPDupeFilter
`

// Building the scheduler a settings file describes, and running requests through it.
func Example_schedulerFromYAML() {
	f, _ := os.CreateTemp("", "settings-*.yaml")
	defer os.Remove(f.Name())
	f.WriteString(settingsYAML)
	f.Close()

	settings, err := framework.LoadSettings(framework.LoadOptions{File: f.Name()})
	if err != nil {
		fmt.Println(err)
		return
	}
	reg := registry.New()
	if err := builtin.Register(reg); err != nil {
		fmt.Println(err)
		return
	}
	c := framework.NewCrawler(settings, reg, framework.NewSpider("example"))

	ctx := context.Background()
	newScheduler, err := framework.RequiredComponent[framework.SchedulerFactory](c, "SCHEDULER")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := newScheduler(ctx, c)
	_ = s.(framework.Opener).Open(ctx)
	defer s.(framework.Closer).Close("finished")

	for i, u := range []string{"https://example.org/a", "https://example.org/b", "https://example.org/a", "https://example.org/c"} {
		r := framework.MustRequest(u)
		r.Priority = i % 2
		ok, _ := s.Enqueue(r)
		fmt.Println("enqueue", u, ok)
	}
	for s.HasPending() {
		r, _ := s.Next()
		fmt.Println("next", r.URL, "priority", r.Priority)
		_ = s.(framework.Finisher).Finish(r, nil)
	}
	fmt.Println("filtered", c.Stats.Get(framework.StatDupeFilterFiltered))
	// Output:
	// enqueue https://example.org/a true
	// enqueue https://example.org/b true
	// enqueue https://example.org/a false
	// enqueue https://example.org/c true
	// next https://example.org/b priority 1
	// next https://example.org/c priority 1
	// next https://example.org/a priority 0
	// filtered 1
}

// cappedQueue is a user component: a FIFO memory queue that holds at most
// max requests and refuses the rest.
type cappedQueue struct {
	*queues.FifoMemoryQueue
	max int
}

func (q cappedQueue) Push(r *framework.Request) error {
	if q.Len() >= q.max {
		return fmt.Errorf("capped queue full (%d)", q.max)
	}
	return q.FifoMemoryQueue.Push(r)
}

// Registering a component of your own, in-process, and selecting it by name.
func Example_registerComponent() {
	reg := registry.New()
	_ = builtin.Register(reg)
	err := reg.Register(registry.Entry{
		Name: "myproject.queues.Capped",
		Doc:  "FIFO in memory, at most 2 requests per bucket",
		Factory: framework.QueueFactory(func(ctx context.Context, c *framework.Crawler, cfg framework.QueueConfig) (framework.Queue, error) {
			return cappedQueue{queues.NewFifoMemoryQueue(), 2}, nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	settings := framework.NewSettings()
	settings.Set("SCHEDULER_MEMORY_QUEUE", "myproject.queues.Capped", framework.Source{Kind: framework.SourceCode})
	c := framework.NewCrawler(settings, reg, nil)

	factory, _ := framework.RequiredComponent[framework.QueueFactory](c, "SCHEDULER_MEMORY_QUEUE")
	q, _ := factory(context.Background(), c, framework.QueueConfig{})
	for _, u := range []string{"https://example.org/1", "https://example.org/2", "https://example.org/3"} {
		fmt.Println(u, q.Push(framework.MustRequest(u)))
	}
	e, _ := reg.Lookup("myproject.queues.Capped")
	fmt.Println(e.Kind(), e.Origin)

	// A typo names the closest registered names.
	settings.Set("SCHEDULER_MEMORY_QUEUE", "myproject.queues.Caped", framework.Source{Kind: framework.SourceCode})
	_, err = framework.RequiredComponent[framework.QueueFactory](c, "SCHEDULER_MEMORY_QUEUE")
	fmt.Println(err)
	// Output:
	// https://example.org/1 <nil>
	// https://example.org/2 <nil>
	// https://example.org/3 capped queue full (2)
	// queue user
	// SCHEDULER_MEMORY_QUEUE="myproject.queues.Caped" (from code): registry: unknown name "myproject.queues.Caped" (did you mean "myproject.queues.Capped"?); undeclared plugin, or a component never registered?
}
