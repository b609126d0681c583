import type { RedisOptions } from 'bullmq';
import type { Redis } from 'ioredis';
declare const r: Redis;
const o: RedisOptions = { ...r.options, maxRetriesPerRequest: null };
