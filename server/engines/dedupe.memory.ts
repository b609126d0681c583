/**
 * In-process Dedupe for the embedded shape: claimed and confirmed ids with a TTL per entry,
 * one bounded table per project (the part of the key before its first `:`; ingest keys are
 * `<projectId>:<clientEventId>`), so a client flooding its own project with ids forgets only
 * that project's oldest ids, never another tenant's. Bounded: each project's table is a
 * RecentMap (recent-map.ts), which holds at least its `maxKeysPerPartition` most recently
 * claimed or confirmed ids and at most twice that; an older id may be forgotten early, so a
 * very late resend of it would be accepted again — the price of fixed memory.
 *
 * Not lru-cache (4–10 % of the `/ws` ingest thread: a linked list and TTL arrays updated per
 * id), nor a Map evicting its oldest key one at a time (a regression past 200,000 ids, see
 * recent-map.ts).
 */
import type { Dedupe } from './dedupe.ts';
import { createRecentMap, type RecentMap } from './recent-map.ts';

export interface MemoryDedupeOptions {
  /** Ids each project is guaranteed to remember, the most recent ones (default 200,000; at most twice that are held). */
  maxKeysPerPartition?: number;
  /** The clock (ms), replaceable in tests. */
  now?: () => number;
}

/** An entry is its expiry time: positive while claimed, negative once confirmed (no object per id). */
type Entry = number;
const claimed = (expiresAt: number): Entry => expiresAt;
const confirmedUntil = (expiresAt: number): Entry => -expiresAt;
const isConfirmed = (e: Entry) => e < 0;
const expiresAt = (e: Entry) => Math.abs(e);

export function createMemoryDedupe(opts: MemoryDedupeOptions = {}): Dedupe {
  const max = opts.maxKeysPerPartition ?? 200_000;
  const now = opts.now ?? Date.now;
  const partitions = new Map<string, RecentMap<string, Entry>>();
  // The last partition used: a batch's keys all share one, so its name is compared in place
  // instead of being cut out of every key and hashed (a new string and a lookup per key).
  let lastName: string | undefined;
  let lastTable: RecentMap<string, Entry> | undefined;
  const table = (key: string, create: boolean): RecentMap<string, Entry> | undefined => {
    const colon = key.indexOf(':');
    if (lastName !== undefined && colon === lastName.length && key.startsWith(lastName)) return lastTable;
    const p = colon < 0 ? '' : key.slice(0, colon);
    let t = partitions.get(p);
    if (!t && create) {
      t = createRecentMap<string, Entry>(max);
      partitions.set(p, t);
    }
    if (t) {
      lastName = p;
      lastTable = t;
    }
    return t;
  };
  /** The live entry of `key` (an expired one is forgotten on the way). */
  const live = (t: RecentMap<string, Entry> | undefined, key: string, at: number): Entry | undefined => {
    const e = t?.get(key);
    if (e === undefined) return undefined;
    if (expiresAt(e) > at) return e;
    t!.delete(key);
    return undefined;
  };
  return {
    async claim(keys, ttlMs) {
      // A key repeated within one call is new only the first time.
      const at = now();
      return keys.map((key) => {
        const t = table(key, true)!;
        if (live(t, key, at) !== undefined) return false;
        t.add(key, claimed(at + ttlMs)); // `live` found it in neither generation
        return true;
      });
    },
    async confirmed(keys) {
      const at = now();
      return keys.map((key) => {
        const e = live(table(key, false), key, at);
        return e !== undefined && isConfirmed(e);
      });
    },
    async confirm(keys, ttlMs) {
      const until = confirmedUntil(now() + ttlMs);
      for (const key of keys) table(key, true)!.set(key, until);
    },
    async release(keys) {
      const at = now();
      for (const key of keys) {
        const t = table(key, false);
        const e = live(t, key, at);
        if (e !== undefined && !isConfirmed(e)) t!.delete(key);
      }
    },
    async close() {
      partitions.clear();
      lastName = lastTable = undefined;
    },
  };
}
