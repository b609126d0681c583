/**
 * The FunnelProgress contract: both implementations must pass it. Peers play ingest nodes (for
 * Redis, each with its own connection). Guards against: a visit's steps counted only when they
 * reach the same node; a visit that did step 1 before the seed not counted at step 2; a visit
 * counted twice at a step; progress written under a replaced epoch; the Redis script and the
 * TypeScript rule (the one the store's backfill replays) disagreeing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyState, type FunnelProgress, type FunnelRow, type FunnelShape, stepFunnel } from './funnel-progress.ts';
import type { Harness } from './harness.ts';

const SHAPE: FunnelShape = { steps: 3, windowMs: 60_000 };
const T = 1_764_500_000_000;

export function describeFunnelProgress(name: string, make: () => Promise<Harness<FunnelProgress>>) {
  describe(`FunnelProgress contract: ${name}`, () => {
    let h: Harness<FunnelProgress>;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(() => h.cleanup());

    it('one epoch per tile: the first claim wins, a node that started later retires an older one', async () => {
      const [a, b] = await h.peers(2);
      expect(await a!.epoch('p:k')).toBeNull();
      expect(await a!.claim('p:k', T)).toEqual({ from: T, ready: false });
      expect(await b!.claim('p:k', T + 5000)).toEqual({ from: T, ready: false });
      await b!.retire('p:k', T); // not older than T: kept
      expect(await a!.epoch('p:k')).toEqual({ from: T, ready: false });
      await b!.retire('p:k', T + 1);
      expect(await a!.epoch('p:k')).toBeNull();
      expect(await b!.claim('p:k', T + 5000)).toEqual({ from: T + 5000, ready: false });
      expect(await a!.claim('p:other', T)).toEqual({ from: T, ready: false }); // tiles are separate
    });

    it('a visit counts across nodes and across the seed, once per step', async () => {
      const [a, b] = await h.peers(2);
      await a!.claim('p:k', T);
      const seeded = emptyState(3);
      stepFunnel(seeded, 0b001, T - 10_000, SHAPE); // step 1 before the watermark, from the store
      expect(await b!.seed('p:k', T, [['s1', seeded]], SHAPE)).toEqual({ rows: [], levels: [] });
      expect(await a!.epoch('p:k')).toEqual({ from: T, ready: true });
      // s1: step 2 on node A (counts: 1 → 2), step 3 on node B (2 → 3), step 2 again (stays 3).
      expect(await a!.advance('p:k', T, [{ session: 's1', mask: 0b010, at: T + 1000 }], SHAPE)).toEqual([1, 2]);
      expect(await b!.advance('p:k', T, [{ session: 's1', mask: 0b100, at: T + 2000 }], SHAPE)).toEqual([2, 3]);
      // s2: step 1 on A, step 2 on B; step 2 without step 1 (s3) counts nothing.
      const rows: FunnelRow[] = [
        { session: 's2', mask: 0b001, at: T + 3000 },
        { session: 's3', mask: 0b010, at: T + 3000 },
        { session: 's1', mask: 0b010, at: T + 3000 },
      ];
      expect(await a!.advance('p:k', T, rows, SHAPE)).toEqual([0, 1, 0, 0, 3, 3]);
      expect(await b!.advance('p:k', T, [{ session: 's2', mask: 0b010, at: T + 4000 }], SHAPE)).toEqual([1, 2]);
      // Outside the window of the chain's start: no step.
      expect(await a!.advance('p:k', T, [{ session: 's2', mask: 0b100, at: T + 3000 + 60_001 }], SHAPE)).toEqual([2, 2]);
      // One row matching two steps goes through both, as windowFunnel does.
      expect(await a!.advance('p:k', T, [{ session: 's4', mask: 0b011, at: T + 5000 }], SHAPE)).toEqual([0, 2]);
    });

    it("holds rows until the seed and replays every node's in received order", async () => {
      const [a, b] = await h.peers(2);
      await a!.claim('p:k', T);
      // Node B hears of s1's step 2 before node A's step 1 reaches the store (both after the watermark).
      expect(await b!.advance('p:k', T, [{ session: 's1', mask: 0b010, at: T + 2000 }], SHAPE)).toEqual([]);
      expect(await a!.advance('p:k', T, [{ session: 's1', mask: 0b001, at: T + 1000 }], SHAPE)).toEqual([]);
      // s2 did step 1 before the watermark (seed), step 2 after it on node A.
      expect(await a!.advance('p:k', T, [{ session: 's2', mask: 0b010, at: T + 1500 }], SHAPE)).toEqual([]);
      const s2 = emptyState(3);
      stepFunnel(s2, 0b001, T - 5000, SHAPE);
      const applied = await b!.seed('p:k', T, [['s2', s2]], SHAPE);
      expect(applied).toEqual({
        rows: [
          { session: 's1', mask: 0b001, at: T + 1000 },
          { session: 's2', mask: 0b010, at: T + 1500 },
          { session: 's1', mask: 0b010, at: T + 2000 },
        ],
        levels: [0, 1, 1, 2, 1, 2],
      });
      expect(await a!.epoch('p:k')).toEqual({ from: T, ready: true });
      // A second seed of the same epoch (a screen opening in the same second) changes nothing.
      expect(await a!.seed('p:k', T, [['s2', emptyState(3)]], SHAPE)).toEqual({ rows: [], levels: [] });
      expect(await a!.advance('p:k', T, [{ session: 's2', mask: 0b100, at: T + 3000 }], SHAPE)).toEqual([2, 3]);
    });

    it('answers null under a replaced epoch, and a replaced epoch starts from nothing', async () => {
      const [a] = await h.peers(1);
      await a!.claim('p:k', T);
      expect(await a!.seed('p:k', T, [], SHAPE)).toEqual({ rows: [], levels: [] });
      expect(await a!.advance('p:k', T, [{ session: 's1', mask: 1, at: T + 1 }], SHAPE)).toEqual([0, 1]);
      await a!.retire('p:k', T + 10);
      await a!.claim('p:k', T + 10);
      expect(await a!.advance('p:k', T, [{ session: 's1', mask: 2, at: T + 20 }], SHAPE)).toBeNull();
      expect(await a!.seed('p:k', T, [], SHAPE)).toBeNull();
      expect(await a!.seed('p:k', T + 10, [], SHAPE)).toEqual({ rows: [], levels: [] });
      expect(await a!.advance('p:k', T + 10, [{ session: 's1', mask: 2, at: T + 20 }], SHAPE)).toEqual([0, 0]);
    });

    it('follows the same rule as stepFunnel on a random stream', async () => {
      const [a, b] = await h.peers(2);
      await a!.claim('p:r', T);
      await a!.seed('p:r', T, [], SHAPE);
      let seed = 11;
      const rnd = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const expected = new Map<string, ReturnType<typeof emptyState>>();
      for (let batch = 0; batch < 20; batch++) {
        const rows: FunnelRow[] = Array.from({ length: 25 }, (_, i) => ({
          session: `s${Math.floor(rnd() * 12)}`,
          mask: Math.floor(rnd() * 8),
          at: T + batch * 9_000 + i * 300,
        }));
        const want: number[] = [];
        for (const r of rows) {
          const s = expected.get(r.session) ?? emptyState(3);
          expected.set(r.session, s);
          const before = s.level;
          stepFunnel(s, r.mask, r.at, SHAPE);
          want.push(before, s.level);
        }
        expect(await (batch % 2 ? a! : b!).advance('p:r', T, rows, SHAPE)).toEqual(want);
      }
    });
  });
}
