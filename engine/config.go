package engine

import (
	"fmt"
	"time"

	"github.com/frontier-go/frontier/framework"
)

// config is the engine's part of the settings.
type config struct {
	concurrency int // CONCURRENT_REQUESTS; 0 in the settings means no limit
	// maxActive bounds the requests between Next and Finish (downloading,
	// in a callback, or waiting for their commit).
	maxActive int
	// startBuffer: start requests are pulled while the frontier holds
	// fewer pending requests than this.
	startBuffer int

	depthLimit, depthPriority int
	depthVerbose              bool
	robots                    bool

	closePages, closeItems, closeErrors int64
	closeTimeout                        time.Duration

	logStats  time.Duration
	statsDump bool
}

// unlimited stands for CONCURRENT_REQUESTS = 0.
const unlimited = 1 << 20

func readConfig(s *framework.Settings) (config, error) {
	var cfg config
	var err error
	get := func(name string, dst *int) {
		if err == nil {
			*dst, err = s.GetInt(name)
		}
	}
	get64 := func(name string, dst *int64) {
		var n int
		get(name, &n)
		*dst = int64(n)
	}
	getBool := func(name string, dst *bool) {
		if err == nil {
			*dst, err = s.GetBool(name)
		}
	}
	getDur := func(name string, dst *time.Duration) {
		if err == nil {
			*dst, err = s.GetDuration(name)
		}
	}
	get("CONCURRENT_REQUESTS", &cfg.concurrency)
	get("DEPTH_LIMIT", &cfg.depthLimit)
	get("DEPTH_PRIORITY", &cfg.depthPriority)
	getBool("DEPTH_STATS_VERBOSE", &cfg.depthVerbose)
	getBool("ROBOTSTXT_OBEY", &cfg.robots)
	get64("CLOSESPIDER_PAGECOUNT", &cfg.closePages)
	get64("CLOSESPIDER_ITEMCOUNT", &cfg.closeItems)
	get64("CLOSESPIDER_ERRORCOUNT", &cfg.closeErrors)
	getDur("CLOSESPIDER_TIMEOUT", &cfg.closeTimeout)
	getDur("LOGSTATS_INTERVAL", &cfg.logStats)
	getBool("STATS_DUMP", &cfg.statsDump)
	if err != nil {
		return cfg, err
	}
	if cfg.concurrency < 0 {
		return cfg, fmt.Errorf("%w: CONCURRENT_REQUESTS=%d: want 0 or more", framework.ErrSetting, cfg.concurrency)
	}
	if cfg.concurrency == 0 {
		cfg.concurrency = unlimited
	}
	cfg.maxActive = 2*min(cfg.concurrency, unlimited/2) + 64
	cfg.startBuffer = max(1000, 4*min(cfg.concurrency, 100_000))
	return cfg, nil
}

// stringList converts a list setting's values to strings.
func stringList(v []any) []string {
	if len(v) == 0 {
		return nil // null: the first item's fields
	}
	out := make([]string, 0, len(v))
	for _, x := range v {
		out = append(out, fmt.Sprint(x))
	}
	return out
}
