// Runs the Dedupe contract against the in-process LRU.

import { describe, expect, it } from 'vitest';
import { describeDedupe } from './dedupe.contract.ts';
import { createMemoryDedupe } from './dedupe.memory.ts';
import { memoryHarness } from './harness.ts';

describeDedupe('memory', async () => memoryHarness(createMemoryDedupe()));

describe('memory Dedupe bound', () => {
  it('forgets the least recently claimed ids past maxKeys instead of growing', async () => {
    const d = createMemoryDedupe({ maxKeys: 2 });
    await d.claim(['a', 'b', 'c'], 60_000);
    expect(await d.claim(['a', 'c'], 60_000)).toEqual([true, false]);
  });
});
