/**
 * The Visitors contract: both implementations must pass it. Peers play ingest nodes (for
 * Redis, each with its own connection). Expiry runs on real clocks with a short TTL and wide
 * margins, since the Redis store uses the server's clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, sleep } from './harness.ts';
import type { Visitors } from './visitors.ts';

export function describeVisitors(name: string, make: (opts: { ttlMs: number }) => Promise<Harness<Visitors>>) {
  describe(`Visitors contract: ${name}`, () => {
    let h: Harness<Visitors>;
    beforeEach(async () => {
      h = await make({ ttlMs: 1000 });
    });
    afterEach(() => h.cleanup());

    it('counts devices, not sockets: two tabs, on one node or two, are one visitor', async () => {
      const [a, b] = await h.peers(2);
      expect(await a!.beat('A')).toBe(false); // new
      expect(await b!.beat('B')).toBe(false);
      await a!.change('A', [
        ['p1', 'dev1', 1],
        ['p1', 'dev1', 1], // second tab
        ['p1', 'dev2', 1],
        ['p2', 'dev1', 1], // same device on another project counts there
      ]);
      await b!.change('B', [['p1', 'dev1', 1]]); // a third tab of dev1, on another node
      expect(await h.store.online('p1')).toBe(2);
      expect(await h.store.online('p2')).toBe(1);
      await a!.change('A', [
        ['p1', 'dev1', -2],
        ['p1', 'dev2', -1],
      ]);
      expect(await h.store.online('p1')).toBe(1); // dev1 still has B's tab
      await b!.change('B', [['p1', 'dev1', -1]]);
      expect(await h.store.online('p1')).toBe(0);
      // A close without an open (or twice) never goes below zero nor takes another node's sockets.
      await b!.change('B', [['p2', 'dev1', -1]]);
      expect(await h.store.online('p2')).toBe(1);
    });

    it('refuses a delta from a node it does not know, writing nothing', async () => {
      const [a] = await h.peers(1);
      expect(await a!.change('A', [['p', 'x', 1]])).toBe(false);
      expect(await h.store.online('p')).toBe(0);
      await a!.reset('A', [['p', 'x', 1]]);
      expect(await a!.change('A', [['p', 'y', 1]])).toBe(true);
      expect(await h.store.online('p')).toBe(2);
      expect(await a!.beat('A')).toBe(true);
    });

    it('a node that stops beating drops out at the next sweep; a live one stays', async () => {
      const [a, b] = await h.peers(2);
      await a!.reset('A', []);
      await b!.reset('B', []);
      await a!.change('A', [
        ['p', 'x', 1],
        ['p', 'shared', 1],
      ]);
      await b!.change('B', [
        ['p', 'y', 1],
        ['p', 'shared', 1],
      ]);
      expect(await h.store.online('p')).toBe(3);
      const deadline = Date.now() + 1600;
      while (Date.now() < deadline) {
        await b!.beat('B');
        await sleep(200);
      }
      // A's beat expired: its deltas are refused (its devices count until the sweep takes them).
      expect(await a!.change('A', [['p', 'z', 1]])).toBe(false);
      expect(await h.store.online('p')).toBe(3);
      expect(await a!.sweep()).toEqual(['p']);
      expect(await h.store.online('p')).toBe(2); // x went; shared is still held by B
      // A comes back with a delta: refused, not applied as A's only device (x would stay uncounted).
      expect(await a!.change('A', [['p', 'z', 1]])).toBe(false);
      expect(await h.store.online('p')).toBe(2);
      // Or with a beat: it is told it was dropped. Either way it re-sends its state, z included.
      expect(await a!.beat('A')).toBe(false);
      await a!.reset('A', [
        ['p', 'x', 1],
        ['p', 'z', 1],
      ]);
      expect(await h.store.online('p')).toBe(4);
      expect(await a!.change('A', [['p', 'z', -1]])).toBe(true);
      expect(await h.store.online('p')).toBe(3);
      expect(await b!.beat('B')).toBe(true);
    });

    it('counts devices active since a moment', async () => {
      const now = Date.now();
      await h.store.seen('p', ['a', 'b', 'a'], now - 400_000);
      await h.store.seen('p', ['b', 'c'], now - 1000);
      await h.store.seen('p', ['a'], now - 500_000); // older than its last event: ignored
      expect(await h.store.active('p', now - 300_000)).toBe(2);
      expect(await h.store.active('p', now - 450_000)).toBe(3);
      expect(await h.store.active('other', 0)).toBe(0);
    });
  });
}
