// Runs the Dedupe contract against real Redis; every peer has its own connection.
import { redisHarness } from '../../tests/support/redis.ts';
import { describeDedupe } from './dedupe.contract.ts';
import { createRedisDedupe } from './dedupe.redis.ts';

describeDedupe('redis', () => redisHarness((redis, prefix) => createRedisDedupe({ redis, prefix })));
