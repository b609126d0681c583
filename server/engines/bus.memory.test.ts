// Runs the Bus contract against the in-process bus.

import { describeBus, type TestChannels } from './bus.contract.ts';
import { createMemoryBus } from './bus.memory.ts';
import { memoryHarness } from './harness.ts';

describeBus('memory', async (opts) => memoryHarness(createMemoryBus<TestChannels>(opts)));
