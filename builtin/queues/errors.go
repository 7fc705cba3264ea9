package queues

import "errors"

// Sentinel errors, checked with errors.Is.
var (
	// ErrPeekUnsupported is returned by Peek when a downstream queue cannot peek.
	ErrPeekUnsupported = errors.New("queues: the underlying queue class does not implement peek")
	// ErrPerIP is returned when the downloader-aware queue meets CONCURRENT_REQUESTS_PER_IP.
	ErrPerIP = errors.New(`queues: "DownloaderAwarePriorityQueue" does not support CONCURRENT_REQUESTS_PER_IP`)
	// ErrNoDownstream is returned when a priority queue is built without a downstream queue factory.
	ErrNoDownstream = errors.New("queues: a priority queue needs a downstream queue factory")
)
