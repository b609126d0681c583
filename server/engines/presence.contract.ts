/**
 * The Presence contract: both implementations must pass it. Peers play the other ingest
 * nodes (for Redis, each with its own connection). Expiry runs on real clocks with a 1 s
 * TTL and wide margins, since the Redis store uses the server's clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, sleep } from './harness.ts';
import type { Presence } from './presence.ts';

export const CONTRACT_PRESENCE_TTL_MS = 1000;

export function describePresence(name: string, make: (opts: { ttlMs: number }) => Promise<Harness<Presence>>) {
  describe(`Presence contract: ${name}`, () => {
    let h: Harness<Presence>;
    beforeEach(async () => {
      h = await make({ ttlMs: CONTRACT_PRESENCE_TTL_MS });
    });
    afterEach(() => h.cleanup());

    it('sums the latest report of every node, per project', async () => {
      const [a, b] = await h.peers(2);
      await a!.set('node-a', 'p1', 3);
      await b!.set('node-b', 'p1', 4);
      await b!.set('node-b', 'p2', 1);
      await a!.set('node-a', 'p1', 5);
      expect(await h.store.count('p1')).toBe(9);
      expect(await a!.count('p2')).toBe(1);
      expect(await b!.count('nobody')).toBe(0);
      expect(await h.store.counts()).toEqual({ p1: 9, p2: 1 });
    });

    it('drops a node’s report when it sets 0', async () => {
      const [a, b] = await h.peers(2);
      await a!.set('node-a', 'p1', 3);
      await b!.set('node-b', 'p1', 4);
      await a!.set('node-a', 'p1', 0);
      expect(await h.store.count('p1')).toBe(4);
      await b!.set('node-b', 'p1', 0);
      expect(await h.store.count('p1')).toBe(0);
      expect(await h.store.counts()).toEqual({});
    });

    it('keeps project ids apart, whatever they contain', async () => {
      await h.store.set('n', 'a:b', 1);
      await h.store.set('n', 'a', 2);
      await h.store.set('n', 'ä b/%', 3);
      expect(await h.store.counts()).toEqual({ 'a:b': 1, a: 2, 'ä b/%': 3 });
    });

    it('forgets a node that stops reporting after the TTL, keeping the ones that heartbeat', async () => {
      const [dead, alive] = await h.peers(2);
      await dead!.set('node-dead', 'p1', 10);
      await dead!.set('node-dead', 'p2', 1);
      await alive!.set('node-alive', 'p1', 2);
      await sleep(CONTRACT_PRESENCE_TTL_MS / 2);
      await alive!.set('node-alive', 'p1', 2); // heartbeat
      expect(await h.store.count('p1')).toBe(12);
      await sleep(CONTRACT_PRESENCE_TTL_MS / 2 + 100);
      expect(await h.store.count('p1')).toBe(2);
      expect(await h.store.counts()).toEqual({ p1: 2 });
      await sleep(CONTRACT_PRESENCE_TTL_MS / 2);
      expect(await h.store.count('p1')).toBe(0);
      expect(await h.store.counts()).toEqual({});
    });
  });
}
