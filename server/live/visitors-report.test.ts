/**
 * The visitors reporter against the in-process engine. Guards against: tabs counted as
 * visitors; a delta lost while the store was unreachable leaving the count wrong for good
 * (the next beat must re-send the whole state); a clean close leaving this node's visitors.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryVisitors } from '../engines/visitors.memory.ts';
import type { Visitors } from '../engines/visitors.ts';
import { eventsBatch } from './live.fixtures.ts';
import { createVisitorsReporter } from './visitors-report.ts';

const until = async (ok: () => Promise<boolean>) => {
  const end = Date.now() + 10_000;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
};

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
});
