package framework_test

import (
	"fmt"

	"github.com/frontier-go/frontier/framework"
)

// ExampleLoadSettings layers an environment variable and -s overrides over the
// defaults; each value remembers where it came from.
func ExampleLoadSettings() {
	s, err := framework.LoadSettings(framework.LoadOptions{
		Environ: []string{"FRONTIER_CONCURRENT_REQUESTS=32", "HOME=/home/crawler"},
		Overrides: []string{
			"SCHEDULER_MEMORY_QUEUE=scrapy.squeues.FifoMemoryQueue",
			"JOBDIR_FLUSH_INTERVAL=0.05",
			"DEPTH_LIMT=3",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	queue, _, _ := s.Component("SCHEDULER_MEMORY_QUEUE")
	st, _ := s.Lookup("SCHEDULER_MEMORY_QUEUE")
	fmt.Printf("%s from %s\n", queue, st.Source)

	n, _ := s.GetInt("CONCURRENT_REQUESTS")
	st, _ = s.Lookup("CONCURRENT_REQUESTS")
	fmt.Printf("%d from %s\n", n, st.Source)

	flush, _ := s.GetDuration("JOBDIR_FLUSH_INTERVAL")
	fmt.Println(flush)

	_, ok, _ := s.Component("JOBDIR")
	fmt.Println("JOBDIR set:", ok)

	for _, w := range s.Warnings() {
		fmt.Println("warning:", w)
	}

	s.Set("DEPTH_LIMIT", "deep", framework.Source{Kind: framework.SourceCode})
	_, err = s.GetInt("DEPTH_LIMIT")
	fmt.Println(err)
	// Output:
	// scrapy.squeues.FifoMemoryQueue from -s SCHEDULER_MEMORY_QUEUE=scrapy.squeues.FifoMemoryQueue on the command line
	// 32 from environment variable FRONTIER_CONCURRENT_REQUESTS
	// 50ms
	// JOBDIR set: false
	// warning: unknown setting "DEPTH_LIMT" (from -s DEPTH_LIMT=3 on the command line); did you mean DEPTH_LIMIT?
	// framework: bad setting: DEPTH_LIMIT="deep" (from code): want an integer
}
