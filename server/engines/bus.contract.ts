/**
 * The Bus contract: both implementations must pass it. Peers stand in for other processes
 * (for Redis each has its own connections). Negative checks ("was not delivered") wait for a
 * later message from the same publisher instead of sleeping: delivery is ordered.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus, BusOptions } from './bus.ts';
import type { Harness } from './harness.ts';

export type TestChannels = { tick: { n: number; at?: unknown; gone?: unknown }; other: { n: number }; mark: string };
type TestBus = Bus<TestChannels>;

/** Records what a channel delivers; `until(n)` resolves once n messages have arrived. */
async function record<C extends keyof TestChannels & string>(bus: TestBus, channel: C) {
  const got: TestChannels[C][] = [];
  let wake = () => {};
  const unsubscribe = await bus.subscribe(channel, (m) => {
    got.push(m);
    wake();
  });
  const until = (n: number) =>
    new Promise<TestChannels[C][]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length}/${n} messages on ${channel}`)), 5000);
      const check = () => {
        if (got.length < n) return;
        clearTimeout(timer);
        resolve(got);
      };
      wake = check;
      check();
    });
  return { got, until, unsubscribe };
}

export function describeBus(name: string, make: (opts: BusOptions) => Promise<Harness<TestBus>>) {
  describe(`Bus contract: ${name}`, () => {
    let h: Harness<TestBus>;
    const errors: unknown[] = [];
    beforeEach(async () => {
      errors.length = 0;
      h = await make({ onError: (err) => errors.push(err) });
    });
    afterEach(() => h.cleanup());

    it('delivers a JSON copy to subscribers in other processes, never inside publish', async () => {
      const [other] = await h.peers(1);
      const remote = await record(other!, 'tick');
      const local = await record(h.store, 'tick');
      const msg = { n: 1, at: new Date(0), gone: undefined };
      const sent = h.store.publish('tick', msg);
      expect(local.got).toEqual([]);
      await sent;
      const [r] = await remote.until(1);
      const [l] = await local.until(1);
      expect(r).toEqual({ n: 1, at: '1970-01-01T00:00:00.000Z' });
      expect(l).toEqual(r);
      expect(l).not.toBe(msg);
    });

    it('keeps channels apart and calls every handler of a channel', async () => {
      const [other] = await h.peers(1);
      const a = await record(other!, 'tick');
      const b = await record(other!, 'tick');
      const c = await record(other!, 'other');
      await h.store.publish('tick', { n: 1 });
      await h.store.publish('other', { n: 2 });
      await c.until(1);
      expect((await a.until(1)).map((m) => m.n)).toEqual([1]);
      expect((await b.until(1)).map((m) => m.n)).toEqual([1]);
      expect(c.got).toEqual([{ n: 2 }]);
    });

    it('delivers one publisher’s messages in order', async () => {
      const [other] = await h.peers(1);
      const r = await record(other!, 'tick');
      await Promise.all(Array.from({ length: 100 }, (_, n) => h.store.publish('tick', { n })));
      expect((await r.until(100)).map((m) => m.n)).toEqual(Array.from({ length: 100 }, (_, n) => n));
    });

    it('stops delivering to a handler once unsubscribed, leaving the others', async () => {
      const [other] = await h.peers(1);
      const gone = await record(other!, 'tick');
      const stays = await record(other!, 'tick');
      const marks = await record(other!, 'mark');
      await h.store.publish('tick', { n: 1 });
      await gone.until(1);
      await gone.unsubscribe();
      await gone.unsubscribe();
      await h.store.publish('tick', { n: 2 });
      await h.store.publish('mark', 'after');
      await marks.until(1);
      expect(gone.got.map((m) => m.n)).toEqual([1]);
      expect((await stays.until(2)).map((m) => m.n)).toEqual([1, 2]);
      await stays.unsubscribe();
      await h.store.publish('tick', { n: 3 });
      await h.store.publish('mark', 'last');
      await marks.until(2);
      expect(stays.got.map((m) => m.n)).toEqual([1, 2]);
      const again = await record(other!, 'tick');
      await h.store.publish('tick', { n: 4 });
      expect((await again.until(1)).map((m) => m.n)).toEqual([4]);
    });

    it('reports a throwing handler to onError and still calls the others', async () => {
      const [other] = await h.peers(1);
      await other!.subscribe('tick', () => {
        throw new Error('handler bug');
      });
      const r = await record(other!, 'tick');
      await h.store.publish('tick', { n: 7 });
      await r.until(1);
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toContain('handler bug');
    });

    it('refuses a message that is not JSON', async () => {
      await expect(h.store.publish('mark', undefined as unknown as string)).rejects.toThrow(TypeError);
    });
  });
}
