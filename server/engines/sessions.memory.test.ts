// Runs the SessionStore contract against the in-process store.
import { memoryHarness } from './harness.ts';
import { describeSessionStore } from './sessions.contract.ts';
import { createMemorySessionStore } from './sessions.memory.ts';

describeSessionStore('memory', async ({ timeoutMs }) => memoryHarness(createMemorySessionStore({ timeoutMs })));
