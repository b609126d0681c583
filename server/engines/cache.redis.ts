/** Redis Cache: one string per entry, `P cache:<key>`, written with SET PX. */
import type { Redis } from 'ioredis';
import { type Cache, toJson } from './cache.ts';

export interface RedisCacheOptions {
  /** Owned by the caller: `close()` does not quit it. */
  redis: Redis;
  prefix: string;
}

export function createRedisCache({ redis, prefix }: RedisCacheOptions): Cache {
  const keyOf = (key: string) => `${prefix}cache:${key}`;
  return {
    async get<T>(key: string) {
      const json = await redis.get(keyOf(key));
      return json === null ? undefined : (JSON.parse(json) as T);
    },
    async set(key, value, ttlMs) {
      await redis.set(keyOf(key), toJson(key, value), 'PX', Math.max(1, Math.ceil(ttlMs)));
    },
    async delete(key) {
      await redis.unlink(keyOf(key));
    },
    async close() {
      // The client belongs to the caller; nothing else is held.
    },
  };
}
