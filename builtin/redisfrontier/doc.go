// Package redisfrontier is the shared frontier on Redis: many crawler
// processes, one crawl. Its scheduler keeps the pending requests, the seen
// fingerprints and the leases of one crawl under keys that share a hash tag,
// so the same code runs on a single Redis, on Redis Cluster and on Valkey.
//
// Every change of state is one Lua script (EVALSHA, loaded once):
//
//   - enqueue checks the fingerprints and pushes a whole batch of requests,
//     each into the list of its download slot (host) and priority;
//   - pop hands requests out fairly across hosts, highest priority first
//     within a host, first in first out (or last in first out) within a
//     priority, no sooner than DOWNLOAD_DELAY after the host's previous
//     request and with at most CONCURRENT_REQUESTS_PER_DOMAIN of a host
//     leased crawl-wide; each request handed out is leased to its worker
//     until now + REDIS_VISIBILITY_TIMEOUT (Redis server time);
//   - ack (Finish) ends a lease, idempotently; extend renews the leases of a
//     live worker; recover returns expired leases to the front of their
//     queue, flagged as redelivered.
//
// Records are the project's request records ([framework.EncodeRequest]).
// scrapy-redis's component names are aliases of this package's components,
// so its users' settings work unchanged (see Register).
package redisfrontier
