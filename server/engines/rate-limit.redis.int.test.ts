// Runs the rate-limit contract against real Redis; every peer (node) has its own connection.
import { redisHarness } from '../../tests/support/redis.ts';
import { describeRateLimits } from './rate-limit.contract.ts';
import { createRedisRateLimits } from './rate-limit.redis.ts';

describeRateLimits('redis', () => redisHarness((redis, prefix) => createRedisRateLimits({ redis, prefix })));
