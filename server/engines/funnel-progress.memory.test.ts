import { describeFunnelProgress } from './funnel-progress.contract.ts';
import { createMemoryFunnelProgress } from './funnel-progress.memory.ts';
import { memoryHarness } from './harness.ts';

describeFunnelProgress('memory', async () => memoryHarness(createMemoryFunnelProgress()));
