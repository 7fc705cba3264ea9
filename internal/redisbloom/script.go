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
local h = redis.call('GET', KEYS[1])
if h ~= ARGV[1] then
  if not h then h = 'missing' end
  return redis.error_reply('FRONTIERBLOOM ' .. h)
end
local width = tonumber(ARGV[2])
local per = 1990 * width
local out = {}
local i = 3
while i <= #ARGV do
  local key = KEYS[tonumber(ARGV[i]) + 2]
  local last = i + 1 + tonumber(ARGV[i + 1]) * width
  local s = i + 2
  while s <= last do
    local e = math.min(s + per - 1, last)
    local r = redis.call('BITFIELD', key, unpack(ARGV, s, e))
    for j = 1, #r do out[#out + 1] = r[j] end
    s = e + 1
  end
  i = last + 1
end
return out
`)
