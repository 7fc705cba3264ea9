// Package redisbloom is a Bloom filter kept in Redis bitmaps, driven by one
// Lua script, so that it needs no Redis module and runs on Redis, Redis
// Cluster and Valkey alike.
//
// A filter is a header key, which records its parameters, and one or more
// bitmap keys sharing the header key's hash tag. Bit positions are computed
// by the client from each 20-byte SHA-1 fingerprint (double hashing over its
// bytes: the fingerprints are already uniform); the script sets or reads the
// bits of a whole batch in one round trip, atomically, so that of two
// workers adding the same fingerprint at once exactly one is told it is new.
//
// A [Filter] is safe for concurrent use by several goroutines and several
// processes: its only state is in Redis.
package redisbloom
