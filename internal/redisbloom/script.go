package redisbloom

import "github.com/redis/go-redis/v9"

// script sets (ARGV[3] == "1") or reads the bits of a batch of fingerprints
// and returns one character per fingerprint: "1" when one of its bits was
// unset (the fingerprint was new), else "0". It first checks that the header
// key still holds the filter's header (ARGV[1]), so that a filter deleted or
// recreated with other parameters is never written to.
//
// KEYS[1] is the header key, KEYS[2..] the bitmap keys. ARGV[2] is k, ARGV[4]
// the positions: k (uint16 bitmap index, uint32 bit offset) little-endian
// pairs per fingerprint.
var script = redis.NewScript(`
local h = redis.call('GET', KEYS[1])
if h ~= ARGV[1] then
  if not h then h = 'missing' end
  return redis.error_reply('FRONTIERBLOOM ' .. h)
end
local k = tonumber(ARGV[2])
local set = ARGV[3] == '1'
local blob = ARGV[4]
local n = #blob / (6 * k)
local out = {}
for i = 0, n - 1 do
  local new = false
  local base = i * k * 6 + 1
  for j = 0, k - 1 do
    local part, off = struct.unpack('<HI4', blob, base + j * 6)
    if set then
      if redis.call('SETBIT', KEYS[part + 2], off, 1) == 0 then new = true end
    elseif redis.call('GETBIT', KEYS[part + 2], off) == 0 then
      new = true
      break
    end
  end
  out[i + 1] = new and '1' or '0'
end
return table.concat(out)
`)
