/**
 * Redis SessionStore for the distributed shape. Key layout (P = the configured prefix):
 *   P session:<project>:<device>  hash, one field per OpenSession member (ids URI-encoded so
 *                                  `:` cannot make two pairs collide); a safety TTL a little
 *                                  past its expiry, so a session nobody reaps cannot leak
 *   P session-expiry              sorted set, member `<project>:<device>`, score = expiresAt
 * Every change is one Lua script, so touch/keepAlive/claim are atomic across processes; the
 * scripts touch keys they compute from the index, so this store needs a single Redis (no
 * cluster). Times are the callers' (hit.at, now); only the safety TTL uses Redis' clock.
 * `touch` runs without a seed first and asks for one only when a session has to start, so
 * `seed()` runs once per new session, not once per event (the retry may find the session
 * opened by another process meanwhile and leave the seed unused — harmless). `touchMany`
 * sends one script call for a whole batch, with a seed for the first hit of each device in
 * it (most batches then need no second call; a seed left unused is harmless), and calls
 * again from a later hit only when that one must start a session too (its device's session
 * expired between two hits of the batch).
 */
import type { Redis } from 'ioredis';
import { defineScript, type RedisArg } from './redis-script.ts';
import { CLAIM_LUA, KEEP_ALIVE_LUA, TOUCH_LUA, TOUCH_MANY_LUA } from './sessions.redis.lua.ts';
import { blankSession, expiresAt, type OpenSession, type SessionStore, type TouchItem, type TouchResult, type TouchSummary } from './sessions.ts';

export interface RedisSessionStoreOptions {
  /** Owned by the caller: `close()` does not quit it. */
  redis: Redis;
  prefix: string;
  timeoutMs: number;
  /** How long past its expiry a session's hash outlives an absent reaper (default: max(timeout, 60 s)). */
  ttlSlackMs?: number;
}

const CONTINUED = 0;
const STARTED = 1;
const NEED_SEED = 2;
type TouchReply = [typeof CONTINUED | typeof STARTED, string[], string[]] | [typeof NEED_SEED];

const touchScript = defineScript(TOUCH_LUA);
const touchManyScript = defineScript(TOUCH_MANY_LUA);
type TouchManyReply = Array<[0, string, string, string] | [1, string[]] | [2]>;
const keepAliveScript = defineScript(KEEP_ALIVE_LUA);
const claimScript = defineScript(CLAIM_LUA);

/** Every field with its type (the field list and types of the Redis hash). */
const BLANK = blankSession();

function encode(s: OpenSession): string[] {
  const out: string[] = [];
  for (const field of Object.keys(BLANK) as (keyof OpenSession)[]) out.push(field, String(s[field]));
  return out;
}

function decode(flat: string[]): OpenSession {
  const s: Record<string, string | number> = { ...BLANK };
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i]! as keyof OpenSession;
    if (!(field in BLANK)) continue;
    s[field] = typeof BLANK[field] === 'number' ? Number(flat[i + 1]) : flat[i + 1]!;
  }
  return s as unknown as OpenSession;
}

/**
 * JSON for a Lua script's `cjson.decode`. A lone surrogate (the one thing JSON.stringify
 * escapes as `\udXXX`, which cjson refuses) becomes U+FFFD, as it does in any other argument
 * ioredis encodes to UTF-8.
 */
function luaJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.includes('\\ud') ? JSON.stringify(value, (_, v) => (typeof v === 'string' ? v.toWellFormed() : v)) : json;
}

/**
 * Keys and arguments of one TOUCH_MANY call (see sessions.redis.lua.ts) for `items`: the
 * first hit of each device carries a seed (also the first hit of the part, always: the
 * previous call stopped there because it needed one). Returns the seeds by hit position.
 * Key positions are 1-based as Lua's KEYS; seed positions 1-based as ARGV. The hits go as
 * one JSON argument and each seed as one: ioredis and Redis pay per argument, and a batch
 * of 50 hits was 450 of them.
 */
function touchManyArgs(
  o: { sessionPrefix: string; indexKey: string; timeoutMs: number; slackMs: number },
  projectId: string,
  items: TouchItem[],
): { keys: string[]; args: RedisArg[]; seeds: Map<number, OpenSession> } {
  const { sessionPrefix, indexKey, timeoutMs, slackMs } = o;
  const keys = [indexKey];
  const keyAt = new Map<string, number>(); // by device id
  const hits: Array<[number, string, string, string, string, number, string, number]> = [];
  const seeds = new Map<number, OpenSession>();
  const seedArgs: string[] = [];
  const seedBase = 5;
  const project = encodeURIComponent(projectId);
  for (let i = 0; i < items.length; i++) {
    const { deviceId, hit, seed } = items[i]!;
    let k = keyAt.get(deviceId);
    let seedAt = 0;
    if (k === undefined) {
      keys.push(`${sessionPrefix}${project}:${encodeURIComponent(deviceId)}`);
      k = keys.length;
      keyAt.set(deviceId, k);
      const fresh = { ...seed() };
      const exp = expiresAt(fresh, timeoutMs);
      seeds.set(i, fresh);
      seedAt = seedBase + seedArgs.length;
      seedArgs.push(luaJson([String(exp), String(Math.ceil(exp - fresh.lastSeenAt + slackMs)), ...encode(fresh)]));
    }
    hits.push([k, String(hit.at), hit.path, hit.origin, hit.profileId, hit.isScreenView ? 1 : 0, String(hit.revenue), seedAt]);
  }
  return { keys, args: [timeoutMs, slackMs, Buffer.byteLength(sessionPrefix), luaJson(hits), ...seedArgs], seeds };
}

export function createRedisSessionStore(opts: RedisSessionStoreOptions): SessionStore {
  const { redis, prefix, timeoutMs } = opts;
  const slackMs = opts.ttlSlackMs ?? Math.max(timeoutMs, 60_000);
  const sessionPrefix = `${prefix}session:`;
  const indexKey = `${prefix}session-expiry`;
  const memberOf = (projectId: string, deviceId: string) => `${encodeURIComponent(projectId)}:${encodeURIComponent(deviceId)}`;

  return {
    async touch(projectId, deviceId, hit, seed): Promise<TouchResult> {
      const member = memberOf(projectId, deviceId);
      const keys = [sessionPrefix + member, indexKey];
      const args: RedisArg[] = [member, hit.at, timeoutMs, slackMs, hit.path, hit.origin, hit.profileId, hit.isScreenView ? 1 : 0, hit.revenue];
      let reply = (await touchScript(redis, keys, args)) as TouchReply;
      let fresh: OpenSession | undefined;
      if (reply[0] === NEED_SEED) {
        fresh = { ...seed() };
        const exp = expiresAt(fresh, timeoutMs);
        const ttl = Math.ceil(exp - fresh.lastSeenAt + slackMs);
        reply = (await touchScript(redis, keys, [...args, exp, ttl, ...encode(fresh)])) as TouchReply;
      }
      if (reply[0] === NEED_SEED) throw new Error('session touch: script asked for a seed twice');
      const [status, flat, closedFlat] = reply;
      if (status === CONTINUED) return { session: decode(flat), started: false };
      const session = { ...fresh! };
      return closedFlat.length > 0 ? { session, started: true, closed: decode(closedFlat) } : { session, started: true };
    },

    async touchMany(projectId, items) {
      const out: TouchSummary[] = [];
      // A hit that must start a session without a seed stops the script; call again from it
      // (the first hit of a call always has a seed).
      while (out.length < items.length) {
        const part = out.length === 0 ? items : items.slice(out.length);
        const { keys, args, seeds } = touchManyArgs({ sessionPrefix, indexKey, timeoutMs, slackMs }, projectId, part);
        const reply = (await touchManyScript(redis, keys, args)) as TouchManyReply;
        for (let i = 0; i < reply.length; i++) {
          const r = reply[i]!;
          if (r[0] === NEED_SEED) {
            if (i === 0 && seeds.has(0)) throw new Error('session touch: script asked for a seed it was given');
            break;
          }
          if (r[0] === CONTINUED) out.push({ id: r[1], exitPath: r[2], exitOrigin: r[3], started: false });
          else {
            const fresh = seeds.get(i)!;
            const s: TouchSummary = { id: fresh.id, exitPath: fresh.exitPath, exitOrigin: fresh.exitOrigin, started: true };
            if (r[1].length > 0) s.closed = decode(r[1]);
            out.push(s);
          }
        }
      }
      return out;
    },

    async get(projectId, deviceId) {
      const flat = await redis.call('HGETALL', sessionPrefix + memberOf(projectId, deviceId));
      const fields = flat as string[];
      return fields.length > 0 ? decode(fields) : null;
    },

    async keepAlive(projectId, deviceId, until) {
      const member = memberOf(projectId, deviceId);
      await keepAliveScript(redis, [sessionPrefix + member, indexKey], [member, until, timeoutMs, slackMs]);
    },

    async claimExpired(now, limit) {
      if (limit <= 0) return [];
      const reply = (await claimScript(redis, [indexKey], [now, Math.floor(limit), sessionPrefix])) as string[][];
      return reply.map(decode);
    },

    async size() {
      return redis.zcard(indexKey);
    },

    async close() {
      // The client belongs to the caller; nothing else is held.
    },
  };
}
