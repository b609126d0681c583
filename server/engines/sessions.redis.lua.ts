/**
 * Lua for `sessions.redis.ts` (key layout documented there). TOUCH mirrors `applyHit` in
 * `sessions.ts`; keep the two in step — the session contract test runs both stores.
 */

/**
 * KEYS: session hash, expiry index. ARGV: member, at, timeoutMs, slackMs, path, origin,
 * profileId, isScreenView (1/0), revenue, [seedExpiresAt, seedTtlMs, field, value, …].
 * Returns {0, session} continued, {1, {}, closed-or-{}} started, or {2} when a seed is needed.
 */
export const TOUCH_LUA = `
local key, index, member = KEYS[1], KEYS[2], ARGV[1]
local at, timeout, slack = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = redis.call('HMGET', key, 'lastSeenAt', 'keepAliveUntil', 'startedAt', 'profileId')
local closed = {}
if cur[1] then
  local last, keep = tonumber(cur[1]), tonumber(cur[2])
  if at < math.max(last + timeout, keep) then
    if at >= last then
      redis.call('HSET', key, 'lastSeenAt', ARGV[2])
      if ARGV[5] ~= '' then redis.call('HSET', key, 'exitPath', ARGV[5], 'exitOrigin', ARGV[6]) end
      last = at
    end
    if at < tonumber(cur[3]) then
      redis.call('HSET', key, 'startedAt', ARGV[2], 'entryPath', ARGV[5], 'entryOrigin', ARGV[6])
    end
    redis.call('HINCRBY', key, 'eventCount', 1)
    if ARGV[8] == '1' then redis.call('HINCRBY', key, 'screenViewCount', 1) end
    if tonumber(ARGV[9]) ~= 0 then redis.call('HINCRBYFLOAT', key, 'revenue', ARGV[9]) end
    if ARGV[7] ~= '' and (not cur[4] or cur[4] == '') then
      redis.call('HSET', key, 'profileId', ARGV[7])
    end
    local exp = math.max(last + timeout, keep)
    redis.call('ZADD', index, exp, member)
    redis.call('PEXPIRE', key, math.ceil(exp - last + slack))
    return {0, redis.call('HGETALL', key)}
  end
  if not ARGV[10] then return {2} end
  closed = redis.call('HGETALL', key)
  redis.call('DEL', key)
elseif not ARGV[10] then
  return {2}
end
redis.call('HSET', key, unpack(ARGV, 12))
redis.call('ZADD', index, ARGV[10], member)
redis.call('PEXPIRE', key, ARGV[11])
return {1, {}, closed}
`;

/** KEYS: session hash, expiry index. ARGV: member, until, timeoutMs, slackMs. Never lowers keepAliveUntil. */
export const KEEP_ALIVE_LUA = `
local cur = redis.call('HMGET', KEYS[1], 'lastSeenAt', 'keepAliveUntil')
if not cur[1] then return 0 end
local untilMs = tonumber(ARGV[2])
if untilMs <= tonumber(cur[2]) then return 0 end
redis.call('HSET', KEYS[1], 'keepAliveUntil', ARGV[2])
local last = tonumber(cur[1])
local exp = math.max(last + tonumber(ARGV[3]), untilMs)
redis.call('ZADD', KEYS[2], exp, ARGV[1])
local ttl = math.ceil(exp - last + tonumber(ARGV[4]))
if ttl > redis.call('PTTL', KEYS[1]) then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/**
 * KEYS: expiry index. ARGV: now, limit, session key prefix. Removes up to `limit` due sessions
 * from the index and their hashes and returns them (flat field/value lists). Index members
 * whose hash already vanished through the safety TTL are dropped without counting.
 */
export const CLAIM_LUA = `
local out = {}
local limit = tonumber(ARGV[2])
while #out < limit do
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit - #out)
  if #due == 0 then break end
  redis.call('ZREM', KEYS[1], unpack(due))
  for _, member in ipairs(due) do
    local key = ARGV[3] .. member
    local s = redis.call('HGETALL', key)
    if #s > 0 then
      redis.call('DEL', key)
      out[#out + 1] = s
    end
  end
end
return out
`;

/**
 * TOUCH for many hits of one batch, in order, in one call. KEYS: expiry index, then the
 * session hash of each device. ARGV: timeoutMs, slackMs, the byte length of the session key
 * prefix (a key minus it is the index member), the hits as one JSON array — per hit
 * [key position (in KEYS), at, path, origin, profileId, isScreenView (1/0), revenue, seed
 * position (in ARGV; 0: no seed)], times and revenue as strings, written as given — then one
 * JSON array per seed: [expiresAt, ttlMs, field, value, …], decoded only when used. Replies
 * per hit, in order: {0, id, exitPath, exitOrigin} continued, or {1, closed-or-{}} started; at
 * the first hit that must start a session but has no seed it stops, its reply is {2} and the
 * hits from there on are not applied.
 *
 * Each hit is TOUCH's, but a session's fields are read once per call and its writes gathered
 * in `s`, then written once per session (`flush`): at the end, before the session is closed
 * by a later hit, and before a stop. The final hash, index score and TTL are those of one TOUCH
 * per hit (the last write of each field wins either way, counts add up); a batch of one
 * device costs a handful of commands instead of seven per hit. Revenue is added per hit as
 * TOUCH adds it (HINCRBYFLOAT: a sum of floats in another order could differ in its last digit).
 */
export const TOUCH_MANY_LUA = `
local index = KEYS[1]
local timeout, slack, prefixLen = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local hits = cjson.decode(ARGV[4])
-- Per key position: false (no session), or the session as read and changed so far.
local sessions = {}

local function load(k)
  local cur = redis.call('HMGET', KEYS[k], 'lastSeenAt', 'keepAliveUntil', 'startedAt', 'profileId', 'id', 'exitPath', 'exitOrigin')
  if not cur[1] then return false end
  return {last = tonumber(cur[1]), keep = tonumber(cur[2]), started = tonumber(cur[3]), profile = cur[4] or '',
    id = cur[5], exitPath = cur[6], exitOrigin = cur[7], set = {}, events = 0, views = 0, exp = nil, ttl = nil}
end

local function flush(k, s)
  if not s or s.exp == nil then return end
  local key = KEYS[k]
  local fields = {}
  for f, v in pairs(s.set) do
    fields[#fields + 1] = f
    fields[#fields + 1] = v
  end
  if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
  if s.events > 0 then redis.call('HINCRBY', key, 'eventCount', s.events) end
  if s.views > 0 then redis.call('HINCRBY', key, 'screenViewCount', s.views) end
  redis.call('ZADD', index, s.exp, string.sub(key, prefixLen + 1))
  redis.call('PEXPIRE', key, s.ttl)
  s.set, s.events, s.views, s.exp, s.ttl = {}, 0, 0, nil, nil
end

local function flushAll()
  for k, s in pairs(sessions) do flush(k, s) end
end

local out = {}
for h = 1, #hits do
  local hit = hits[h]
  local k, atArg, path, origin, profile, screen, revenue, seedAt = hit[1], hit[2], hit[3], hit[4], hit[5], hit[6], hit[7], hit[8]
  local at = tonumber(atArg)
  local s = sessions[k]
  if s == nil then
    s = load(k)
    sessions[k] = s
  end
  if s and at < math.max(s.last + timeout, s.keep) then
    if at >= s.last then
      s.last = at
      s.set.lastSeenAt = atArg
      if path ~= '' then
        s.exitPath, s.exitOrigin = path, origin
        s.set.exitPath, s.set.exitOrigin = path, origin
      end
    end
    if at < s.started then
      s.started = at
      s.set.startedAt, s.set.entryPath, s.set.entryOrigin = atArg, path, origin
    end
    s.events = s.events + 1
    if screen == 1 then s.views = s.views + 1 end
    if tonumber(revenue) ~= 0 then redis.call('HINCRBYFLOAT', KEYS[k], 'revenue', revenue) end
    if profile ~= '' and s.profile == '' then
      s.profile = profile
      s.set.profileId = profile
    end
    s.exp = math.max(s.last + timeout, s.keep)
    s.ttl = math.ceil(s.exp - s.last + slack)
    out[#out + 1] = {0, s.id, s.exitPath, s.exitOrigin}
  else
    if seedAt == 0 then
      flushAll()
      out[#out + 1] = {2}
      return out
    end
    local key = KEYS[k]
    local closed = {}
    if s then
      flush(k, s)
      closed = redis.call('HGETALL', key)
      redis.call('DEL', key)
    end
    local seed = cjson.decode(ARGV[seedAt])
    redis.call('HSET', key, unpack(seed, 3))
    redis.call('ZADD', index, seed[1], string.sub(key, prefixLen + 1))
    redis.call('PEXPIRE', key, seed[2])
    sessions[k] = nil -- read again at the device's next hit
    out[#out + 1] = {1, closed}
  end
end
flushAll()
return out
`;
