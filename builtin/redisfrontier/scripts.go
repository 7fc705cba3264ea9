package redisfrontier

import (
	"github.com/redis/go-redis/v9"

	"github.com/frontier-go/frontier/internal/redisbloom"
)

// The scripts share these conventions. ARGV[1] is the queue prefix Q; the
// keys under it are
//
//	Q:meta          hash: pending, leased, seq (lease batches), redelivered
//	Q:ready         zset: host -> time (ms, server clock) it may be served
//	Q:hp:<host>     zset: the host's priorities (score -priority); one whose
//	                list a pop emptied stays until a pop finds the list gone
//	Q:q:<p>:<host>  list: the host's requests of priority p, entries
//	                "n"+record, or "r"+record once redelivered
//	Q:top           hash: host -> a priority at least that of any of its
//	                lists holding requests (the one a pop tries first)
//	Q:next          hash: host -> earliest time of its next request (delay, pause)
//	Q:hc            hash: host -> requests of the host leased now
//	Q:leases        zset: lease batch -> expiry (ms); a batch is the
//	                requests of one pop, request k of batch b is lease "b.k"
//	Q:lo            hash: batch -> owner
//	Q:lb            hash: batch -> MessagePack array of, per request, its
//	                priority, host and entry
//	Q:la            hash: batch -> "c" (counted in Q:hc) or "-", then per
//	                request '0' leased or '1' acknowledged
//	Q:lh            hash: lease id -> host, for counted batches
//	Q:workers       zset: owner -> last time it renewed its leases
//
// and the fingerprints are fields of D:<shard> hashes (D = ARGV[2] of
// enqueue), small enough to stay listpacks.
const luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowf = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
`

// bulk runs cmd key with the elements of t as arguments, a few thousand
// at a time (Lua's unpack has a limit); step keeps pairs together. split
// readies a map of writes for it.
const luaBulk = `
-- split turns a map of key -> value or false into the pairs to set (value
-- first when valueFirst: a sorted set's score) and the keys to delete.
local function split(m, valueFirst)
  local set, del = {}, {}
  for k, v in pairs(m) do
    if not v then
      del[#del + 1] = k
    elseif valueFirst then
      set[#set + 1] = v
      set[#set + 1] = k
    else
      set[#set + 1] = k
      set[#set + 1] = v
    end
  end
  return set, del
end
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
const luaRequeue = luaListMade + `
local function requeue(Q, h, p, e, front, lifo, now)
  local qk = Q .. ':q:' .. p .. ':' .. h
  local n
  if front and not lifo then n = redis.call('LPUSH', qk, e) else n = redis.call('RPUSH', qk, e) end
  if n == 1 then listmade(Q, h, p, nowf) end
end
`

// luaListMade records that host h's list of priority p was empty and now
// holds requests: the priority is one of the host's, the host's top
// priority (Q:top) is at least p, and the host is ready (at once, or at
// its next time).
const luaListMade = `
local function listmade(Q, h, p, nowf)
  redis.call('ZADD', Q .. ':hp:' .. h, -tonumber(p), p)
  local top = redis.call('HGET', Q .. ':top', h)
  if not top or tonumber(p) > tonumber(top) then redis.call('HSET', Q .. ':top', h, p) end
  if not redis.call('ZSCORE', Q .. ':ready', h) then
    local nx = tonumber(redis.call('HGET', Q .. ':next', h) or '0')
    if nx < nowf then nx = nowf end
    redis.call('ZADD', Q .. ':ready', nx, h)
  end
end
`

// enqueueScript: ARGV = Q, D, lifo, then per request fp, shard, host,
// priority, entry. An empty fp is not filtered (dont_filter). Accepted
// requests in a row of one host and priority (a page's links, often) are
// pushed with one command. Returns one 0/1 per request: 1 accepted.
var enqueueScript = redis.NewScript(luaNow + luaListMade + luaRuns + `
local Q, D = ARGV[1], ARGV[2]
local res, n = {}, 0
for i = 4, #ARGV, 5 do
  local fp = ARGV[i]
  local ok = 1
  if fp ~= '' then ok = redis.call('HSETNX', D .. ':' .. ARGV[i + 1], fp, '') end
  if ok == 1 then
    accept(Q, ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
    n = n + 1
  end
  res[#res + 1] = ok
end
flush(Q)
if n > 0 then redis.call('HINCRBY', Q .. ':meta', 'pending', n) end
return res
`)

// luaRuns queues accepted requests: accept adds one to the current run of
// requests of one host and priority, flush pushes the run with one
// command (a page's links, often).
const luaRuns = `
local run, rk, rh, rp = {}, nil, nil, nil
local function flush(Q)
  if #run == 0 then return end
  local len
  if #run == 1 then
    len = redis.call('RPUSH', rk, run[1])
  else
    for j = 1, #run, 4000 do len = redis.call('RPUSH', rk, unpack(run, j, math.min(j + 3999, #run))) end
  end
  if len == #run then listmade(Q, rh, rp, nowf) end
  for j = #run, 1, -1 do run[j] = nil end
end
local function accept(Q, h, p, e)
  if h ~= rh or p ~= rp then
    flush(Q)
    rk, rh, rp = Q .. ':q:' .. p .. ':' .. h, h, p
  end
  run[#run + 1] = e
end
`

// enqueueBloomScript is enqueueScript with the crawl's Bloom filter in
// place of the exact set, in the same atomic step. KEYS = meta, then the
// filter's keys (redisbloom.Filter.Keys). ARGV = Q, lifo, the number of
// requests, then per request host, priority, entry, its bit count and the
// positions of its bits among the old values the filter's loop collects
// (redisbloom.Filter.Plan), then the filter's arguments. A request without
// bits (dont_filter) is not filtered. Returns one 0/1 per request: 1
// accepted.
var enqueueBloomScript = redis.NewScript(luaNow + luaListMade + luaRuns + `
local Q, nreq = ARGV[1], tonumber(ARGV[3])
local reqs, at = {}, 4
for r = 1, nreq do
  reqs[r] = at
  at = at + 4 + tonumber(ARGV[at + 3])
end
local keyBase, argBase = 2, at
` + redisbloom.ScriptLoop + `
local res, n = {}, 0
for r = 1, nreq do
  local a = reqs[r]
  local ok = 1
  local nb = tonumber(ARGV[a + 3])
  if nb > 0 then
    ok = 0
    for j = a + 4, a + 3 + nb do
      if out[tonumber(ARGV[j])] == 0 then
        ok = 1
        break
      end
    end
  end
  if ok == 1 then
    accept(Q, ARGV[a], ARGV[a + 1], ARGV[a + 2])
    n = n + 1
  end
  res[r] = ok
end
flush(Q)
if n > 0 then redis.call('HINCRBY', Q .. ':meta', 'pending', n) end
return res
`)

// luaBatch reads a lease batch's Q:lb value: a MessagePack array of, per
// request, its priority, host and entry. It returns the flat list p1, h1,
// e1, p2, ...; a value that is not such a list is a script error naming
// key.
const luaBatch = `
local function batchentries(key, blob)
  local ok, t = pcall(cmsgpack.unpack, blob)
  if not ok or type(t) ~= 'table' or #t % 3 ~= 0 then
    return redis.error_reply('ERR ' .. key .. ' holds a value that is not a frontier lease batch (was the key written by another program?)')
  end
  for _, v in ipairs(t) do
    if type(v) ~= 'string' then
      return redis.error_reply('ERR ' .. key .. ' holds a value that is not a frontier lease batch (was the key written by another program?)')
    end
  end
  return t
end
`

// luaLeaseID splits lease id "<batch>.<k>" into the batch and k, or nil.
const luaLeaseID = `
local function leaseid(id)
  local d = string.find(id, '.', 1, true)
  if not d then return nil end
  local k = tonumber(string.sub(id, d + 1))
  if not k or k < 1 then return nil end
  return string.sub(id, 1, d - 1), k
end
`

// popScript: ARGV = Q, owner, max, lease ms, delay ms, per-host limit (0:
// none), lifo. Hosts are served in the order of their ready time, one
// request per host per pass; with a delay, one per host per call. The
// requests of one call are one lease batch (Q:leases, Q:lo, Q:lb, Q:la),
// written with one command per key; request k of batch b is lease "b.k".
// Returns the batch, then the entries in order (nothing when none).
var popScript = redis.NewScript(luaNow + luaBulk + `
local Q, owner, max, lease, delay, limit, lifo = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local es, parts, final, nexts, hc, inc, lh, tops, newtop = {}, {}, {}, {}, {}, {}, {}, {}, {}
local got, offset, window = 0, 0, max + 32
-- The hosts' new ready times, formatted once: a number passed to
-- redis.call is formatted for every argument, which costs more than the
-- ZADD itself.
local readyNow, readyNext = string.format('%.17g', nowf), string.format('%.17g', nowf + delay)
local nextMs = string.format('%d', now + delay)
redis.call('ZADD', Q .. ':workers', now, owner)
-- Q:ready is only written at the end, so the windows page through it as
-- it was; a window of hosts that hold nothing any more moves to the next.
while got < max do
  local hosts = redis.call('ZRANGEBYSCORE', Q .. ':ready', '-inf', nowf, 'LIMIT', offset, window)
  if #hosts == 0 then break end
  offset = offset + #hosts
  for i = 1, #hosts, 4000 do
    local t = redis.call('HMGET', Q .. ':top', unpack(hosts, i, math.min(i + 3999, #hosts)))
    for j = 1, math.min(4000, #hosts - i + 1) do tops[hosts[i + j - 1]] = t[j] end
  end
  if limit > 0 then
    for i = 1, #hosts, 4000 do
      local c = redis.call('HMGET', Q .. ':hc', unpack(hosts, i, math.min(i + 3999, #hosts)))
      for j, v in ipairs(c) do hc[hosts[i + j - 1]] = tonumber(v or '0') end
    end
  end
  local live = hosts
  while got < max and #live > 0 do
    local still = {}
    for _, h in ipairs(live) do
      if got >= max then break end
      if limit > 0 and hc[h] >= limit then
        final[h] = readyNow
      else
        -- The host's top priority (Q:top) is at least that of any of its
        -- lists holding requests: a pop is one command. A priority whose
        -- list a pop emptied stays in Q:top and Q:hp until a later pop
        -- finds the list gone and looks for the next one in Q:hp.
        local p = tops[h]
        local e
        if p then
          local qk = Q .. ':q:' .. p .. ':' .. h
          if lifo then e = redis.call('RPOP', qk) else e = redis.call('LPOP', qk) end
        end
        if not e then
          local hp = Q .. ':hp:' .. h
          if p then redis.call('ZREM', hp, p) end
          p = false
          while true do
            local pr = redis.call('ZRANGE', hp, 0, 0)
            if #pr == 0 then break end
            local qk = Q .. ':q:' .. pr[1] .. ':' .. h
            if lifo then e = redis.call('RPOP', qk) else e = redis.call('LPOP', qk) end
            if e then
              p = pr[1]
              break
            end
            redis.call('ZREM', hp, pr[1])
          end
          tops[h] = p
          newtop[h] = p
        end
        if e then
          got = got + 1
          es[got + 1] = e
          parts[3 * got - 2] = p
          parts[3 * got - 1] = h
          parts[3 * got] = e
          if limit > 0 then
            hc[h] = hc[h] + 1
            inc[h] = (inc[h] or 0) + 1
            lh[#lh + 1] = got
            lh[#lh + 1] = h
          end
          if delay > 0 then
            nexts[#nexts + 1] = h
            nexts[#nexts + 1] = nextMs
          end
          final[h] = readyNext
          if delay == 0 then still[#still + 1] = h end
        else
          final[h] = false
        end
      end
    end
    live = still
  end
  if #hosts < window then break end
end
local za, zr = split(final, true)
bulk('ZADD', Q .. ':ready', za, 2)
bulk('ZREM', Q .. ':ready', zr, 1)
bulk('HSET', Q .. ':next', nexts, 2)
local ts, td = split(newtop, false)
bulk('HSET', Q .. ':top', ts, 2)
bulk('HDEL', Q .. ':top', td, 1)
if got == 0 then return {} end
local bid = tostring(redis.call('HINCRBY', Q .. ':meta', 'seq', 1))
es[1] = bid
for i = 1, #lh, 2 do lh[i] = bid .. '.' .. lh[i] end
local counted = '-'
if limit > 0 then counted = 'c' end
redis.call('ZADD', Q .. ':leases', now + lease, bid)
redis.call('HSET', Q .. ':lo', bid, owner)
redis.call('HSET', Q .. ':lb', bid, cmsgpack.pack(parts))
redis.call('HSET', Q .. ':la', bid, counted .. string.rep('0', got))
bulk('HSET', Q .. ':lh', lh, 2)
for h, c in pairs(inc) do redis.call('HINCRBY', Q .. ':hc', h, c) end
redis.call('HINCRBY', Q .. ':meta', 'pending', -got)
redis.call('HINCRBY', Q .. ':meta', 'leased', got)
return es
`)

// luaEndBatch deletes lease batch b.
const luaEndBatch = `
local function endbatch(Q, b)
  redis.call('ZREM', Q .. ':leases', b)
  redis.call('HDEL', Q .. ':lo', b)
  redis.call('HDEL', Q .. ':lb', b)
  redis.call('HDEL', Q .. ':la', b)
end
`

// luaUncount takes the leases ids (of counted batches) off their hosts'
// counts of leased requests.
const luaUncount = `
local function uncount(Q, ids)
  local per = {}
  for i = 1, #ids, 4000 do
    local part = {unpack(ids, i, math.min(i + 3999, #ids))}
    local hs = redis.call('HMGET', Q .. ':lh', unpack(part))
    redis.call('HDEL', Q .. ':lh', unpack(part))
    for _, h in ipairs(hs) do
      if h then per[h] = (per[h] or 0) + 1 end
    end
  end
  for h, c in pairs(per) do
    if redis.call('HINCRBY', Q .. ':hc', h, -c) <= 0 then redis.call('HDEL', Q .. ':hc', h) end
  end
end
`

// ackScript: ARGV = Q, ids... Ends the leases among ids: a batch's state
// (Q:la, a flag then one '0' or '1' per request) marks them done, and the
// batch is deleted once every request of it is; returns how many were
// leases.
var ackScript = redis.NewScript(luaEndBatch + luaUncount + luaLeaseID + `
local Q = ARGV[1]
local byb, order = {}, {}
for i = 2, #ARGV do
  local b, k = leaseid(ARGV[i])
  if b then
    if not byb[b] then
      byb[b] = {}
      order[#order + 1] = b
    end
    byb[b][k] = true
  end
end
local total, counted = 0, {}
for _, b in ipairs(order) do
  local st = redis.call('HGET', Q .. ':la', b)
  if st then
    local fresh = {}
    for k in pairs(byb[b]) do
      if string.byte(st, k + 1) == 48 then fresh[#fresh + 1] = k end
    end
    if #fresh > 0 then
      total = total + #fresh
      if string.byte(st, 1) == 99 then
        for _, k in ipairs(fresh) do counted[#counted + 1] = b .. '.' .. k end
      end
      local _, left = string.gsub(st, '0', '0')
      if left == #fresh then
        -- The whole batch is done (the usual case): no marks to write.
        endbatch(Q, b)
      else
        table.sort(fresh)
        local segs, pos = {}, 1
        for _, k in ipairs(fresh) do
          segs[#segs + 1] = string.sub(st, pos, k)
          segs[#segs + 1] = '1'
          pos = k + 2
        end
        segs[#segs + 1] = string.sub(st, pos)
        redis.call('HSET', Q .. ':la', b, table.concat(segs))
      end
    end
  end
end
if #counted > 0 then uncount(Q, counted) end
if total > 0 then redis.call('HINCRBY', Q .. ':meta', 'leased', -total) end
return total
`)

// extendScript: ARGV = Q, owner, lease ms, ids... Renews the owner's
// lease batches that hold ids; returns the ids that are no longer its
// leases.
var extendScript = redis.NewScript(luaNow + luaLeaseID + `
local Q, owner, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local lost, state = {}, {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local b, k = leaseid(id)
  local st = false
  if b then
    st = state[b]
    if st == nil then
      st = false
      if redis.call('HGET', Q .. ':lo', b) == owner and redis.call('ZSCORE', Q .. ':leases', b) then
        st = redis.call('HGET', Q .. ':la', b) or false
        if st then redis.call('ZADD', Q .. ':leases', now + lease, b) end
      end
      state[b] = st
    end
  end
  if not st or string.byte(st, k + 1) ~= 48 then lost[#lost + 1] = id end
end
redis.call('ZADD', Q .. ':workers', now, owner)
return lost
`)

// recoverScript: ARGV = Q, lifo, max. Returns the requests of at most max
// expired lease batches, those not acknowledged, to the front of their
// queues in the order they were popped, flagged redelivered; returns how
// many.
var recoverScript = redis.NewScript(luaNow + luaRequeue + luaBatch + luaEndBatch + luaUncount + `
local Q, lifo, max = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3])
local bs = redis.call('ZRANGEBYSCORE', Q .. ':leases', '-inf', now, 'LIMIT', 0, max)
-- Every batch is read before anything is written, so a foreign value
-- fails the call without leaving it half done.
local got = {}
for i, b in ipairs(bs) do
  local st = redis.call('HGET', Q .. ':la', b)
  local blob = redis.call('HGET', Q .. ':lb', b)
  local t = false
  if st and blob then
    t = batchentries(Q .. ':lb field ' .. b, blob)
    if t.err then return t end
  end
  got[i] = {st, t}
end
local n = 0
for i, b in ipairs(bs) do
  endbatch(Q, b)
  local st, t = got[i][1], got[i][2]
  if t then
    local counted = {}
    for k = #t / 3, 1, -1 do
      if string.byte(st, k + 1) == 48 then
        local e = t[3 * k]
        requeue(Q, t[3 * k - 1], t[3 * k - 2], 'r' .. string.sub(e, 2), true, lifo, now)
        n = n + 1
        counted[#counted + 1] = b .. '.' .. k
      end
    end
    if string.byte(st, 1) == 99 and #counted > 0 then uncount(Q, counted) end
  end
end
if n > 0 then
  redis.call('HINCRBY', Q .. ':meta', 'pending', n)
  redis.call('HINCRBY', Q .. ':meta', 'redelivered', n)
  redis.call('HINCRBY', Q .. ':meta', 'leased', -n)
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
