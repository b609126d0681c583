// Runs the SessionStore contract against the in-process store.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

  // Guards the project's touch order: a hit (alone or in a batch) makes its session the most
  // recently active, so the project's bound evicts the one idle longest, not the oldest started.
  it('evicts the least recently hit session of a project past maxPerProject', async () => {
    const store = createMemorySessionStore({ timeoutMs: 60_000, maxPerProject: 3 });
    for (let i = 0; i < 3; i++) await store.touch('p1', `d${i}`, hit(1000 + i), seedFor('p1', `d${i}`, 1000 + i));
    await store.touch('p1', 'd0', hit(2000), seedFor('p1', 'd0', 2000));
    expect((await store.touch('p1', 'd3', hit(3000), seedFor('p1', 'd3', 3000))).evicted?.map((s) => s.deviceId)).toEqual(['d1']);
    await store.touchMany('p1', [
      { deviceId: 'd2', hit: hit(4000), seed: seedFor('p1', 'd2', 4000) },
      { deviceId: 'd2', hit: hit(4001), seed: seedFor('p1', 'd2', 4001) },
    ]);
    expect((await store.touch('p1', 'd4', hit(5000), seedFor('p1', 'd4', 5000))).evicted?.map((s) => s.deviceId)).toEqual(['d0']);
    expect((await store.touch('p1', 'd5', hit(6000), seedFor('p1', 'd5', 6000))).evicted?.map((s) => s.deviceId)).toEqual(['d3']);
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

describe('memory sessions bookkeeping', () => {
  // Guards the one record a session shares between its project's map, the expiry heap and the
  // touch order: a session left behind in one of them after leaving another would be handed
  // back twice (two `sessions` rows), never, or would push the bounds out of true.
  it('hands every session back exactly once through hits, keep-alives, claims and both bounds', async () => {
    let seed = 3;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n); // the high bits: an LCG's low bits repeat quickly
    };
    const timeoutMs = 1_000;
    const store = createMemorySessionStore({ timeoutMs, maxSessions: 25, maxPerProject: 12 });
    const open = new Map<string, string>(); // session id → project/device, per what the store said
    const handedBack = new Set<string>();
    const ways = { closed: 0, evicted: 0, claimed: 0 };
    const giveBack = (s: { id: string; projectId: string; deviceId: string }, way: keyof typeof ways) => {
      ways[way]++;
      expect(handedBack.has(s.id), `session ${s.id} handed back twice`).toBe(false);
      expect(open.get(s.id)).toBe(`${s.projectId}/${s.deviceId}`);
      handedBack.add(s.id);
      open.delete(s.id);
    };
    let at = 0;
    let n = 0;
    for (let i = 0; i < 10_000; i++) {
      at += rand(80);
      const project = `p${rand(3)}`;
      const device = `d${rand(20)}`;
      const op = rand(10);
      if (op < 7) {
        const hit = { at, path: '/x', origin: 'https://x.com', profileId: '', isScreenView: true, revenue: 0 };
        const seedOf = (id: string) => () => blankSession({ id, projectId: project, deviceId: device, startedAt: at, lastSeenAt: at, eventCount: 1 });
        // touchMany: two hits of one device, the second always finding the first's session.
        const results =
          op < 5
            ? [await store.touch(project, device, hit, seedOf(`s${n++}`))].map((r) => ({ ...r, id: r.session.id }))
            : await store.touchMany(project, [
                { deviceId: device, hit, seed: seedOf(`s${n++}`) },
                { deviceId: device, hit, seed: seedOf(`s${n++}`) },
              ]);
        for (const r of results) {
          if (r.closed) giveBack(r.closed, 'closed');
          for (const e of r.evicted ?? []) giveBack(e, 'evicted');
          if (r.started) open.set(r.id, `${project}/${device}`);
          else expect(open.get(r.id)).toBe(`${project}/${device}`);
        }
      } else if (op < 8) {
        await store.keepAlive(project, device, at + rand(3_000));
      } else {
        for (const s of await store.claimExpired(at, 1 + rand(5))) {
          expect(at).toBeGreaterThanOrEqual(Math.max(s.lastSeenAt + timeoutMs, s.keepAliveUntil));
          giveBack(s, 'claimed');
        }
      }
      expect(await store.size()).toBe(open.size);
      expect(open.size).toBeLessThanOrEqual(25);
      const perProject = new Map<string, number>();
      for (const k of open.values()) perProject.set(k.slice(0, 2), (perProject.get(k.slice(0, 2)) ?? 0) + 1);
      for (const held of perProject.values()) expect(held).toBeLessThanOrEqual(12);
    }
    for (const s of await store.claimExpired(Number.MAX_SAFE_INTEGER, 1_000)) giveBack(s, 'claimed');
    expect(open.size).toBe(0);
    expect(await store.size()).toBe(0);
    // Every way out was taken, many times.
    for (const way of Object.values(ways)) expect(way).toBeGreaterThan(100);
  });

  // Guards keying by device within a project: the same device id in two projects is two
  // sessions, and a project's last session leaving does not disturb another's.
  it('keeps one device id in two projects apart', async () => {
    const store = createMemorySessionStore({ timeoutMs: 60_000 });
    const hit = { at: 1_000, path: '/a', origin: 'https://x.com', profileId: '', isScreenView: true, revenue: 0 };
    const seedOf = (projectId: string) => () => blankSession({ id: projectId, projectId, deviceId: 'd', startedAt: 1_000, lastSeenAt: 1_000, eventCount: 1 });
    await store.touch('p1', 'd', hit, seedOf('p1'));
    await store.touch('p2', 'd', hit, seedOf('p2'));
    expect((await store.touch('p1', 'd', { ...hit, at: 2_000 }, seedOf('p1'))).session.eventCount).toBe(2);
    await store.keepAlive('p2', 'd', 500_000);
    expect((await store.claimExpired(62_000, 10)).map((s) => s.projectId)).toEqual(['p1']);
    expect((await store.get('p2', 'd'))?.eventCount).toBe(1);
    const again = await store.touch('p1', 'd', { ...hit, at: 70_000 }, seedOf('p1'));
    expect(again.started).toBe(true);
    expect(await store.size()).toBe(2);
  });
});

describe('memory sessions heap', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  /** Heap held per open session, over 20,000 sessions whose origins come from `origin`. */
  const heapPerSession = async (origin: () => string) => {
    const store = createMemorySessionStore({ timeoutMs: 60_000 });
    const devices = Array.from({ length: 20_000 }, (_, i) => `device-${i}`);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (const deviceId of devices) {
      const o = origin();
      const hit = { at: 1_000, path: '/', origin: o, profileId: '', isScreenView: true, revenue: 0 };
      await store.touch('p1', deviceId, hit, () =>
        blankSession({ id: 's', projectId: 'p1', deviceId, startedAt: 1_000, lastSeenAt: 1_000, entryOrigin: o, exitOrigin: o }),
      );
    }
    gc();
    const held = (process.memoryUsage().heapUsed - before) / devices.length;
    expect(await store.size()).toBe(devices.length);
    return held;
  };

  // Guards the project's shared origin: each event's origin is a string of its own (≈ 90 B
  // from a parsed URL), 9 MB over 100,000 open sessions if every session kept its copy.
  it("holds one copy of a project's origin, not one per session", async () => {
    const shared = 'https://shop.example';
    const once = await heapPerSession(() => shared);
    const fresh = await heapPerSession(() => ['https://shop', '.example'].join('')); // a new string per call
    expect(fresh - once).toBeLessThan(16);
  });

  // Guards the held record: a session's source (referrer, UTM) and client (the user agent's
  // fields) are fixed at its start and shared by many sessions, but each event brings its own
  // copies of the strings; held in the OpenSession's shape, one session took its 32 fields and a
  // slot (315 B) plus its own copies of those strings: 871 B a session here against 275 B.
  it('holds a session in a record that shares its source and client with equal sessions', async () => {
    const fresh = (...parts: string[]) => parts.join(''); // a new string per call, as parsed per event
    const store = createMemorySessionStore({ timeoutMs: 60_000 });
    const devices = Array.from({ length: 20_000 }, (_, i) => `device-${i}`);
    const origin = 'https://shop.example';
    const at = Date.now(); // times near now are small integers in the record (no heap number each)
    gc();
    const before = process.memoryUsage().heapUsed;
    for (const deviceId of devices) {
      const hit = { at, path: '/', origin, profileId: '', isScreenView: true, revenue: 0 };
      await store.touch('p1', deviceId, hit, () =>
        blankSession({
          id: 's',
          projectId: 'p1',
          deviceId,
          startedAt: at,
          lastSeenAt: at,
          entryOrigin: origin,
          exitOrigin: origin,
          country: fresh('D', 'E'),
          region: fresh('Ber', 'lin'),
          city: fresh('Ber', 'lin'),
          referrer: fresh('https://www.google.com/', 'search?q=livepanel'),
          referrerName: fresh('Goo', 'gle'),
          referrerType: fresh('sea', 'rch'),
          utmSource: fresh('news', 'letter'),
          utmMedium: fresh('em', 'ail'),
          utmCampaign: fresh('black-friday-', '2026'),
          os: fresh('Win', 'dows'),
          osVersion: fresh('1', '0'),
          browser: fresh('Chr', 'ome'),
          browserVersion: fresh('124.0.0', '.0'),
          device: fresh('desk', 'top'),
        }),
      );
    }
    gc();
    const held = (process.memoryUsage().heapUsed - before) / devices.length;
    expect(await store.size()).toBe(devices.length);
    const s = await store.get('p1', 'device-7');
    expect(s).toMatchObject({
      startedAt: at,
      lastSeenAt: at,
      keepAliveUntil: 0,
      city: 'Berlin',
      referrer: 'https://www.google.com/search?q=livepanel',
      utmCampaign: 'black-friday-2026',
      os: 'Windows',
      browserVersion: '124.0.0.0',
      device: 'desktop',
      model: '',
    });
    expect(held).toBeLessThan(400); // 275 B here, 871 B held as OpenSessions
  });

  // Guards the record's times (held from a base, a keep-alive of 0 apart): every time an
  // OpenSession carries comes back exactly, far from the base and across a keep-alive.
  it('gives back the times it was given', async () => {
    const store = createMemorySessionStore({ timeoutMs: 60_000 });
    const now = Date.now();
    for (const at of [1_000, now, now + 40 * 24 * 3600_000]) {
      const hit = { at, path: '/a', origin: 'https://x.com', profileId: '', isScreenView: true, revenue: 0 };
      const device = `d${at}`;
      await store.touch('p', device, hit, () => blankSession({ id: 's', projectId: 'p', deviceId: device, startedAt: at, lastSeenAt: at, eventCount: 1 }));
      expect(await store.get('p', device)).toMatchObject({ startedAt: at, lastSeenAt: at, keepAliveUntil: 0 });
      await store.touch('p', device, { ...hit, at: at - 7 }, () => blankSession());
      await store.touch('p', device, { ...hit, at: at + 11 }, () => blankSession());
      await store.keepAlive('p', device, at + 90_000);
      expect(await store.get('p', device)).toMatchObject({ startedAt: at - 7, lastSeenAt: at + 11, keepAliveUntil: at + 90_000, eventCount: 3 });
    }
  });
});
