package redisbloom

import "github.com/redis/go-redis/v9"

// script sets or reads the bits of a batch of fingerprints with BITFIELD
// and returns the old value of every bit, in argument order. It first checks
// that the header key still holds the filter's header (ARGV[1]), so that a
// filter deleted or recreated with other parameters is never written to.
//
// KEYS[1] is the header key, KEYS[2..] the bitmap keys. ARGV[2] is the
// arguments per operation (4 for SET u1 offset 1, 3 for GET u1 offset);
// then, per bitmap key used, its 0-based index, its operation count and its
// operations. Operations go to BITFIELD in slices that stay under Lua's
// unpack limit.
var script = redis.NewScript(`
local keyBase, argBase = 1, 1
` + ScriptLoop + `
return out
`)
