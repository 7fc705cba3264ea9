package peers

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrNoScrapy means the python given cannot import scrapy.
	ErrNoScrapy = errors.New("peers: scrapy not available")
	// ErrNoGo means the go command is not on PATH, so Colly's side cannot be
	// built.
	ErrNoGo = errors.New("peers: go command not found")
	// ErrNoModuleRoot means no directory from the working directory up holds
	// frontier's go.mod, so bench/colly cannot be found.
	ErrNoModuleRoot = errors.New("peers: frontier's module root not found")
	// ErrNoPythonRedis means the python given cannot import redis (redis-py),
	// which the scrapy-redis benchmark needs.
	ErrNoPythonRedis = errors.New("peers: redis-py not available")
	// ErrNoScrapyRedis means no scrapy-redis source was found where given.
	ErrNoScrapyRedis = errors.New("peers: scrapy-redis source not found")
	// ErrNoResult means a peer ended without printing its result.
	ErrNoResult = errors.New("peers: no result in the output")
)
