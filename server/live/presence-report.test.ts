// Presence reporting without sockets, against the in-process Presence engine (same contract as Redis).
import { describe, expect, it } from 'vitest';
import { createMemoryPresence } from '../engines/presence.memory.ts';
import type { Presence } from '../engines/presence.ts';
import { createPresenceReporter } from './presence-report.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('presence reporter', () => {
  it('coalesces changes into one write per project and says which projects changed', async () => {
    const presence = createMemoryPresence({ ttlMs: 10_000 });
    const writes: Array<[string, number]> = [];
    const spy: Presence = {
      ...presence,
      set(n, p, c) {
        writes.push([p, c]);
        return presence.set(n, p, c);
      },
    };
    const reported: string[][] = [];
    const r = createPresenceReporter({ presence: spy, nodeId: 'a', flushMs: 20, heartbeatMs: 60_000, onReported: (ids) => reported.push(ids) });
    for (let i = 1; i <= 50; i++) r.changed('p1', i); // a burst of SDK sockets opening
    r.changed('p2', 1);
    r.changed('p2', 0);
    await sleep(60);
    expect(writes).toEqual([
      ['p1', 50],
      ['p2', 0],
    ]);
    expect(reported).toEqual([['p1', 'p2']]);
    expect(await presence.count('p1')).toBe(50);
    expect(r.local('p1')).toBe(50);
    await r.close();
  });

  it('heartbeats keep a count past the TTL; close() reports 0 at once', async () => {
    const presence = createMemoryPresence({ ttlMs: 150 });
    let beats = 0;
    const r = createPresenceReporter({ presence, nodeId: 'a', flushMs: 5, heartbeatMs: 40, onHeartbeat: () => beats++ });
    r.changed('p1', 3);
    await presence.set('b', 'p1', 2); // another node's report, never repeated
    await sleep(400); // well past the TTL
    expect(beats).toBeGreaterThan(3);
    expect(await presence.count('p1')).toBe(3); // ours kept alive, node b's expired
    await r.close();
    expect(await presence.count('p1')).toBe(0);
    r.changed('p1', 5); // after close: ignored
    await sleep(30);
    expect(await presence.count('p1')).toBe(0);
  });

  it('does not pile up writes while the store hangs, and close() gives up after its timeout', async () => {
    let calls = 0;
    const hanging: Presence = {
      set() {
        calls++;
        return new Promise(() => {});
      },
      count: async () => 0,
      counts: async () => ({}),
      close: async () => {},
    };
    const r = createPresenceReporter({ presence: hanging, nodeId: 'a', flushMs: 5, heartbeatMs: 10, closeTimeoutMs: 50 });
    r.changed('p1', 1);
    await sleep(100);
    r.changed('p1', 2);
    await sleep(50);
    expect(calls).toBe(1); // the first write never finished: no heartbeats, no second flush
    const started = Date.now();
    await r.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
