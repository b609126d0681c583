/**
 * Lua scripts for the Redis engines: run by SHA (EVALSHA) and fall back to EVAL when the
 * server does not have the script cached yet (first call, or after SCRIPT FLUSH / a restart).
 * Unlike ioredis' `defineCommand`, this adds nothing to the client, which the caller owns.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type RedisArg = string | number;
export type RedisScript = (redis: Redis, keys: string[], args: RedisArg[]) => Promise<unknown>;

export function defineScript(source: string): RedisScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
