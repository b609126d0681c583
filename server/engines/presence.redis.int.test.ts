// Runs the Presence contract against real Redis; every peer (node) has its own connection.
import { redisHarness } from '../../tests/support/redis.ts';
import { describePresence } from './presence.contract.ts';
import { createRedisPresence } from './presence.redis.ts';

describePresence('redis', (opts) => redisHarness((redis, prefix) => createRedisPresence({ ...opts, redis, prefix })));
