// Runs the Dedupe contract against the in-process LRU.

import { describe, expect, it } from 'vitest';
import { describeDedupe } from './dedupe.contract.ts';
import { createMemoryDedupe } from './dedupe.memory.ts';
import { memoryHarness } from './harness.ts';

describeDedupe('memory', async () => memoryHarness(createMemoryDedupe()));

describe('memory Dedupe bound', () => {
  it('forgets the least recently claimed ids past maxKeys instead of growing', async () => {
    const d = createMemoryDedupe({ maxKeysPerPartition: 2 });
    await d.claim(['a', 'b', 'c'], 60_000);
    expect(await d.claim(['a', 'c'], 60_000)).toEqual([true, false]);
  });
});

describe('memory Dedupe per project', () => {
  // Guards against one tenant flooding ids to evict another tenant's: a resend of the other
  // tenant's events would then be stored twice.
  it('bounds each project on its own: flooding one project never forgets another’s ids', async () => {
    const d = createMemoryDedupe({ maxKeysPerPartition: 100 });
    await d.confirm(['victim:e1', 'victim:e2'], 60_000);
    await d.claim(
      Array.from({ length: 5000 }, (_, i) => `attacker:x${i}`),
      60_000,
    );
    expect(await d.confirmed(['victim:e1', 'victim:e2'])).toEqual([true, true]);
    expect(await d.claim(['victim:e1'], 60_000)).toEqual([false]);
    expect(await d.claim(['attacker:x0'], 60_000)).toEqual([true]); // its own oldest went
  });
});
