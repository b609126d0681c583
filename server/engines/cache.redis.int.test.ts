// Runs the Cache contract against real Redis; every peer has its own connection.
import { redisHarness } from '../../tests/support/redis.ts';
import { describeCache } from './cache.contract.ts';
import { createRedisCache } from './cache.redis.ts';

describeCache('redis', () => redisHarness((redis, prefix) => createRedisCache({ redis, prefix })));
