// The session reaper never drops a session it claimed. Guards against: after 8 failed pushes
// (a Redis outage, a full disk) it gave up, and the claimed sessions — which exist nowhere
// else once claimed — were lost with their `sessions` rows and `session_end` events.
import { describe, expect, it } from 'vitest';
import { emptyBatch, type WriteBatch } from '../../shared/rows.ts';
import type { EventQueue } from '../engines/queue.ts';
import { createMemorySessionStore } from '../engines/sessions.memory.ts';
import { blankSession } from '../engines/sessions.ts';
import { silentLogger } from '../log.ts';
import { createMetrics } from '../metrics.ts';
import { createSessionReaper } from './sessions.reap.ts';

/** A queue whose push fails `failures` times, then stores. */
function flakyQueue(failures: number) {
  const stored: WriteBatch[] = [];
  let calls = 0;
  const queue: EventQueue = {
    confirmsDedupe: false,
    async push(batch) {
      if (++calls <= failures) throw new Error(`queue down (${calls})`);
      stored.push(batch);
    },
    async depth() {
      return 0;
    },
    async close() {},
  };
  return { queue, stored, calls: () => calls };
}

async function storeWithSessions(n: number) {
  const sessions = createMemorySessionStore({ timeoutMs: 1000 });
  const hit = { at: 1_000, path: '/', origin: 'https://example.com', profileId: '', isScreenView: true, revenue: 0 };
  for (let i = 0; i < n; i++) {
    await sessions.touch('p1', `d${i}`, hit, () => blankSession({ id: `s${i}`, projectId: 'p1', deviceId: `d${i}`, startedAt: 1_000, lastSeenAt: 1_000 }));
  }
  return sessions;
}

describe('session reaper', () => {
  it('keeps retrying a failing push until it succeeds: every claimed session is written once', async () => {
    const sessions = await storeWithSessions(3);
    const q = flakyQueue(20); // more than the 8 attempts the reaper used to give up after
    const metrics = createMetrics();
    const reaper = createSessionReaper({ sessions, queue: q.queue, log: silentLogger, metrics, maxBackoffMs: 2 });
    expect(await reaper.reap(10_000)).toBe(3);
    expect(q.stored).toHaveLength(1);
    const batch = q.stored[0] ?? emptyBatch();
    expect(batch.sessions.map((s) => s.id).sort()).toEqual(['s0', 's1', 's2']);
    expect(batch.events.filter((e) => e.name === 'session_end')).toHaveLength(3);
    expect(await sessions.size()).toBe(0);
    expect((await metrics.sessionPushRetries.get()).values[0]?.value).toBe(20);
  });

  it('on stop, retries for the grace period, then reports the sessions it could not write', async () => {
    const sessions = await storeWithSessions(2);
    const q = flakyQueue(Number.POSITIVE_INFINITY);
    const metrics = createMetrics();
    const reaper = createSessionReaper({ sessions, queue: q.queue, log: silentLogger, metrics, maxBackoffMs: 60_000, stopGraceMs: 50, intervalMs: 5 });
    reaper.start();
    for (let i = 0; i < 200 && q.calls() === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await reaper.stop(); // wakes the 60 s backoff, retries until the grace ends
    expect(q.calls()).toBeGreaterThan(1);
    expect((await metrics.sessionsLost.get()).values[0]?.value).toBe(2);
  });
});
