/**
 * Redis Presence. Key layout (P = prefix, <project> URI-encoded):
 *   P presence:<project>   hash, nodeId → "<count>:<expiresAtMs>"; key TTL = the last report's
 *   P presence-projects    sorted set, <project> → latest report expiry, so `counts()` reads
 *                          only projects with a live report
 * A hash per project keeps each node's expiry beside its count: `count` is one HGETALL over a
 * handful of nodes, and a dead node's report stops counting at its own expiry without anyone
 * cleaning up (writes prune expired fields in passing; the key TTL drops abandoned projects).
 * Expiry uses Redis' clock (TIME), so nodes with skewed clocks agree. Needs Redis >= 6.2.
 */
import type { Redis } from 'ioredis';
import { DEFAULT_PRESENCE_TTL_MS, type Presence, type PresenceOptions } from './presence.ts';
import { defineScript } from './redis-script.ts';

export interface RedisPresenceOptions extends PresenceOptions {
  /** Owned by the caller: `close()` does not quit it. */
  redis: Redis;
  prefix: string;
}

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function live(key)
  local all, total = redis.call('HGETALL', key), 0
  for i = 1, #all, 2 do
    local n, exp = string.match(all[i + 1], '^(%d+):(%d+)$')
    if tonumber(exp) > now then total = total + tonumber(n) else all[i + 1] = false end
  end
  return total, all
end
`;

/** KEYS: project hash, projects zset. ARGV: nodeId, count, ttlMs, encoded project. */
const setScript = defineScript(`${NOW}
local _, all = live(KEYS[1])
for i = 1, #all, 2 do
  if not all[i + 1] then redis.call('HDEL', KEYS[1], all[i]) end
end
local ttl = tonumber(ARGV[3])
if tonumber(ARGV[2]) > 0 then
  local exp = now + ttl
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. string.format('%d', exp))
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  redis.call('ZADD', KEYS[2], 'GT', exp, ARGV[4])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
return 1
`);

/** KEYS: project hash. */
const countScript = defineScript(`${NOW}
return (live(KEYS[1]))
`);

/** KEYS: projects zset. ARGV: project hash key prefix. Returns {project, count, …}. */
const countsScript = defineScript(`${NOW}
local out = {}
for _, p in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
  local total = live(ARGV[1] .. p)
  if total > 0 then
    out[#out + 1] = p
    out[#out + 1] = total
  end
end
return out
`);

export function createRedisPresence(opts: RedisPresenceOptions): Presence {
  const { redis, prefix } = opts;
  const ttlMs = Math.max(1, Math.ceil(opts.ttlMs ?? DEFAULT_PRESENCE_TTL_MS));
  const hashPrefix = `${prefix}presence:`;
  const projectsKey = `${prefix}presence-projects`;
  const hashOf = (projectId: string) => hashPrefix + encodeURIComponent(projectId);

  return {
    async set(nodeId, projectId, count) {
      const n = Math.max(0, Math.floor(count));
      await setScript(redis, [hashOf(projectId), projectsKey], [nodeId, n, ttlMs, encodeURIComponent(projectId)]);
    },
    async count(projectId) {
      return Number(await countScript(redis, [hashOf(projectId)], []));
    },
    async counts() {
      const flat = (await countsScript(redis, [projectsKey], [hashPrefix])) as (string | number)[];
      const out: Record<string, number> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) out[decodeURIComponent(String(flat[i]))] = Number(flat[i + 1]);
      return out;
    },
    async close() {
      // The client belongs to the caller; nothing else is held.
    },
  };
}
