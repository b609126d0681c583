/**
 * Redis rate limits for the distributed shape (rate-limiter-flexible's RateLimiterRedis: one
 * Lua INCRBY + EXPIRE per consume, atomic across nodes). Keys: `P ratelimit:<name>:<key>`.
 * Note: rate-limiter-flexible registers a script command (`rlflxIncr`) on the given client.
 */
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { flexibleOptions, type RateLimits, rateLimits } from './rate-limit.ts';

export interface RedisRateLimitsOptions {
  /** Owned by the caller: `close()` does not quit it. */
  redis: Redis;
  prefix: string;
}

export function createRedisRateLimits({ redis, prefix }: RedisRateLimitsOptions): RateLimits {
  return rateLimits((rule) => new RateLimiterRedis({ ...flexibleOptions(rule), storeClient: redis, keyPrefix: `${prefix}ratelimit:${rule.name}` }));
}
