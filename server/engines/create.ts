/**
 * Builds every engine for one process: all in memory (embedded shape) or all on one Redis
 * (distributed shape). The Redis client is the caller's — made by the entry point from
 * `config.redis.url` and quit by it after `close()`; engines prefix their own keys with
 * `config.redis.prefix`, so the client must not have ioredis' `keyPrefix` set.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { createMemoryBus } from './bus.memory.ts';
import { createRedisBus } from './bus.redis.ts';
import type { Bus, BusOptions, ChannelMap } from './bus.ts';
import { createMemoryCache } from './cache.memory.ts';
import { createRedisCache } from './cache.redis.ts';
import type { Cache } from './cache.ts';
import { createMemoryDedupe } from './dedupe.memory.ts';
import { createRedisDedupe } from './dedupe.redis.ts';
import type { Dedupe } from './dedupe.ts';
import { createMemoryFunnelProgress } from './funnel-progress.memory.ts';
import { createRedisFunnelProgress } from './funnel-progress.redis.ts';
import type { FunnelProgress } from './funnel-progress.ts';
import { createMemoryPresence } from './presence.memory.ts';
import { createRedisPresence } from './presence.redis.ts';
import type { Presence } from './presence.ts';
import { createMemoryRateLimits } from './rate-limit.memory.ts';
import { createRedisRateLimits } from './rate-limit.redis.ts';
import type { RateLimits } from './rate-limit.ts';
import { createMemorySessionStore } from './sessions.memory.ts';
import { createRedisSessionStore } from './sessions.redis.ts';
import type { SessionStore } from './sessions.ts';
import { createMemoryVisitors } from './visitors.memory.ts';
import { createRedisVisitors } from './visitors.redis.ts';
import type { Visitors } from './visitors.ts';

export interface EnginesOptions {
  /** Set for the distributed shape; absent, every engine lives in this process. */
  redis?: { client: Redis; prefix: string };
  /** A session closes this long after its latest event (`config.sessionTimeoutMs`). */
  sessionTimeoutMs: number;
  /** How long a node's presence report counts without a heartbeat (default 30 s). */
  presenceTtlMs?: number;
  /** Memory shape: file keeping open sessions across restarts (see sessions.memory.ts). */
  sessionSnapshotFile?: string;
  /** Memory shape: most event ids the dedupe remembers per project (default 200,000). */
  dedupeMaxKeysPerProject?: number;
  /** Memory shape: most open sessions, in all and per project (see sessions.memory.ts). */
  maxOpenSessions?: number;
  maxOpenSessionsPerProject?: number;
  /** Memory shape: most cache entries (default 10,000). */
  cacheMaxEntries?: number;
  /** Where a throwing bus handler or an unreadable bus message is reported (default: `log.error`). */
  onBusError?: BusOptions['onError'];
  log?: Logger;
}

export interface Engines<M extends ChannelMap = ChannelMap> {
  kind: 'memory' | 'redis';
  sessions: SessionStore;
  dedupe: Dedupe;
  bus: Bus<M>;
  presence: Presence;
  /** Online visitors (devices with an open SDK socket) and active ones (devices with recent events). */
  visitors: Visitors;
  /** Live funnel tiles' per-visit progress, shared by the nodes. */
  funnels: FunnelProgress;
  rateLimit: RateLimits;
  cache: Cache;
  /** Closes every engine; does not quit the Redis client. */
  close(): Promise<void>;
}

export function createEngines<M extends ChannelMap = ChannelMap>(opts: EnginesOptions): Engines<M> {
  const log = opts.log;
  const busOpts: BusOptions = {
    onError: opts.onBusError ?? (log ? (err, channel) => log.error({ err, channel }, 'bus handler failed') : undefined),
  };
  const parts = opts.redis ? redisEngines<M>(opts.redis, opts, busOpts) : memoryEngines<M>(opts, busOpts);
  return {
    ...parts,
    async close() {
      const all = [parts.sessions, parts.dedupe, parts.bus, parts.presence, parts.visitors, parts.funnels, parts.rateLimit, parts.cache];
      const failed = (await Promise.allSettled(all.map((e) => e.close()))).filter((r) => r.status === 'rejected');
      if (failed.length > 0)
        throw new AggregateError(
          failed.map((r) => r.reason),
          'closing engines failed',
        );
    },
  };
}

function memoryEngines<M extends ChannelMap>(opts: EnginesOptions, busOpts: BusOptions): Omit<Engines<M>, 'close'> {
  return {
    kind: 'memory',
    sessions: createMemorySessionStore({
      timeoutMs: opts.sessionTimeoutMs,
      snapshotFile: opts.sessionSnapshotFile,
      maxSessions: opts.maxOpenSessions,
      maxPerProject: opts.maxOpenSessionsPerProject,
    }),
    dedupe: createMemoryDedupe({ maxKeysPerPartition: opts.dedupeMaxKeysPerProject }),
    bus: createMemoryBus<M>(busOpts),
    presence: createMemoryPresence({ ttlMs: opts.presenceTtlMs }),
    visitors: createMemoryVisitors({ ttlMs: opts.presenceTtlMs }),
    funnels: createMemoryFunnelProgress(),
    rateLimit: createMemoryRateLimits(),
    cache: createMemoryCache({ maxEntries: opts.cacheMaxEntries }),
  };
}

function redisEngines<M extends ChannelMap>(
  { client: redis, prefix }: { client: Redis; prefix: string },
  opts: EnginesOptions,
  busOpts: BusOptions,
): Omit<Engines<M>, 'close'> {
  if (redis.options.keyPrefix) throw new Error('createEngines: the Redis client must not set keyPrefix (engines prefix their own keys)');
  return {
    kind: 'redis',
    sessions: createRedisSessionStore({ redis, prefix, timeoutMs: opts.sessionTimeoutMs }),
    dedupe: createRedisDedupe({ redis, prefix }),
    bus: createRedisBus<M>({ ...busOpts, redis, prefix }),
    presence: createRedisPresence({ redis, prefix, ttlMs: opts.presenceTtlMs }),
    visitors: createRedisVisitors({ redis, prefix, ttlMs: opts.presenceTtlMs }),
    funnels: createRedisFunnelProgress({ redis, prefix }),
    rateLimit: createRedisRateLimits({ redis, prefix }),
    cache: createRedisCache({ redis, prefix }),
  };
}
