// Runs the Dedupe contract against the in-process table (dedupe.memory.ts).

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

describe('memory Dedupe table', () => {
  // Guards the Map-based table's bookkeeping: deadlines on an injected clock, recency by
  // (re)insertion, the sign that marks a confirmation.
  it('expires claims and confirmations on its clock, each after its own TTL', async () => {
    let t = 1000;
    const d = createMemoryDedupe({ now: () => t });
    expect(await d.claim(['p:a', 'p:b'], 100)).toEqual([true, true]);
    await d.confirm(['p:b'], 500);
    t = 1099;
    expect(await d.claim(['p:a'], 100)).toEqual([false]);
    t = 1100;
    expect(await d.claim(['p:a'], 100)).toEqual([true]); // lapsed exactly at its deadline
    expect(await d.confirmed(['p:b'])).toEqual([true]);
    t = 1500;
    expect(await d.confirmed(['p:b'])).toEqual([false]);
    expect(await d.claim(['p:b'], 100)).toEqual([true]);
  });

  it('forgets the least recently claimed ids first, a confirmation keeping its claim’s place', async () => {
    const d = createMemoryDedupe({ maxKeysPerPartition: 3, now: () => 0 });
    await d.claim(['p:a', 'p:b', 'p:c'], 1000);
    await d.confirm(['p:b'], 1000);
    await d.claim(['p:d'], 1000); // evicts a
    expect(await d.confirmed(['p:b'])).toEqual([true]);
    expect(await d.claim(['p:a'], 1000)).toEqual([true]); // forgotten; evicts b
    expect(await d.confirmed(['p:b'])).toEqual([false]);
    expect(await d.claim(['p:c', 'p:d'], 1000)).toEqual([false, false]);
    await d.confirm(['p:new'], 1000); // unclaimed (recovered at start-up): goes last, evicts c
    expect(await d.claim(['p:c', 'p:new'], 1000)).toEqual([true, false]);
  });

  it('releases only live claims, and a released id is claimable at once', async () => {
    const d = createMemoryDedupe({ now: () => 0 });
    await d.claim(['p:a', 'p:b'], 1000);
    await d.confirm(['p:b'], 1000);
    await d.release(['p:a', 'p:b', 'q:unknown']);
    expect(await d.claim(['p:a', 'p:b'], 1000)).toEqual([true, false]);
  });
});
