// Runs the Presence contract against the in-process store.
import { memoryHarness } from './harness.ts';
import { describePresence } from './presence.contract.ts';
import { createMemoryPresence } from './presence.memory.ts';

describePresence('memory', async (opts) => memoryHarness(createMemoryPresence(opts)));
