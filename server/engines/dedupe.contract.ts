/**
 * The Dedupe contract: both implementations must pass it (Redis against a real server, with
 * separate connections as separate processes).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Dedupe } from './dedupe.ts';
import { type Harness, sleep } from './harness.ts';

const HOUR = 3_600_000;

export function describeDedupe(name: string, make: () => Promise<Harness<Dedupe>>) {
  describe(`Dedupe contract: ${name}`, () => {
    let h: Harness<Dedupe>;
    let dedupe: Dedupe;
    beforeEach(async () => {
      h = await make();
      dedupe = h.store;
    });
    afterEach(() => h.cleanup());

    it('reports new ids as true and repeats as false, per id', async () => {
      expect(await dedupe.claim(['a', 'b'], HOUR)).toEqual([true, true]);
      expect(await dedupe.claim(['b', 'c', 'a'], HOUR)).toEqual([false, true, false]);
      expect(await dedupe.claim([], HOUR)).toEqual([]);
    });

    it('counts an id repeated within one batch once', async () => {
      expect(await dedupe.claim(['x', 'x', 'y'], HOUR)).toEqual([true, false, true]);
    });

    it('forgets ids after their TTL', async () => {
      expect(await dedupe.claim(['short'], 80)).toEqual([true]);
      expect(await dedupe.claim(['long'], HOUR)).toEqual([true]);
      expect(await dedupe.claim(['short'], 80)).toEqual([false]);
      await sleep(200);
      expect(await dedupe.claim(['short', 'long'], HOUR)).toEqual([true, false]);
    });

    it('makes released ids claimable again, and only those', async () => {
      await dedupe.claim(['a', 'b', 'c'], HOUR);
      await dedupe.release(['a', 'c', 'never-claimed']);
      await dedupe.release([]);
      expect(await dedupe.claim(['a', 'b', 'c'], HOUR)).toEqual([true, false, true]);
    });

    // Guards against acknowledging a resend as a duplicate of an id whose events were only
    // claimed (the claimer may have died before queueing them): only confirmed ids count.
    it('tells confirmed ids from merely claimed ones', async () => {
      expect(await dedupe.claim(['a', 'b'], HOUR)).toEqual([true, true]);
      expect(await dedupe.confirmed(['a', 'b', 'unknown'])).toEqual([false, false, false]);
      await dedupe.confirm(['a'], HOUR);
      expect(await dedupe.confirmed(['a', 'b', 'unknown'])).toEqual([true, false, false]);
      expect(await dedupe.claim(['a', 'b'], HOUR)).toEqual([false, false]);
      expect(await dedupe.confirmed([])).toEqual([]);
      await dedupe.confirm([], HOUR);
    });

    it('never forgets a confirmed id on release (only claims)', async () => {
      await dedupe.claim(['queued', 'failed'], HOUR);
      await dedupe.confirm(['queued'], HOUR);
      await dedupe.release(['queued', 'failed']);
      expect(await dedupe.claim(['queued', 'failed'], HOUR)).toEqual([false, true]);
      expect(await dedupe.confirmed(['queued'])).toEqual([true]);
    });

    it('lets a claim lapse after its lease, but keeps a confirmation for its own TTL', async () => {
      expect(await dedupe.claim(['lapsed', 'kept'], 80)).toEqual([true, true]);
      await dedupe.confirm(['kept'], HOUR);
      await sleep(200);
      expect(await dedupe.claim(['lapsed', 'kept'], HOUR)).toEqual([true, false]);
      expect(await dedupe.confirmed(['lapsed', 'kept'])).toEqual([false, true]);
    });

    it('lets exactly one of 10 concurrent claimers have an id', async () => {
      const peers = await h.peers(10);
      const results = await Promise.all(peers.map((p) => p.claim(['one'], HOUR)));
      expect(results.filter(([won]) => won)).toHaveLength(1);
      const ids = Array.from({ length: 30 }, (_, i) => `k${i}`);
      const batches = await Promise.all(peers.map((p, i) => p.claim([...ids.slice(i), ...ids.slice(0, i)], HOUR)));
      const wins = new Map<string, number>();
      batches.forEach((batch, i) => {
        const order = [...ids.slice(i), ...ids.slice(0, i)];
        batch.forEach((won, j) => {
          if (won) wins.set(order[j]!, (wins.get(order[j]!) ?? 0) + 1);
        });
      });
      expect(wins.size).toBe(30);
      expect([...wins.values()].every((n) => n === 1)).toBe(true);
    });
  });
}
