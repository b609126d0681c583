// Runs the rate-limit contract against rate-limiter-flexible's memory store.
import { memoryHarness } from './harness.ts';
import { describeRateLimits } from './rate-limit.contract.ts';
import { createMemoryRateLimits } from './rate-limit.memory.ts';

describeRateLimits('memory', async () => memoryHarness(createMemoryRateLimits()));
