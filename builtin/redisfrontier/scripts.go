package redisfrontier

import "github.com/redis/go-redis/v9"

// The scripts share these conventions. ARGV[1] is the queue prefix Q; the
// keys under it are
//
//	Q:meta          hash: pending, leased, seq (lease ids), redelivered
//	Q:ready         zset: host -> time (ms, server clock) it may be served
//	Q:hp:<host>     zset: the host's non-empty priorities (score -priority)
//	Q:q:<p>:<host>  list: the host's requests of priority p, entries
//	                "n"+record, or "r"+record once redelivered
//	Q:next          hash: host -> earliest time of its next request (delay, pause)
//	Q:hc            hash: host -> requests of the host leased now
//	Q:leases        zset: lease id -> expiry (ms)
//	Q:lo, Q:lh, Q:ld hash: lease id -> owner, "<priority> <host>", entry
//	Q:workers       zset: owner -> last time it renewed its leases
//
// and the fingerprints are fields of D:<shard> hashes (D = ARGV[2] of
// enqueue), small enough to stay listpacks.
const luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// bulk runs cmd key with the elements of t as arguments, a few thousand
// at a time (Lua's unpack has a limit); step keeps pairs together.
const luaBulk = `
local function bulk(cmd, key, t, step)
  local n = 4000 - 4000 % step
  for i = 1, #t, n do
    redis.call(cmd, key, unpack(t, i, math.min(i + n - 1, #t)))
  end
end
`

// requeue pushes entry e of host h, priority p back into its queue, at the
// front (the side pops take) when front is true (for LIFO the front is
// where pushes go anyway); it makes the host ready.
const luaRequeue = `
local function requeue(Q, h, p, e, front, lifo, now)
  local qk = Q .. ':q:' .. p .. ':' .. h
  local n
  if front and not lifo then n = redis.call('LPUSH', qk, e) else n = redis.call('RPUSH', qk, e) end
  if n == 1 then
    redis.call('ZADD', Q .. ':hp:' .. h, -tonumber(p), p)
    if not redis.call('ZSCORE', Q .. ':ready', h) then
      local nx = tonumber(redis.call('HGET', Q .. ':next', h) or '0')
      if nx < now then nx = now end
      redis.call('ZADD', Q .. ':ready', nx, h)
    end
  end
end
`

// enqueueScript: ARGV = Q, D, lifo, then per request fp, shard, host,
// priority, entry. An empty fp is not filtered (dont_filter). Returns one
// 0/1 per request: 1 accepted.
var enqueueScript = redis.NewScript(luaNow + luaRequeue + `
local Q, D, lifo = ARGV[1], ARGV[2], ARGV[3] == '1'
local res, n = {}, 0
for i = 4, #ARGV, 5 do
  local fp = ARGV[i]
  local ok = 1
  if fp ~= '' then ok = redis.call('HSETNX', D .. ':' .. ARGV[i + 1], fp, '') end
  if ok == 1 then
    requeue(Q, ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], false, lifo, now)
    n = n + 1
  end
  res[#res + 1] = ok
end
if n > 0 then redis.call('HINCRBY', Q .. ':meta', 'pending', n) end
return res
`)

// popScript: ARGV = Q, owner, max, lease ms, delay ms, per-host limit (0:
// none), lifo. Hosts are served in the order of their ready time, one
// request per host per pass; with a delay, one per host per call. The
// leases are written with one command per key for the whole call. Returns
// id1, entry1, id2, entry2, ...
var popScript = redis.NewScript(luaNow + luaBulk + `
local Q, owner, max, lease, delay, limit, lifo = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local hosts = redis.call('ZRANGEBYSCORE', Q .. ':ready', '-inf', now, 'LIMIT', 0, max * 2 + 32)
local out, got, live = {}, 0, {}
local zl, lo, lh, ld, hc, inc = {}, {}, {}, {}, {}, {}
local base = redis.call('HINCRBY', Q .. ':meta', 'seq', max) - max
for _, h in ipairs(hosts) do live[#live + 1] = h end
while got < max and #live > 0 do
  local still = {}
  for _, h in ipairs(live) do
    if got >= max then break end
    local c = hc[h]
    if limit > 0 and c == nil then
      c = tonumber(redis.call('HGET', Q .. ':hc', h) or '0')
      hc[h] = c
    end
    if limit > 0 and c >= limit then
      redis.call('ZADD', Q .. ':ready', now, h)
    else
      local pr = redis.call('ZRANGE', Q .. ':hp:' .. h, 0, 0)
      local e
      -- left: whether the host may still hold requests; only a priority
      -- emptied now makes it worth asking Redis.
      local left = false
      if #pr > 0 then
        local qk = Q .. ':q:' .. pr[1] .. ':' .. h
        if lifo then e = redis.call('RPOP', qk) else e = redis.call('LPOP', qk) end
        if redis.call('LLEN', qk) == 0 then
          redis.call('ZREM', Q .. ':hp:' .. h, pr[1])
          left = redis.call('EXISTS', Q .. ':hp:' .. h) == 1
        else
          left = true
        end
      end
      if e then
        got = got + 1
        local id = tostring(base + got)
        zl[#zl + 1] = now + lease
        zl[#zl + 1] = id
        lo[#lo + 1] = id
        lo[#lo + 1] = owner
        lh[#lh + 1] = id
        lh[#lh + 1] = pr[1] .. ' ' .. h
        ld[#ld + 1] = id
        ld[#ld + 1] = e
        if c then hc[h] = c + 1 end
        inc[h] = (inc[h] or 0) + 1
        out[#out + 1] = id
        out[#out + 1] = e
      end
      if not left then
        redis.call('ZREM', Q .. ':ready', h)
      else
        redis.call('ZADD', Q .. ':ready', now + delay, h)
        if delay == 0 and e then still[#still + 1] = h end
      end
      if delay > 0 then redis.call('HSET', Q .. ':next', h, now + delay) end
    end
  end
  live = still
end
if got > 0 then
  bulk('ZADD', Q .. ':leases', zl, 2)
  bulk('HSET', Q .. ':lo', lo, 2)
  bulk('HSET', Q .. ':lh', lh, 2)
  bulk('HSET', Q .. ':ld', ld, 2)
  for h, c in pairs(inc) do redis.call('HINCRBY', Q .. ':hc', h, c) end
  redis.call('HINCRBY', Q .. ':meta', 'pending', -got)
  redis.call('HINCRBY', Q .. ':meta', 'leased', got)
end
redis.call('ZADD', Q .. ':workers', now, owner)
return out
`)

// luaEndLease removes lease id and returns its "<priority> <host>" and
// entry, or false when it is not (any more) a lease.
const luaEndLease = `
local function endlease(Q, id)
  if redis.call('ZREM', Q .. ':leases', id) == 0 then return false end
  local ph = redis.call('HGET', Q .. ':lh', id)
  local e = redis.call('HGET', Q .. ':ld', id)
  redis.call('HDEL', Q .. ':lo', id)
  redis.call('HDEL', Q .. ':lh', id)
  redis.call('HDEL', Q .. ':ld', id)
  if not ph or not e then return false end
  local sp = string.find(ph, ' ', 1, true)
  local p, h = string.sub(ph, 1, sp - 1), string.sub(ph, sp + 1)
  if redis.call('HINCRBY', Q .. ':hc', h, -1) <= 0 then redis.call('HDEL', Q .. ':hc', h) end
  redis.call('HINCRBY', Q .. ':meta', 'leased', -1)
  return {p, h, e}
end
`

// ackScript: ARGV = Q, ids... Ends the leases among ids, with one command
// per key for the whole call; returns how many were leases.
var ackScript = redis.NewScript(luaBulk + `
local Q = ARGV[1]
local live, phs, dup = {}, {}, {}
for i = 2, #ARGV, 4000 do
  local ids = {unpack(ARGV, i, math.min(i + 3999, #ARGV))}
  local sc = redis.call('ZMSCORE', Q .. ':leases', unpack(ids))
  for j, id in ipairs(ids) do
    if sc[j] and not dup[id] then
      live[#live + 1] = id
      dup[id] = true
    end
  end
end
if #live == 0 then return 0 end
for i = 1, #live, 4000 do
  local ph = redis.call('HMGET', Q .. ':lh', unpack(live, i, math.min(i + 3999, #live)))
  for _, v in ipairs(ph) do phs[#phs + 1] = v end
end
bulk('ZREM', Q .. ':leases', live, 1)
bulk('HDEL', Q .. ':lo', live, 1)
bulk('HDEL', Q .. ':lh', live, 1)
bulk('HDEL', Q .. ':ld', live, 1)
local per = {}
for _, ph in pairs(phs) do
  if ph then
    local sp = string.find(ph, ' ', 1, true)
    local h = string.sub(ph, sp + 1)
    per[h] = (per[h] or 0) + 1
  end
end
for h, c in pairs(per) do
  if redis.call('HINCRBY', Q .. ':hc', h, -c) <= 0 then redis.call('HDEL', Q .. ':hc', h) end
end
redis.call('HINCRBY', Q .. ':meta', 'leased', -#live)
return #live
`)

// extendScript: ARGV = Q, owner, lease ms, ids... Renews the owner's
// leases among ids; returns the ids that are no longer its leases.
var extendScript = redis.NewScript(luaNow + `
local Q, owner, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', Q .. ':lo', id) == owner and redis.call('ZSCORE', Q .. ':leases', id) then
    redis.call('ZADD', Q .. ':leases', now + lease, id)
  else
    lost[#lost + 1] = id
  end
end
redis.call('ZADD', Q .. ':workers', now, owner)
return lost
`)

// recoverScript: ARGV = Q, lifo, max. Returns expired leases' requests to
// the front of their queue, flagged redelivered; returns how many.
var recoverScript = redis.NewScript(luaNow + luaRequeue + luaEndLease + `
local Q, lifo, max = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', Q .. ':leases', '-inf', now, 'LIMIT', 0, max)
local n = 0
for _, id in ipairs(ids) do
  local l = endlease(Q, id)
  if l then
    requeue(Q, l[2], l[1], 'r' .. string.sub(l[3], 2), true, lifo, now)
    n = n + 1
  end
end
if n > 0 then
  redis.call('HINCRBY', Q .. ':meta', 'pending', n)
  redis.call('HINCRBY', Q .. ':meta', 'redelivered', n)
end
return n
`)

// pauseScript: ARGV = Q, host, until ms. The host is served no sooner than
// until.
var pauseScript = redis.NewScript(`
local Q, h, u = ARGV[1], ARGV[2], tonumber(ARGV[3])
local nx = tonumber(redis.call('HGET', Q .. ':next', h) or '0')
if u > nx then redis.call('HSET', Q .. ':next', h, u) end
redis.call('ZADD', Q .. ':ready', 'XX', 'GT', u, h)
return 1
`)

// seenScript: ARGV = D, then per fingerprint shard, fp. Returns one 0/1 per
// fingerprint: 1 seen before.
var seenScript = redis.NewScript(`
local D, res = ARGV[1], {}
for i = 2, #ARGV, 2 do
  res[#res + 1] = 1 - redis.call('HSETNX', D .. ':' .. ARGV[i], ARGV[i + 1], '')
end
return res
`)

// leaveScript: ARGV = Q, owner, lease ms. The owner leaves the crawl (it
// is no longer one of Q:workers); returns the other workers seen within
// the visibility timeout and the requests leased crawl-wide.
var leaveScript = redis.NewScript(luaNow + `
local Q, owner, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
redis.call('ZREM', Q .. ':workers', owner)
local others = redis.call('ZCOUNT', Q .. ':workers', now - lease, '+inf')
local leased = tonumber(redis.call('HGET', Q .. ':meta', 'leased') or '0')
return {others, leased}
`)
