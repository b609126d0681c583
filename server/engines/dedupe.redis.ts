/**
 * Redis Dedupe for the distributed shape: one key per id, `P dedupe:<id>`, claimed with
 * `SET NX PX` (atomic per id across processes), all ids of a call in one pipeline — one round
 * trip. Ids are not atomic as a group; they do not need to be: each id is claimed by one caller.
 */
import type { Redis } from 'ioredis';
import type { Dedupe } from './dedupe.ts';

export interface RedisDedupeOptions {
  /** Owned by the caller: `close()` does not quit it. */
  redis: Redis;
  prefix: string;
}

export function createRedisDedupe({ redis, prefix }: RedisDedupeOptions): Dedupe {
  const keyOf = (id: string) => `${prefix}dedupe:${id}`;
  return {
    async claim(keys, ttlMs) {
      if (keys.length === 0) return [];
      const px = Math.max(1, Math.ceil(ttlMs));
      const pipe = redis.pipeline();
      for (const key of keys) pipe.set(keyOf(key), '1', 'PX', px, 'NX');
      const results = (await pipe.exec()) ?? [];
      return results.map(([err, reply]) => {
        if (err) throw err;
        return reply === 'OK';
      });
    },
    async release(keys) {
      if (keys.length > 0) await redis.unlink(...keys.map(keyOf));
    },
    async close() {
      // The client belongs to the caller; nothing else is held.
    },
  };
}
