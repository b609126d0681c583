// One node's funnel tracker over the in-process progress store. Guards against: rows a node
// took before it knew the tile's epoch being counted from before the watermark (or lost); a
// visit's step counted twice when the epoch is replaced under the tracker.
import { describe, expect, it } from 'vitest';
import { createMemoryFunnelProgress } from '../engines/funnel-progress.memory.ts';
import { FunnelTracker } from './funnel-tracker.ts';

const T = 1_764_500_000_000;
const SHAPE = { steps: 2, windowMs: 86_400_000 };
const turns = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

describe('FunnelTracker', () => {
  it('holds rows until it knows the epoch, then counts those from its start once seeded', async () => {
    const progress = createMemoryFunnelProgress();
    const tracker = new FunnelTracker({ progress, scope: 'p:k', shape: SHAPE, now: () => T - 5000 });
    await tracker.retired;
    tracker.add({ session: 'old', mask: 0b01, at: T - 2000 }); // before the watermark: the seed's
    tracker.add({ session: 's1', mask: 0b01, at: T + 100 });
    await progress.claim('p:k', T);
    tracker.poll();
    await turns();
    expect(tracker.drain()).toBeUndefined(); // held in the store until the seed
    tracker.add({ session: 's1', mask: 0b10, at: T + 1500 });
    await turns();
    const applied = await progress.seed('p:k', T, [], SHAPE);
    tracker.countAll(applied!.rows, applied!.levels); // as the seeding node does
    expect(tracker.drain()).toEqual([
      [T, [1, 0]],
      [T + 1000, [0, 1]],
    ]);
    tracker.add({ session: 's1', mask: 0b11, at: T + 2500 }); // both steps again: nothing new
    tracker.add({ session: 's2', mask: 0b11, at: T + 2600 }); // one row through both steps
    await turns();
    expect(tracker.drain()).toEqual([[T + 2000, [1, 1]]]);
  });

  it('moves rows not applied yet to a replacing epoch', async () => {
    const progress = createMemoryFunnelProgress();
    let now = T;
    let lost = 0;
    const tracker = new FunnelTracker({ progress, scope: 'p:k', shape: SHAPE, now: () => now, onLost: () => lost++ });
    await progress.claim('p:k', T + 1000);
    await progress.seed('p:k', T + 1000, [], SHAPE);
    tracker.poll();
    await turns();
    tracker.add({ session: 's1', mask: 0b01, at: T + 2000 });
    await turns();
    expect(tracker.drain()).toEqual([[T + 2000, [1, 0]]]);
    // The epoch is replaced (a node started the tile afresh); a row arrives before the tracker notices.
    await progress.retire('p:k', T + 5000);
    await progress.claim('p:k', T + 5000);
    tracker.add({ session: 's1', mask: 0b10, at: T + 6000 });
    await turns();
    expect(tracker.drain()).toBeUndefined();
    now += 3000;
    tracker.poll(); // follows the new epoch: the row goes there (held until its seed)
    await turns();
    const s1 = { level: 1, starts: [T + 2000, -1] };
    const applied = await progress.seed('p:k', T + 5000, [['s1', s1]], SHAPE);
    tracker.countAll(applied!.rows, applied!.levels);
    expect(tracker.drain()).toEqual([[T + 6000, [0, 1]]]);
    expect(lost).toBe(1); // screens were told to re-sync
  });
});
