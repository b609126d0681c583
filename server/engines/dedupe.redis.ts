/**
 * Redis Dedupe for the distributed shape: one key per id, `P dedupe:<id>`, holding `c`
 * (claimed, for the lease) or `d` (confirmed). Claimed with `SET NX PX` (atomic per id across
 * processes), all ids of a call in one script call — one round trip, one command (which also
 * makes them atomic as a group; nothing relies on that: each id is claimed by one caller).
 * The BullMQ queue confirms ids inside the transaction that adds their job (`confirmInTransaction`), so "confirmed" and
 * "queued" can never disagree, whatever crashes in between — and `release` only forgets
 * claims, so a caller that saw its push fail (while the transaction had in fact run, its reply
 * lost with the connection) cannot un-confirm queued events.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { Dedupe } from './dedupe.ts';
import { defineScript } from './redis-script.ts';

export interface RedisDedupeOptions {
  /** Owned by the caller: `close()` does not quit it. */
  redis: Redis;
  prefix: string;
}

const CLAIMED = 'c';
const CONFIRMED = 'd';

// Claims every key not claimed or confirmed yet (SET NX PX each); returns 1/0 per key. One
// script call for a whole batch: a pipeline of one SET per event cost a client-side command
// each, a visible share of an ingest node's CPU.
const claimKeys = defineScript(`
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0
end
return out
`);

// Forgets claims only: a confirmed id stays (its events are queued; a retry must be a duplicate).
const releaseClaims = defineScript(`
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then n = n + redis.call('DEL', KEYS[i]) end
end
return n
`);

/** The key of a dedupe id under a Livepanel prefix. */
export function dedupeKey(prefix: string, id: string): string {
  return `${prefix}dedupe:${id}`;
}

/** Adds the confirmation of `ids` to a MULTI (or pipeline) of the caller's. */
export function confirmInTransaction(tx: ChainableCommander, prefix: string, ids: string[], ttlMs: number): void {
  const px = Math.max(1, Math.ceil(ttlMs));
  for (const id of ids) tx.set(dedupeKey(prefix, id), CONFIRMED, 'PX', px);
}

export function createRedisDedupe({ redis, prefix }: RedisDedupeOptions): Dedupe {
  const keyOf = (id: string) => dedupeKey(prefix, id);
  return {
    async claim(keys, ttlMs) {
      if (keys.length === 0) return [];
      const px = Math.max(1, Math.ceil(ttlMs));
      const replies = (await claimKeys(redis, keys.map(keyOf), [CLAIMED, px])) as number[];
      return replies.map((r) => r === 1);
    },
    async confirmed(keys) {
      if (keys.length === 0) return [];
      const values = await redis.mget(...keys.map(keyOf));
      return values.map((v) => v === CONFIRMED);
    },
    async confirm(keys, ttlMs) {
      if (keys.length === 0) return;
      const pipe = redis.pipeline();
      confirmInTransaction(pipe, prefix, keys, ttlMs);
      for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
    },
    async release(keys) {
      if (keys.length > 0) await releaseClaims(redis, keys.map(keyOf), [CLAIMED]);
    },
    async close() {
      // The client belongs to the caller; nothing else is held.
    },
  };
}
