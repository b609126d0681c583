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
 * session hash of each device. ARGV: timeoutMs, slackMs, hit count, then 9 values per hit —
 * key position (in KEYS), member, at, path, origin, profileId, isScreenView (1/0), revenue,
 * seed position (in ARGV; 0: no seed) — then the seeds: expiresAt, ttlMs, field count n, and
 * n field/value pairs. Replies per hit, in order: {0, id, exitPath, exitOrigin} continued, or
 * {1, closed-or-{}} started; at the first hit that must start a session but has no seed it
 * stops, its reply is {2} and the hits from there on are not applied.
 */
export const TOUCH_MANY_LUA = `
local index = KEYS[1]
local timeout, slack, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for h = 0, n - 1 do
  local b = 4 + h * 9
  local key, member, atArg = KEYS[tonumber(ARGV[b])], ARGV[b + 1], ARGV[b + 2]
  local at = tonumber(atArg)
  local path, origin, profile = ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
  local seedAt = tonumber(ARGV[b + 8])
  local cur = redis.call('HMGET', key, 'lastSeenAt', 'keepAliveUntil', 'startedAt', 'profileId')
  local continued = false
  if cur[1] then
    local last, keep = tonumber(cur[1]), tonumber(cur[2])
    if at < math.max(last + timeout, keep) then
      continued = true
      if at >= last then
        redis.call('HSET', key, 'lastSeenAt', atArg)
        if path ~= '' then redis.call('HSET', key, 'exitPath', path, 'exitOrigin', origin) end
        last = at
      end
      if at < tonumber(cur[3]) then
        redis.call('HSET', key, 'startedAt', atArg, 'entryPath', path, 'entryOrigin', origin)
      end
      redis.call('HINCRBY', key, 'eventCount', 1)
      if ARGV[b + 6] == '1' then redis.call('HINCRBY', key, 'screenViewCount', 1) end
      if tonumber(ARGV[b + 7]) ~= 0 then redis.call('HINCRBYFLOAT', key, 'revenue', ARGV[b + 7]) end
      if profile ~= '' and (not cur[4] or cur[4] == '') then
        redis.call('HSET', key, 'profileId', profile)
      end
      local exp = math.max(last + timeout, keep)
      redis.call('ZADD', index, exp, member)
      redis.call('PEXPIRE', key, math.ceil(exp - last + slack))
      local now = redis.call('HMGET', key, 'id', 'exitPath', 'exitOrigin')
      out[#out + 1] = {0, now[1], now[2], now[3]}
    end
  end
  if not continued then
    if seedAt == 0 then
      out[#out + 1] = {2}
      return out
    end
    local closed = {}
    if cur[1] then
      closed = redis.call('HGETALL', key)
      redis.call('DEL', key)
    end
    local count = tonumber(ARGV[seedAt + 2])
    redis.call('HSET', key, unpack(ARGV, seedAt + 3, seedAt + 2 + count * 2))
    redis.call('ZADD', index, ARGV[seedAt], member)
    redis.call('PEXPIRE', key, ARGV[seedAt + 1])
    out[#out + 1] = {1, closed}
  end
end
return out
`;
