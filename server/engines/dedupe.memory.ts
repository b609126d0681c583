/**
 * In-process Dedupe for the embedded shape: an LRU of claimed and confirmed ids with a TTL per
 * entry, one LRU per project (the part of the key before its first `:`; ingest keys are
 * `<projectId>:<clientEventId>`), so a client flooding its own project with ids evicts only
 * that project's oldest ids, never another tenant's. Bounded: past `maxKeysPerPartition` a
 * project's least recently claimed ids are forgotten early, so a very late resend of one of
 * them would be accepted again — the price of fixed memory.
 */
import { LRUCache } from 'lru-cache';
import type { Dedupe } from './dedupe.ts';

export interface MemoryDedupeOptions {
  /** Most ids remembered per project (default 200,000). */
  maxKeysPerPartition?: number;
}

type Entry = 'claimed' | 'confirmed';

export function createMemoryDedupe(opts: MemoryDedupeOptions = {}): Dedupe {
  const max = opts.maxKeysPerPartition ?? 200_000;
  const partitions = new Map<string, LRUCache<string, Entry>>();
  const lru = (key: string, create: boolean): LRUCache<string, Entry> | undefined => {
    const colon = key.indexOf(':');
    const p = colon < 0 ? '' : key.slice(0, colon);
    let c = partitions.get(p);
    if (!c && create) {
      c = new LRUCache<string, Entry>({ max, ttlAutopurge: false });
      partitions.set(p, c);
    }
    return c;
  };
  return {
    async claim(keys, ttlMs) {
      // `has` ignores expired entries; a key repeated within one call is new only the first time.
      return keys.map((key) => {
        const c = lru(key, true)!;
        if (c.has(key)) return false;
        c.set(key, 'claimed', { ttl: ttlMs });
        return true;
      });
    },
    async confirmed(keys) {
      return keys.map((key) => lru(key, false)?.get(key) === 'confirmed');
    },
    async confirm(keys, ttlMs) {
      for (const key of keys) lru(key, true)!.set(key, 'confirmed', { ttl: ttlMs });
    },
    async release(keys) {
      for (const key of keys) {
        const c = lru(key, false);
        if (c?.get(key) === 'claimed') c.delete(key);
      }
    },
    async close() {
      partitions.clear();
    },
  };
}
