// Runs the SessionStore contract against the in-process store.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryHarness } from './harness.ts';
import { describeSessionStore } from './sessions.contract.ts';
import { createMemorySessionStore } from './sessions.memory.ts';
import { blankSession } from './sessions.ts';

describeSessionStore('memory', async ({ timeoutMs }) => memoryHarness(createMemorySessionStore({ timeoutMs })));

describe('memory sessions snapshot', () => {
  // Guards against an embedded restart losing open sessions (no `sessions` row ever written)
  // or splitting one visit into two.
  it('keeps open sessions across close() and a new store on the same file', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'lp-sess-')), 'sessions.json');
    const a = createMemorySessionStore({ timeoutMs: 60_000, snapshotFile: file });
    const hit = { at: 1_000, path: '/a', origin: 'https://x.com', profileId: '', isScreenView: true, revenue: 0 };
    const first = await a.touch('p1', 'd1', hit, () => ({ ...seed, startedAt: 1_000, lastSeenAt: 1_000 }));
    await a.close();
    expect(existsSync(file)).toBe(true);

    const b = createMemorySessionStore({ timeoutMs: 60_000, snapshotFile: file });
    expect(existsSync(file)).toBe(false);
    const again = await b.touch('p1', 'd1', { ...hit, at: 2_000, path: '/b' }, () => {
      throw new Error('must continue the restored session, not start one');
    });
    expect(again.started).toBe(false);
    expect(again.session.id).toBe(first.session.id);
    expect(again.session.eventCount).toBe(2);
    expect(await b.claimExpired(2_000 + 60_000, 10)).toHaveLength(1);
  });
});

const seed = blankSession({
  id: 's1',
  projectId: 'p1',
  deviceId: 'd1',
  eventCount: 1,
  screenViewCount: 1,
  entryPath: '/a',
  entryOrigin: 'https://x.com',
  exitPath: '/a',
  exitOrigin: 'https://x.com',
});

describe('memory sessions bounds', () => {
  const hit = (at: number) => ({ at, path: '/a', origin: 'https://x.com', profileId: '', isScreenView: true, revenue: 0 });
  const seedFor = (projectId: string, deviceId: string, at: number) => () =>
    blankSession({ id: `${projectId}/${deviceId}`, projectId, deviceId, startedAt: at, lastSeenAt: at, eventCount: 1 });

  // Guards against client-chosen device ids filling the heap (74k sessions ≈ 513 MB), and
  // against eviction losing sessions: an evicted one is handed back to be written.
  it('evicts the least recently active session past maxSessions and hands it back', async () => {
    const store = createMemorySessionStore({ timeoutMs: 60_000, maxSessions: 3 });
    for (let i = 0; i < 3; i++) await store.touch('p1', `d${i}`, hit(1000 + i), seedFor('p1', `d${i}`, 1000 + i));
    await store.touch('p1', 'd0', hit(2000), seedFor('p1', 'd0', 2000)); // d0 active again: d1 is now the oldest
    const r = await store.touch('p1', 'd3', hit(3000), seedFor('p1', 'd3', 3000));
    expect(r.evicted?.map((s) => s.deviceId)).toEqual(['d1']);
    expect(await store.size()).toBe(3);
    expect(await store.get('p1', 'd1')).toBeNull();
  });

  // Guards the heap's lazy entries: a hit leaves a session's entry at its old expiry, which
  // must be checked against the session before anything is claimed at it.
  it('claims sessions at their expiry after later hits and keep-alives, in expiry order', async () => {
    const store = createMemorySessionStore({ timeoutMs: 60_000 });
    await store.touch('p1', 'a', hit(1000), seedFor('p1', 'a', 1000));
    await store.touch('p1', 'b', hit(2000), seedFor('p1', 'b', 2000));
    await store.touch('p1', 'c', hit(3000), seedFor('p1', 'c', 3000));
    await store.touch('p1', 'a', hit(5000), seedFor('p1', 'a', 5000)); // a: due at 65,000
    await store.keepAlive('p1', 'b', 90_000); // b: due at 90,000
    expect(await store.claimExpired(62_999, 10)).toEqual([]);
    expect((await store.claimExpired(64_999, 10)).map((s) => s.deviceId)).toEqual(['c']);
    expect(await store.get('p1', 'a')).not.toBeNull();
    expect((await store.claimExpired(100_000, 10)).map((s) => s.deviceId)).toEqual(['a', 'b']);
    expect(await store.size()).toBe(0);
  });

  it('evicts within the project past maxPerProject, so one tenant cannot push out another’s sessions', async () => {
    const store = createMemorySessionStore({ timeoutMs: 60_000, maxSessions: 1000, maxPerProject: 2 });
    await store.touch('victim', 'v', hit(1), seedFor('victim', 'v', 1));
    const evicted: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await store.touch('attacker', `a${i}`, hit(10 + i), seedFor('attacker', `a${i}`, 10 + i));
      evicted.push(...(r.evicted ?? []).map((s) => `${s.projectId}/${s.deviceId}`));
    }
    expect(evicted).toHaveLength(48);
    expect(evicted.every((k) => k.startsWith('attacker/'))).toBe(true);
    expect(await store.get('victim', 'v')).not.toBeNull();
  });

  it('writes the snapshot as fsynced JSON lines and reads it back bounded, skipping a torn line', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'lp-sess-')), 'sessions.json');
    const a = createMemorySessionStore({ timeoutMs: 60_000, snapshotFile: file });
    for (let i = 0; i < 5; i++) await a.touch('p1', `d${i}`, hit(1000 + i), seedFor('p1', `d${i}`, 1000 + i));
    await a.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(5);
    writeFileSync(file, `${lines.join('\n')}\n{"id":"torn","projectId":"p1","devi`);
    const b = createMemorySessionStore({ timeoutMs: 60_000, snapshotFile: file, maxSessions: 3 });
    expect(await b.size()).toBe(3); // bounded: the most recent three
    expect(await b.get('p1', 'd4')).not.toBeNull();
    expect(await b.get('p1', 'd0')).toBeNull();
    // The two it could not hold are not dropped: the next touch hands them back to be written.
    const r = await b.touch('p2', 'x', hit(5000), seedFor('p2', 'x', 5000));
    expect(r.evicted?.map((s) => s.deviceId).sort()).toEqual(['d0', 'd1', 'd2']);
  });
});
