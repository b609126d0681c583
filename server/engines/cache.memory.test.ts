// Runs the Cache contract against the in-process LRU.
import { describe, expect, it } from 'vitest';
import { describeCache } from './cache.contract.ts';
import { createMemoryCache } from './cache.memory.ts';
import { memoryHarness } from './harness.ts';

describeCache('memory', async () => memoryHarness(createMemoryCache()));

describe('memory Cache bound', () => {
  it('drops the least recently used entries past maxEntries', async () => {
    const cache = createMemoryCache({ maxEntries: 2 });
    await cache.set('a', 1, 60_000);
    await cache.set('b', 2, 60_000);
    await cache.get('a');
    await cache.set('c', 3, 60_000);
    expect([await cache.get('a'), await cache.get('b'), await cache.get('c')]).toEqual([1, undefined, 3]);
  });
});
