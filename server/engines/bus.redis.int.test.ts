// Runs the Bus contract against real Redis pub/sub; every peer has its own connections.
import { redisHarness } from '../../tests/support/redis.ts';
import { describeBus, type TestChannels } from './bus.contract.ts';
import { createRedisBus } from './bus.redis.ts';

describeBus('redis', (opts) => redisHarness((redis, prefix) => createRedisBus<TestChannels>({ ...opts, redis, prefix })));
