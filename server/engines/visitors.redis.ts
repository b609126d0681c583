/**
 * Redis Visitors (see visitors.ts). Key layout (P = prefix, <p> = URI-encoded project id):
 *   P vis:on:<p>      hash, device → open sockets over every live node; HLEN = online visitors
 *   P vis:node:<node> hash, "<p>\n<device>" → this node's open sockets (what a sweep takes back)
 *   P vis:nodes       sorted set, node → beat expiry (Redis' clock, so skewed nodes agree)
 *   P vis:seen:<p>    sorted set, device → last event (epoch ms); ZCOUNT = active visitors
 * Memory per online visitor: one field in vis:on:<p> and one in vis:node:<node> (about 150–250
 * bytes together with a UUID-sized device id; `npm run bench:live` measures it), plus one entry
 * in vis:seen:<p> per device active in the last 10 minutes. Scripts build per-project and
 * per-node key names from the prefix, so this store needs a single Redis (not Redis Cluster),
 * like the rest of Livepanel's Redis engines.
 */
import type { Redis } from 'ioredis';
import { defineScript } from './redis-script.ts';
import { DEFAULT_VISITORS_KEEP_MS, DEFAULT_VISITORS_TTL_MS, type VisitorChange, type Visitors, type VisitorsOptions } from './visitors.ts';

export interface RedisVisitorsOptions extends VisitorsOptions {
  /** Owned by the caller: `close()` does not quit it. */
  redis: Redis;
  prefix: string;
}

const LIB = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function apply(nodeKey, onPrefix, p, d, delta)
  local f = p .. '\\n' .. d
  local before = tonumber(redis.call('HGET', nodeKey, f) or '0')
  local after = before + delta
  if after < 0 then after = 0 end
  if after > 0 then redis.call('HSET', nodeKey, f, after) else redis.call('HDEL', nodeKey, f) end
  local diff = after - before
  if diff ~= 0 then
    local key = onPrefix .. p
    if redis.call('HINCRBY', key, d, diff) <= 0 then redis.call('HDEL', key, d) end
  end
end
local function drop(nodesKey, nodePrefix, onPrefix, node, changed)
  local nodeKey = nodePrefix .. node
  local all = redis.call('HGETALL', nodeKey)
  for i = 1, #all, 2 do
    local nl = string.find(all[i], '\\n', 1, true)
    local p, d = string.sub(all[i], 1, nl - 1), string.sub(all[i], nl + 1)
    local key = onPrefix .. p
    if redis.call('HINCRBY', key, d, -tonumber(all[i + 1])) <= 0 then redis.call('HDEL', key, d) end
    changed[p] = true
  end
  redis.call('DEL', nodeKey)
  redis.call('ZREM', nodesKey, node)
end
`;

/**
 * KEYS: nodes zset, node hash. ARGV: node, ttlMs, on-prefix, then (project, device, delta)*.
 * Returns 0 and writes nothing when the node is not live (see Visitors.change), else 1.
 */
const changeScript = defineScript(`${LIB}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) <= now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
for i = 4, #ARGV, 3 do apply(KEYS[2], ARGV[3], ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])) end
return 1
`);

/** KEYS: nodes zset. ARGV: node, ttlMs, node-prefix, on-prefix, reset (0/1). Returns 1 when the node was live. */
const beatScript = defineScript(`${LIB}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local live = score and tonumber(score) > now
if not live or ARGV[5] == '1' then drop(KEYS[1], ARGV[3], ARGV[4], ARGV[1], {}) end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if live then return 1 else return 0 end
`);

/** KEYS: nodes zset. ARGV: node-prefix, on-prefix. Returns the (encoded) projects that changed. */
const sweepScript = defineScript(`${LIB}
local changed = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do drop(KEYS[1], ARGV[1], ARGV[2], node, changed) end
local out = {}
for p in pairs(changed) do out[#out + 1] = p end
return out
`);

/** KEYS: seen zset. ARGV: at, keepMs, devices… */
const seenScript = defineScript(`${LIB}
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);

/** Triples per script call (a reset of a busy node goes in several). */
const CHUNK = 5000;

export function createRedisVisitors(opts: RedisVisitorsOptions): Visitors {
  const { redis, prefix } = opts;
  const ttl = opts.ttlMs ?? DEFAULT_VISITORS_TTL_MS;
  const keep = opts.keepMs ?? DEFAULT_VISITORS_KEEP_MS;
  const nodesKey = `${prefix}vis:nodes`;
  const nodePrefix = `${prefix}vis:node:`;
  const onPrefix = `${prefix}vis:on:`;
  const enc = encodeURIComponent;
  const args = (changes: VisitorChange[]) => changes.flatMap(([p, d, n]) => (p && d && Number.isFinite(n) && n !== 0 ? [enc(p), d, Math.trunc(n)] : []));

  /**
   * A large change goes in parts. Should the node expire between two (the TTL passed while they
   * were written), the rest is refused too: the caller's reset replaces the part written.
   */
  async function change(node: string, changes: VisitorChange[]) {
    for (let i = 0; i < changes.length || i === 0; i += CHUNK) {
      const live = await changeScript(redis, [nodesKey, nodePrefix + node], [node, ttl, onPrefix, ...args(changes.slice(i, i + CHUNK))]);
      if (live !== 1) return false;
    }
    return true;
  }

  return {
    change,
    async beat(node) {
      return (await beatScript(redis, [nodesKey], [node, ttl, nodePrefix, onPrefix, 0])) === 1;
    },
    async reset(node, state) {
      await beatScript(redis, [nodesKey], [node, ttl, nodePrefix, onPrefix, 1]);
      if (state.length && !(await change(node, state))) throw new Error(`visitors: node ${node} expired while its state was written`);
    },
    async sweep() {
      const out = (await sweepScript(redis, [nodesKey], [nodePrefix, onPrefix])) as string[];
      return out.map((p) => decodeURIComponent(p));
    },
    async online(p) {
      return redis.hlen(onPrefix + enc(p));
    },
    async seen(p, devices, at) {
      const ds = devices.filter(Boolean);
      if (ds.length) await seenScript(redis, [`${prefix}vis:seen:${enc(p)}`], [Math.trunc(at), keep, ...ds]);
    },
    async active(p, since) {
      return redis.zcount(`${prefix}vis:seen:${enc(p)}`, Math.trunc(since), '+inf');
    },
    async close() {},
  };
}
