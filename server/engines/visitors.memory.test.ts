import { memoryHarness } from './harness.ts';
import { describeVisitors } from './visitors.contract.ts';
import { createMemoryVisitors } from './visitors.memory.ts';

describeVisitors('memory', async (opts) => memoryHarness(createMemoryVisitors(opts)));
