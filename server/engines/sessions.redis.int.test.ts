// Runs the SessionStore contract against real Redis; every peer has its own connection.
import { redisHarness } from '../../tests/support/redis.ts';
import { describeSessionStore } from './sessions.contract.ts';
import { createRedisSessionStore } from './sessions.redis.ts';

describeSessionStore('redis', ({ timeoutMs }) => redisHarness((redis, prefix) => createRedisSessionStore({ redis, prefix, timeoutMs })));
