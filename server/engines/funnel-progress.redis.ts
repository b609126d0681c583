/**
 * Redis FunnelProgress (see funnel-progress.ts). Key layout (P = prefix, S = scope: the
 * URI-encoded project id and the tile key):
 *   P fn:S                 hash {from, ready}: the tile's epoch, expiring unless a node asks for it
 *   P fn:S:<from>:<session> string `level:start1:…`: one visit's progress, expiring the funnel
 *                          window + 1 minute after its last step row
 *   P fn:S:<from>          list of `at:mask:session`: rows held until the seed (a few seconds)
 * `advance` is one script call per batch of rows (each visit read and written once per call).
 * Memory: one small string key per visit that matched a step within the window — about 230
 * bytes with UUID-sized ids (funnel-progress.redis.int.test.ts measures it). Scripts build key
 * names from the prefix, so this store needs a single Redis (not Redis Cluster), like the rest
 * of Livepanel's Redis engines.
 */
import type { Redis } from 'ioredis';
import {
  encodeState,
  FUNNEL_EPOCH_TTL_MS,
  FUNNEL_STATE_SLACK_MS,
  type FunnelEpoch,
  type FunnelProgress,
  type FunnelRow,
  type FunnelShape,
} from './funnel-progress.ts';
import { defineScript } from './redis-script.ts';

export interface RedisFunnelProgressOptions {
  /** Owned by the caller: `close()` does not quit it. */
  redis: Redis;
  prefix: string;
  epochTtlMs?: number;
}

/** KEYS: epoch hash. ARGV: ttlMs. */
const epochScript = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return redis.call('HMGET', KEYS[1], 'from', 'ready')
`);

/** KEYS: epoch hash. ARGV: from, ttlMs. */
const claimScript = defineScript(`
if redis.call('HSETNX', KEYS[1], 'from', ARGV[1]) == 1 then redis.call('HSET', KEYS[1], 'ready', '0') end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HMGET', KEYS[1], 'from', 'ready')
`);

/** KEYS: epoch hash. ARGV: before. */
const retireScript = defineScript(`
local from = redis.call('HGET', KEYS[1], 'from')
if from and tonumber(from) < tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
return 1
`);

/**
 * The step rule (same as stepFunnel) over states cached for one call. `advance(st, mask, at)`
 * moves a state; `flush()` writes every changed state with its expiry.
 */
const LIB = `
local function funnel(n, win, ttl, pre)
  local cache, dirty = {}, {}
  local self = {}
  function self.get(sess)
    local st = cache[sess]
    if st then return st end
    st = { level = 0, starts = {} }
    for k = 1, n do st.starts[k] = -1 end
    local raw = redis.call('GET', pre .. sess)
    if raw then
      local k = 0
      for part in string.gmatch(raw, '[^:]+') do
        if k == 0 then st.level = tonumber(part) elseif k <= n then st.starts[k] = tonumber(part) end
        k = k + 1
      end
    end
    cache[sess] = st
    return st
  end
  function self.step(sess, mask, at, out)
    local st = self.get(sess)
    local before = st.level
    for k = 1, n do
      if bit.band(mask, bit.lshift(1, k - 1)) ~= 0 then
        local ok = false
        if k == 1 then
          st.starts[1] = at
          ok = true
        elseif st.starts[k - 1] >= 0 and at <= st.starts[k - 1] + win then
          st.starts[k] = st.starts[k - 1]
          ok = true
        end
        if ok then
          dirty[sess] = true
          if k > st.level then st.level = k end
        end
      end
    end
    out[#out + 1] = before
    out[#out + 1] = st.level
  end
  function self.flush()
    for sess in pairs(dirty) do
      local st = cache[sess]
      redis.call('SET', pre .. sess, st.level .. ':' .. table.concat(st.starts, ':'), 'PX', ttl)
    end
  end
  return self
end
`;

/**
 * KEYS: epoch hash, held list. ARGV: from, steps, windowMs, stateTtlMs, statePrefix, last (0/1), (session, state)*.
 * The last chunk replays the held rows (by received time, then arrival) and marks the epoch ready.
 * Returns 0 (epoch replaced), 1 (chunk written) or {held rows as "at:mask:session"…, levels…}.
 */
const seedScript = defineScript(`${LIB}
if redis.call('HGET', KEYS[1], 'from') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'ready') == '1' then return {} end
for i = 7, #ARGV, 2 do redis.call('SET', ARGV[5] .. ARGV[i], ARGV[i + 1], 'PX', ARGV[4]) end
if ARGV[6] ~= '1' then return 1 end
local held = redis.call('LRANGE', KEYS[2], 0, -1)
local rows = {}
for i, raw in ipairs(held) do
  local c1 = string.find(raw, ':', 1, true)
  local c2 = string.find(raw, ':', c1 + 1, true)
  rows[#rows + 1] = { at = tonumber(string.sub(raw, 1, c1 - 1)), mask = tonumber(string.sub(raw, c1 + 1, c2 - 1)), sess = string.sub(raw, c2 + 1), i = i, raw = raw }
end
table.sort(rows, function(a, b) if a.at ~= b.at then return a.at < b.at end return a.i < b.i end)
local f = funnel(tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5])
local levels, out = {}, {}
for _, r in ipairs(rows) do
  f.step(r.sess, r.mask, r.at, levels)
  out[#out + 1] = r.raw
end
f.flush()
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'ready', '1')
for _, l in ipairs(levels) do out[#out + 1] = l end
return out
`);

/**
 * KEYS: epoch hash, held list. ARGV: from, steps, windowMs, stateTtlMs, statePrefix, (session, mask, at)*.
 * Ready: applies the rows and returns their levels. Not ready: holds them (bounded) and returns {}.
 */
const advanceScript = defineScript(`${LIB}
if redis.call('HGET', KEYS[1], 'from') ~= ARGV[1] then return false end
if redis.call('HGET', KEYS[1], 'ready') ~= '1' then
  for i = 6, #ARGV, 3 do redis.call('RPUSH', KEYS[2], ARGV[i + 2] .. ':' .. ARGV[i + 1] .. ':' .. ARGV[i]) end
  redis.call('LTRIM', KEYS[2], -${100_000}, -1)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return {}
end
local f = funnel(tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5])
local out = {}
for i = 6, #ARGV, 3 do f.step(ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), out) end
f.flush()
return out
`);

/** Sessions per seed call (a big seed goes in several, the last marking the epoch ready). */
const SEED_CHUNK = 2000;

export function createRedisFunnelProgress(opts: RedisFunnelProgressOptions): FunnelProgress {
  const { redis, prefix } = opts;
  const ttl = opts.epochTtlMs ?? FUNNEL_EPOCH_TTL_MS;
  const epochKey = (scope: string) => `${prefix}fn:${scope}`;
  const statePrefix = (scope: string, from: number) => `${prefix}fn:${scope}:${from}:`;
  const heldKey = (scope: string, from: number) => `${prefix}fn:${scope}:${from}`;
  const parse = (r: unknown): FunnelEpoch | null => {
    if (!Array.isArray(r) || r[0] === null || r[0] === undefined) return null;
    return { from: Number(r[0]), ready: r[1] === '1' };
  };
  const stateTtl = (shape: FunnelShape) => shape.windowMs + FUNNEL_STATE_SLACK_MS;

  return {
    epoch: async (scope) => parse(await epochScript(redis, [epochKey(scope)], [ttl])),
    async claim(scope, from) {
      const e = parse(await claimScript(redis, [epochKey(scope)], [from, ttl]));
      if (!e) throw new Error('funnel epoch claim returned nothing');
      return e;
    },
    async retire(scope, before) {
      await retireScript(redis, [epochKey(scope)], [before]);
    },
    async seed(scope, from, states, shape) {
      let i = 0;
      for (;;) {
        const chunk = states.slice(i, i + SEED_CHUNK);
        i += SEED_CHUNK;
        const last = i >= states.length;
        const args: Array<string | number> = [from, shape.steps, shape.windowMs, stateTtl(shape), statePrefix(scope, from), last ? 1 : 0];
        for (const [session, s] of chunk) args.push(session, encodeState(s));
        const r = await seedScript(redis, [epochKey(scope), heldKey(scope, from)], args);
        if (r === 0) return null;
        if (!last) continue;
        const out = r as Array<string | number>;
        const n = out.length / 3; // n held rows, then 2n levels
        const rows: FunnelRow[] = out.slice(0, n).map((raw) => {
          const [at, mask, ...session] = String(raw).split(':');
          return { at: Number(at), mask: Number(mask), session: session.join(':') };
        });
        return { rows, levels: out.slice(n).map(Number) };
      }
    },
    async advance(scope, from, rows, shape) {
      if (rows.length === 0) return [];
      const args: Array<string | number> = [from, shape.steps, shape.windowMs, stateTtl(shape), statePrefix(scope, from)];
      for (const r of rows) args.push(r.session, r.mask, r.at);
      const out = await advanceScript(redis, [epochKey(scope), heldKey(scope, from)], args);
      return Array.isArray(out) ? out.map(Number) : null;
    },
    async close() {},
  };
}
