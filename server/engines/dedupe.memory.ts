/**
 * In-process Dedupe for the embedded shape: the claimed and confirmed ids with a deadline per
 * id, one table per project (the part of the key before its first `:`; ingest keys are
 * `<projectId>:<clientEventId>`), so a client flooding its own project with ids evicts only
 * that project's oldest ids, never another tenant's. Bounded: past `maxKeysPerPartition` a
 * project's least recently claimed ids are forgotten early, so a very late resend of one of
 * them would be accepted again — the price of fixed memory.
 *
 * Each project's table is a plain Map from id to one number, its deadline (ms on the
 * monotonic clock), negated once the id is confirmed. A Map iterates in insertion order: an
 * id is inserted when it is claimed (or, unclaimed, confirmed — ids recovered at start-up), so
 * the least recently claimed id is first, and evicting is taking the first key. Expired ids are treated as absent and dropped when next
 * touched or evicted. This replaced an LRU cache (lru-cache) that cost 4–10 % of the ingest
 * thread under `/ws` load for bookkeeping (recency on reads, per-entry TTL arrays) the
 * contract does not need.
 */
import type { Dedupe } from './dedupe.ts';

export interface MemoryDedupeOptions {
  /** Most ids remembered per project (default 200,000). */
  maxKeysPerPartition?: number;
  /** The monotonic clock in ms (tests). */
  now?: () => number;
}

/** Deadline > 0: claimed until then; < 0: confirmed until its absolute value. */
type Table = Map<string, number>;

export function createMemoryDedupe(opts: MemoryDedupeOptions = {}): Dedupe {
  const max = opts.maxKeysPerPartition ?? 200_000;
  const now = opts.now ?? (() => performance.now());
  const partitions = new Map<string, Table>();

  function table(key: string, create: boolean): Table | undefined {
    const colon = key.indexOf(':');
    const p = colon < 0 ? '' : key.slice(0, colon);
    let t = partitions.get(p);
    if (!t && create) {
      t = new Map();
      partitions.set(p, t);
    }
    return t;
  }

  /** The id's live deadline (signed as stored), or 0 when absent or expired (then dropped). */
  function live(t: Table | undefined, key: string, at: number): number {
    const v = t?.get(key);
    if (v === undefined) return 0;
    if (Math.abs(v) > at) return v;
    t!.delete(key);
    return 0;
  }

  /**
   * Writes an id's deadline: a new id goes last (the most recently claimed), evicting the
   * oldest past the bound; an id already there keeps its place (a confirmation follows its
   * claim closely, and not moving it saves two Map operations per event).
   */
  function put(t: Table, key: string, value: number): void {
    const fresh = !t.has(key);
    t.set(key, value);
    if (fresh && t.size > max) t.delete(t.keys().next().value!);
  }

  return {
    async claim(keys, ttlMs) {
      // A key repeated within one call is new only the first time.
      const at = now();
      const out = new Array<boolean>(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const t = table(key, true)!;
        if (live(t, key, at) !== 0) out[i] = false;
        else {
          put(t, key, at + ttlMs);
          out[i] = true;
        }
      }
      return out;
    },
    async confirmed(keys) {
      const at = now();
      return keys.map((key) => live(table(key, false), key, at) < 0);
    },
    async confirm(keys, ttlMs) {
      const at = now();
      for (const key of keys) put(table(key, true)!, key, -(at + ttlMs));
    },
    async release(keys) {
      const at = now();
      for (const key of keys) {
        const t = table(key, false);
        if (live(t, key, at) > 0) t!.delete(key);
      }
    },
    async close() {
      partitions.clear();
    },
  };
}
