/**
 * The Redis engine's steps, one Lua script each (Redis runs a script
 * atomically, so two nodes racing on one client or uid see one order).
 * Every script takes the key prefix as ARGV[1] and reads Redis's own clock
 * (`TIME`), so scores written by different machines compare.
 *
 * Keys (P = prefix):
 *   P n            zset  node → heartbeat expiry
 *   P ni:{node}    str   the node's last report (JSON)
 *   P nu:{node}    set   uids with a WS connection on the node
 *   P nc:{node}    set   WS client ids on the node
 *   P up:{uid}     set   nodes with a WS connection of the uid
 *   P ua:{uid}     zset  Ajax client id → connected until
 *   P gr           zset  uid → end of a grace period (a node died under it)
 *   P exp          zset  uid → when to check it again (Ajax expiries, graces)
 *   P uids         set   known uids
 *   P ac           zset  Ajax client id → connected until (for broadcasts)
 *   P a:{cid}      hash  u = uid, h = node holding its poll
 *   P w:{cid}      str   node holding its WS connection
 *   P q:{cid}      list  "expiry:" .. frame, oldest first
 * Channels: P ch:n:{node} (a node's inbox), P ch:b (broadcasts).
 *
 * Keys are built inside the scripts, so this is for a single Redis (or a
 * Sentinel-managed primary), not Redis Cluster.
 */

const PRELUDE = `
local P = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function known(uid)
  return redis.call('EXISTS', P .. 'up:' .. uid) == 1 or redis.call('ZSCORE', P .. 'exp', uid) ~= false
end
-- Queues one item for a client and wakes whoever holds it. 1 queued, 0 full.
local function enqueue(cid, item, maxLen, ttl)
  local q = P .. 'q:' .. cid
  if redis.call('RPUSH', q, item) > maxLen then
    redis.call('RPOP', q)
    return 0
  end
  redis.call('PEXPIRE', q, ttl)
  local h = redis.call('HGET', P .. 'a:' .. cid, 'h')
  if not h then h = redis.call('GET', P .. 'w:' .. cid) end
  if h then redis.call('PUBLISH', P .. 'ch:n:' .. h, 'W-' .. cid) end
  return 1
end
-- Pops up to n live items; returns {expired, frame...}.
local function take(cid, n)
  local q = P .. 'q:' .. cid
  local out = {0}
  while #out <= n do
    local item = redis.call('LPOP', q)
    if not item then break end
    local i = string.find(item, ':', 1, true)
    if tonumber(string.sub(item, 1, i - 1)) >= now then
      out[#out + 1] = string.sub(item, i + 1)
    else
      out[1] = out[1] + 1
    end
  end
  return out
end
`;

const script = (body: string): string => PRELUDE + body;

/** ARGV: P, from, uid, msg → nodes published to. */
export const PUSH_USER = script(`
local n = 0
for _, node in ipairs(redis.call('SMEMBERS', P .. 'up:' .. ARGV[3])) do
  if node ~= ARGV[2] then
    redis.call('PUBLISH', P .. 'ch:n:' .. node, ARGV[4])
    n = n + 1
  end
end
return n
`);

/** ARGV: P, uid, frame, windowMs, maxLen → {queued, full}. */
export const QUEUE_USER = script(`
local ua = P .. 'ua:' .. ARGV[2]
local item = (now + tonumber(ARGV[4])) .. ':' .. ARGV[3]
local ttl = tonumber(ARGV[4]) * 2
local ok, full = 0, 0
for _, cid in ipairs(redis.call('ZRANGEBYSCORE', ua, now, '+inf')) do
  if enqueue(cid, item, tonumber(ARGV[5]), ttl) == 1 then ok = ok + 1 else full = full + 1 end
end
return {ok, full}
`);

/** ARGV: P, from, cid, msg → 1 if published. */
export const PUSH_CLIENT = script(`
local w = redis.call('GET', P .. 'w:' .. ARGV[3])
if w and w ~= ARGV[2] then
  redis.call('PUBLISH', P .. 'ch:n:' .. w, ARGV[4])
  return 1
end
return 0
`);

/** ARGV: P, cid, frame, windowMs, maxLen → {queued, full}. */
export const QUEUE_CLIENT = script(`
local s = redis.call('ZSCORE', P .. 'ac', ARGV[2])
if not s or tonumber(s) < now then return {0, 0} end
local r = enqueue(ARGV[2], (now + tonumber(ARGV[4])) .. ':' .. ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[4]) * 2)
return {r, 1 - r}
`);

/** ARGV: P, frame, windowMs, maxLen → {queued, full}. */
export const QUEUE_BROADCAST = script(`
local item = (now + tonumber(ARGV[3])) .. ':' .. ARGV[2]
local ttl = tonumber(ARGV[3]) * 2
local ok, full = 0, 0
for _, cid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'ac', now, '+inf')) do
  if enqueue(cid, item, tonumber(ARGV[4]), ttl) == 1 then ok = ok + 1 else full = full + 1 end
end
return {ok, full}
`);

/** ARGV: P, cid, frame, windowMs, maxLen → {queued, full}. */
export const KEEP = script(`
local r = enqueue(ARGV[2], (now + tonumber(ARGV[4])) .. ':' .. ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[4]) * 2)
return {r, 1 - r}
`);

/** ARGV: P, node, uid → 1 if the uid became known. */
export const WS_UP = script(`
local was = known(ARGV[3])
redis.call('SADD', P .. 'up:' .. ARGV[3], ARGV[2])
redis.call('SADD', P .. 'nu:' .. ARGV[2], ARGV[3])
redis.call('SADD', P .. 'uids', ARGV[3])
if was then return 0 end
return 1
`);

/** ARGV: P, node, uid → 1 if the uid became unknown. */
export const WS_DOWN = script(`
if redis.call('SREM', P .. 'up:' .. ARGV[3], ARGV[2]) == 0 then return 0 end
redis.call('SREM', P .. 'nu:' .. ARGV[2], ARGV[3])
if known(ARGV[3]) then return 0 end
redis.call('SREM', P .. 'uids', ARGV[3])
return 1
`);

/** ARGV: P, node, cid → {expired, frame...} (everything queued for it). */
export const WS_CLIENT_OPEN = script(`
redis.call('SET', P .. 'w:' .. ARGV[3], ARGV[2])
redis.call('SADD', P .. 'nc:' .. ARGV[2], ARGV[3])
return take(ARGV[3], 100000)
`);

/** ARGV: P, node, cid. */
export const WS_CLIENT_GONE = script(`
local w = P .. 'w:' .. ARGV[3]
if redis.call('GET', w) == ARGV[2] then redis.call('DEL', w) end
redis.call('SREM', P .. 'nc:' .. ARGV[2], ARGV[3])
return 0
`);

/** ARGV: P, cid, uid, ttlMs. */
export const AJAX_HANDSHAKE = script(`
local a = P .. 'a:' .. ARGV[2]
redis.call('HSET', a, 'u', ARGV[3])
redis.call('PEXPIRE', a, tonumber(ARGV[4]))
return 0
`);

/** ARGV: P, node, cid, uid, holdMs, ttlMs → {opened, expired, frame?}. */
export const AJAX_HOLD = script(`
local cid, uid = ARGV[3], ARGV[4]
local was = known(uid)
local a = P .. 'a:' .. cid
redis.call('HSET', a, 'u', uid, 'h', ARGV[2])
redis.call('PEXPIRE', a, tonumber(ARGV[6]))
local untilT = now + tonumber(ARGV[5])
redis.call('ZADD', P .. 'ua:' .. uid, untilT, cid)
redis.call('ZADD', P .. 'ac', untilT, cid)
redis.call('ZADD', P .. 'exp', 'LT', untilT, uid)
redis.call('SADD', P .. 'uids', uid)
local r = take(cid, 1)
local opened = 1
if was then opened = 0 end
table.insert(r, 1, opened)
return r
`);

/** ARGV: P, cid → {expired, frame?}. */
export const AJAX_TAKE = script(`
return take(ARGV[2], 1)
`);

/** ARGV: P, cid, frame, windowMs. */
export const UNTAKE = script(`
local q = P .. 'q:' .. ARGV[2]
redis.call('LPUSH', q, (now + tonumber(ARGV[4])) .. ':' .. ARGV[3])
redis.call('PEXPIRE', q, tonumber(ARGV[4]) * 2)
return 0
`);

/** ARGV: P, node, cid, uid, graceMs, ttlMs. */
export const AJAX_RELEASE = script(`
local cid, uid = ARGV[3], ARGV[4]
local a = P .. 'a:' .. cid
if redis.call('HGET', a, 'h') == ARGV[2] then
  redis.call('HDEL', a, 'h')
  local ua = P .. 'ua:' .. uid
  -- A client already reaped stays gone: no close without its open.
  if redis.call('ZSCORE', ua, cid) then
    local untilT = now + tonumber(ARGV[5])
    redis.call('ZADD', ua, untilT, cid)
    redis.call('ZADD', P .. 'ac', 'XX', untilT, cid)
    redis.call('ZADD', P .. 'exp', 'LT', untilT, uid)
  end
end
redis.call('PEXPIRE', a, tonumber(ARGV[6]))
return 0
`);

/** ARGV: P, node, ttlMs, report → 1 if the cluster had forgotten the node (reaped, or a restarted Redis). */
export const HEARTBEAT = script(`
local added = redis.call('ZADD', P .. 'n', now + tonumber(ARGV[3]), ARGV[2])
redis.call('SET', P .. 'ni:' .. ARGV[2], ARGV[4], 'PX', tonumber(ARGV[3]) * 2)
return added
`);

/**
 * Clears a node's presence; its WS uids get a grace period. Shared by
 * REAP (lapsed heartbeats) and LEAVE (a node closing).
 */
const DROP_NODE = `
local function dropNode(node, graceMs)
  for _, uid in ipairs(redis.call('SMEMBERS', P .. 'nu:' .. node)) do
    redis.call('SREM', P .. 'up:' .. uid, node)
    redis.call('ZADD', P .. 'gr', 'GT', now + graceMs, uid)
    redis.call('ZADD', P .. 'exp', 'LT', now + graceMs, uid)
  end
  for _, cid in ipairs(redis.call('SMEMBERS', P .. 'nc:' .. node)) do
    local w = P .. 'w:' .. cid
    if redis.call('GET', w) == node then redis.call('DEL', w) end
  end
  redis.call('DEL', P .. 'nu:' .. node, P .. 'nc:' .. node, P .. 'ni:' .. node)
  redis.call('ZREM', P .. 'n', node)
end
`;

/** ARGV: P, wsGraceMs, limit → uids that became unknown. */
export const REAP = script(
  DROP_NODE +
    `
for _, node in ipairs(redis.call('ZRANGEBYSCORE', P .. 'n', '-inf', now - 1)) do
  dropNode(node, tonumber(ARGV[2]))
end
redis.call('ZREMRANGEBYSCORE', P .. 'ac', '-inf', now - 1)
local closed = {}
for _, uid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local ua = P .. 'ua:' .. uid
  redis.call('ZREMRANGEBYSCORE', ua, '-inf', now - 1)
  local nextT = false
  local first = redis.call('ZRANGE', ua, 0, 0, 'WITHSCORES')
  if first[2] then nextT = tonumber(first[2]) end
  local g = redis.call('ZSCORE', P .. 'gr', uid)
  if g then
    g = tonumber(g)
    if g < now then
      redis.call('ZREM', P .. 'gr', uid)
    elseif not nextT or g < nextT then
      nextT = g
    end
  end
  if nextT then
    redis.call('ZADD', P .. 'exp', nextT, uid)
  else
    redis.call('ZREM', P .. 'exp', uid)
    if redis.call('EXISTS', P .. 'up:' .. uid) == 0 then
      redis.call('SREM', P .. 'uids', uid)
      closed[#closed + 1] = uid
    end
  end
end
return closed
`,
);

/** ARGV: P, node, wsGraceMs. */
export const LEAVE = script(
  DROP_NODE +
    `
dropNode(ARGV[2], tonumber(ARGV[3]))
return 0
`,
);

/** ARGV: P → {uid, flags, ...} (flags: 1 ws, 2 ajax). */
export const CONNECTED_UIDS = script(`
local out = {}
for _, uid in ipairs(redis.call('SMEMBERS', P .. 'uids')) do
  local f = 0
  if redis.call('EXISTS', P .. 'up:' .. uid) == 1 then f = f + 1 end
  if redis.call('ZCOUNT', P .. 'ua:' .. uid, now, '+inf') > 0 then f = f + 2 end
  out[#out + 1] = uid
  out[#out + 1] = f
end
return out
`);

/** ARGV: P → {node, expiresAt, report|false, ...}. */
export const NODES = script(`
local out = {}
local ns = redis.call('ZRANGE', P .. 'n', 0, -1, 'WITHSCORES')
for i = 1, #ns, 2 do
  out[#out + 1] = ns[i]
  out[#out + 1] = ns[i + 1]
  out[#out + 1] = redis.call('GET', P .. 'ni:' .. ns[i]) or ''
end
return out
`);
