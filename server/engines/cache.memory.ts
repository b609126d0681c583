/**
 * In-process Cache: an LRU of JSON strings with a TTL per entry, bounded by entry count.
 * Storing the JSON text (not the object) is what makes `get` return a copy.
 */
import { LRUCache } from 'lru-cache';
import { type Cache, toJson } from './cache.ts';

export interface MemoryCacheOptions {
  /** Most entries kept (default 10,000); the least recently used go first. */
  maxEntries?: number;
}

export function createMemoryCache(opts: MemoryCacheOptions = {}): Cache {
  const entries = new LRUCache<string, string>({ max: opts.maxEntries ?? 10_000 });
  return {
    async get<T>(key: string) {
      const json = entries.get(key);
      return json === undefined ? undefined : (JSON.parse(json) as T);
    },
    async set(key, value, ttlMs) {
      entries.set(key, toJson(key, value), { ttl: Math.max(1, Math.ceil(ttlMs)) });
    },
    async delete(key) {
      entries.delete(key);
    },
    async close() {
      entries.clear();
    },
  };
}
