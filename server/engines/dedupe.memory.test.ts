// Runs the Dedupe contract against the in-process LRU.

import { describe, expect, it } from 'vitest';
import { describeDedupe } from './dedupe.contract.ts';
import { createMemoryDedupe } from './dedupe.memory.ts';
import { memoryHarness } from './harness.ts';

describeDedupe('memory', async () => memoryHarness(createMemoryDedupe()));

describe('memory Dedupe bound', () => {
  it('remembers at least the maxKeys most recent ids, forgets older ones instead of growing', async () => {
    const max = 1000;
    const d = createMemoryDedupe({ maxKeysPerPartition: max });
    const ids = Array.from({ length: 5 * max + 123 }, (_, i) => `p:e${i}`);
    for (let i = 0; i < ids.length; i += 50) await d.claim(ids.slice(i, i + 50), 60_000);
    await d.confirm(ids.slice(-max), 60_000);
    // Every one of the last `max` ids is still a duplicate (claimed, then confirmed)…
    expect((await d.claim(ids.slice(-max), 60_000)).every((fresh) => !fresh)).toBe(true);
    expect((await d.confirmed(ids.slice(-max))).every(Boolean)).toBe(true);
    // …while the oldest are gone (at most 2 × max are held).
    expect(await d.claim(ids.slice(0, 10), 60_000)).toEqual(Array(10).fill(true));
  });

  it('forgets an entry at its expiry by the clock it is given', async () => {
    let t = 1_000_000;
    const d = createMemoryDedupe({ now: () => t });
    await d.claim(['p:a', 'p:b'], 100);
    await d.confirm(['p:b'], 1000);
    t += 101;
    expect(await d.confirmed(['p:a', 'p:b'])).toEqual([false, true]);
    expect(await d.claim(['p:a', 'p:b'], 100)).toEqual([true, false]);
    t += 1000;
    expect(await d.claim(['p:b'], 100)).toEqual([true]);
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
