/**
 * In-process Dedupe for the embedded shape: an LRU of claimed and confirmed ids with a TTL per
 * entry. Bounded: past `maxKeys` the least recently claimed ids are forgotten early, so a very
 * late resend of one of them would be accepted again — the price of fixed memory.
 */
import { LRUCache } from 'lru-cache';
import type { Dedupe } from './dedupe.ts';

export interface MemoryDedupeOptions {
  /** Most ids remembered at once (default 500,000). */
  maxKeys?: number;
}

export function createMemoryDedupe(opts: MemoryDedupeOptions = {}): Dedupe {
  const seen = new LRUCache<string, 'claimed' | 'confirmed'>({ max: opts.maxKeys ?? 500_000, ttlAutopurge: false });
  return {
    async claim(keys, ttlMs) {
      // `has` ignores expired entries; a key repeated within one call is new only the first time.
      return keys.map((key) => {
        if (seen.has(key)) return false;
        seen.set(key, 'claimed', { ttl: ttlMs });
        return true;
      });
    },
    async confirmed(keys) {
      return keys.map((key) => seen.get(key) === 'confirmed');
    },
    async confirm(keys, ttlMs) {
      for (const key of keys) seen.set(key, 'confirmed', { ttl: ttlMs });
    },
    async release(keys) {
      for (const key of keys) if (seen.get(key) === 'claimed') seen.delete(key);
    },
    async close() {
      seen.clear();
    },
  };
}
