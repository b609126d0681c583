/**
 * The visitors reporter against the in-process engine. Guards against: tabs counted as
 * visitors; a delta lost while the store was unreachable leaving the count wrong for good
 * (the next beat must re-send the whole state); a swept node's devices left uncounted when its
 * first write back is a delta; a clean close leaving this node's visitors.
 */
import { describe, expect, it, vi } from 'vitest';
import { until } from '../../tests/support/until.ts';
import { createMemoryVisitors } from '../engines/visitors.memory.ts';
import type { Visitors } from '../engines/visitors.ts';
import { eventsBatch } from './live.fixtures.ts';
import { createVisitorsReporter } from './visitors-report.ts';

describe('visitors reporter', () => {
  it('reports devices, re-sends its state after a failed write, and leaves on close', async () => {
    const store = createMemoryVisitors({ ttlMs: 5000 });
    let failNext = 0;
    const flaky: Visitors = {
      ...store,
      async change(node, changes) {
        if (failNext-- > 0) throw new Error('Redis is away');
        return store.change(node, changes);
      },
    };
    const r = createVisitorsReporter({ visitors: flaky, nodeId: 'n1', flushMs: 5, beatMs: 50 });
    r.sockets('p', 'a', 1);
    r.sockets('p', 'a', 1); // second tab
    r.sockets('p', 'b', 1);
    await until(async () => (await store.online('p')) === 2);
    failNext = 1;
    r.sockets('p', 'c', 1); // lost on their way
    r.sockets('p', 'd', 1);
    await new Promise((r) => setTimeout(r, 20));
    await until(async () => (await store.online('p')) === 4); // a, b, c, d once the next beat re-sent the state
    r.events('p', eventsBatch('p', 3).events);
    await until(async () => (await store.active('p', Date.now() - 60_000)) === 3);
    await r.close();
    expect(await store.online('p')).toBe(0);
  });

  it('counts a socket once when the state is re-sent while its delta waits to be written', async () => {
    const store = createMemoryVisitors({ ttlMs: 5000 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let beats = 0;
    const swept: Visitors = {
      ...store,
      // The first beat finds this node swept (it missed beats), and answers only once the delta below waits behind it.
      async beat(node) {
        if (beats++ > 0) return store.beat(node);
        await gate;
        return false;
      },
    };
    const r = createVisitorsReporter({ visitors: swept, nodeId: 'n1', flushMs: 5, beatMs: 20 });
    await until(async () => beats > 0);
    r.sockets('p', 'a', 1);
    await new Promise((r) => setTimeout(r, 50)); // the flush took the +1 and queued it behind the beat
    release();
    await until(async () => (await store.online('p')) === 1);
    r.sockets('p', 'a', -1);
    await until(async () => (await store.online('p')) === 0);
    await r.close();
  });

  it('re-sends its state when its first write after being swept is a delta, not a beat', async () => {
    vi.useFakeTimers();
    try {
      const store = createMemoryVisitors({ ttlMs: 10_000 });
      const r = createVisitorsReporter({ visitors: store, nodeId: 'n1', flushMs: 100, beatMs: 2000 });
      r.sockets('p', 'a', 1);
      r.sockets('p', 'b', 1);
      await vi.advanceTimersByTimeAsync(100);
      expect(await store.online('p')).toBe(2);
      // This node stalls past the TTL (the clock jumps, its timers do not fire) and another node sweeps it.
      vi.setSystemTime(Date.now() + 15_000);
      expect(await store.sweep()).toEqual(['p']);
      expect(await store.online('p')).toBe(0);
      // Its flush is due before its beat: the first write back is the delta of a new socket.
      r.sockets('p', 'c', 1);
      await vi.advanceTimersByTimeAsync(100);
      expect(await store.online('p')).toBe(3); // a and b too, not only c
      await vi.advanceTimersByTimeAsync(2000); // the next beat finds the node live
      expect(await store.online('p')).toBe(3);
      for (const d of ['a', 'b', 'c']) r.sockets('p', d, -1);
      await vi.advanceTimersByTimeAsync(100);
      expect(await store.online('p')).toBe(0); // each counted once
      await r.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('tries a re-send again when it failed half-way', async () => {
    vi.useFakeTimers();
    try {
      const store = createMemoryVisitors({ ttlMs: 10_000 });
      let failResets = 0;
      const halfway: Visitors = {
        ...store,
        // As the Redis store whose connection drops between registering the node and writing its state.
        async reset(node, state) {
          if (failResets-- <= 0) return store.reset(node, state);
          await store.reset(node, []);
          throw new Error('Redis is away');
        },
      };
      const r = createVisitorsReporter({ visitors: halfway, nodeId: 'n1', flushMs: 100, beatMs: 2000 });
      r.sockets('p', 'a', 1);
      await vi.advanceTimersByTimeAsync(100);
      expect(await store.online('p')).toBe(1);
      vi.setSystemTime(Date.now() + 15_000); // stalled past the TTL; another node sweeps it
      expect(await store.sweep()).toEqual(['p']);
      failResets = 1;
      await vi.advanceTimersByTimeAsync(2000); // the beat learns it was swept; the re-send fails half-way
      expect(await store.online('p')).toBe(0);
      await vi.advanceTimersByTimeAsync(2000); // the next beat finds the node live, and re-sends anyway
      expect(await store.online('p')).toBe(1);
      await r.close();
    } finally {
      vi.useRealTimers();
    }
  });
  it('coalesces a device\'s "seen" writes for a remote store only', async () => {
    vi.useFakeTimers();
    try {
      const written: string[] = [];
      const counting = (inProcess: boolean): Visitors => {
        const store = createMemoryVisitors();
        return {
          ...store,
          inProcess,
          async seen(p, devices, at) {
            written.push(...devices);
            return store.seen(p, devices, at);
          },
        };
      };
      for (const inProcess of [false, true]) {
        written.length = 0;
        const r = createVisitorsReporter({ visitors: counting(inProcess), nodeId: 'n1', flushMs: 100, beatMs: 60_000 });
        for (let i = 0; i < 3; i++) {
          r.events('p', eventsBatch('p', 2).events); // dev-0, dev-1
          await vi.advanceTimersByTimeAsync(1000); // within the 5 s a remote write is coalesced for
        }
        // A remote store is written each device once per 5 s; the in-process one at every flush
        // (its write is the same Map update the coalescing table would have cost, without the table).
        expect(written).toEqual(inProcess ? ['dev-0', 'dev-1', 'dev-0', 'dev-1', 'dev-0', 'dev-1'] : ['dev-0', 'dev-1']);
        await r.close();
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
