// Runs the SessionStore contract against the in-process store.
import { existsSync, mkdtempSync } from 'node:fs';
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
