// Runs the Visitors contract against real Redis; every peer (node) has its own connection.
import { redisHarness } from '../../tests/support/redis.ts';
import { describeVisitors } from './visitors.contract.ts';
import { createRedisVisitors } from './visitors.redis.ts';

describeVisitors('redis', (opts) => redisHarness((redis, prefix) => createRedisVisitors({ ...opts, redis, prefix })));
